using System;

namespace ClaudeOrchestrator
{
    /// <summary>A container created by the module, as Get-ClaudeContainer reports it.</summary>
    public sealed class ClaudeContainer
    {
        public string Id { get; set; }
        public string Name { get; set; }

        /// <summary>
        /// "container"; "volume" for a task's workspace copied to an engine on another machine
        /// (State is then "volume"); on a swarm, "service" for a task's one-off service (State
        /// from its swarm task: created, running, exited) and "config" for the configs that carry
        /// its workspace. All are the module's, found and removed the same way.
        /// </summary>
        public string Kind { get; set; } = ContainerKinds.Container;

        /// <summary>
        /// Null for a task's own container; "workspace-holder" for the container, created and never
        /// started, through which a workspace is copied to and from an engine elsewhere.
        /// </summary>
        public string Role { get; set; }

        /// <summary>The engine's state: created, running, paused, restarting, removing, exited, dead.</summary>
        public string State { get; set; }

        /// <summary>The engine's human status, e.g. "Up 3 minutes".</summary>
        public string Status { get; set; }

        public DateTime Created { get; set; }
        public TimeSpan Age => DateTime.Now - Created;
        public string Image { get; set; }

        /// <summary>The endpoint of the engine that has it; Remove-ClaudeContainer binds it from the pipeline.</summary>
        public string Engine { get; set; }
        public string Project { get; set; }
        public string ProjectPath { get; set; }
        public string TaskId { get; set; }
        public string SessionId { get; set; }
        public int? OwnerPid { get; set; }
        public string OwnerHost { get; set; }

        /// <summary>When the owning process started (UTC); tells a live owner from a reused pid.</summary>
        public DateTime? OwnerStartTime { get; set; }

        /// <summary>True when this process started it and is still responsible for it.</summary>
        public bool IsTracked { get; set; }

        /// <summary>On a swarm: the node (host name) the task's service runs on; null elsewhere or before it is placed.</summary>
        public string Node { get; set; }

        /// <summary>On a swarm: the owner's last heartbeat on the service (UTC); a stale one makes it an orphan from any machine.</summary>
        public DateTime? Heartbeat { get; set; }

        public override string ToString() => Name;
    }

    /// <summary>The values of <see cref="ClaudeContainer.Kind"/>.</summary>
    public static class ContainerKinds
    {
        public const string Container = "container";
        public const string Volume = "volume";
        public const string Service = "service";
        public const string Config = "config";
        public const string Network = "network";
    }
}
