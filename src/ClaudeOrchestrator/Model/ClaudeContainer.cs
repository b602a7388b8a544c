using System;

namespace ClaudeOrchestrator
{
    /// <summary>A container created by the module, as Get-ClaudeContainer reports it.</summary>
    public sealed class ClaudeContainer
    {
        public string Id { get; set; }
        public string Name { get; set; }

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

        public override string ToString() => Name;
    }
}
