namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>
    /// Labels stamped on every container the module creates. The managed label is the only
    /// thing that makes a container ours; names are never trusted for that.
    /// </summary>
    internal static class ContainerLabels
    {
        public const string Prefix = "io.claude-orchestrator.";
        public const string Managed = Prefix + "managed";
        public const string ManagedFilter = Managed + "=true";
        public const string TaskId = Prefix + "task-id";
        public const string Project = Prefix + "project";
        public const string ProjectPath = Prefix + "project-path";
        public const string OwnerPid = Prefix + "owner-pid";
        public const string OwnerHost = Prefix + "owner-host";
        // Start time of the owning process, so a recycled pid is not mistaken for the owner.
        public const string OwnerStart = Prefix + "owner-start";
        public const string SessionId = Prefix + "session-id";
        public const string Version = Prefix + "version";

        /// <summary>On objects that are not a task's own container: what they are for (a workspace volume, its holder, a swarm service or config).</summary>
        public const string Role = Prefix + "role";

        /// <summary>On a workspace volume: where the task's container mounts it.</summary>
        public const string Mount = Prefix + "mount";

        /// <summary>On a workspace volume: the task's image (its holders are made from it).</summary>
        public const string Image = Prefix + "image";

        /// <summary>The labels of an object of this session's that serves all its tasks on an engine (the egress gateway and its network).</summary>
        public static System.Collections.Generic.Dictionary<string, string> ForSession(string role) =>
            new System.Collections.Generic.Dictionary<string, string>
            {
                [Managed] = "true",
                [Role] = role,
                [OwnerPid] = SessionIdentity.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                [OwnerHost] = SessionIdentity.HostName,
                [OwnerStart] = SessionIdentity.ProcessStart,
                [SessionId] = SessionIdentity.SessionId,
                [Version] = ModuleVersion.Text,
            };

        /// <summary>The labels of a container this session creates for <paramref name="taskId"/>.</summary>
        public static System.Collections.Generic.Dictionary<string, string> For(string taskId, string project, string projectPath) =>
            new System.Collections.Generic.Dictionary<string, string>
            {
                [Managed] = "true",
                [TaskId] = taskId,
                [Project] = project ?? string.Empty,
                [ProjectPath] = projectPath,
                [OwnerPid] = SessionIdentity.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                [OwnerHost] = SessionIdentity.HostName,
                [OwnerStart] = SessionIdentity.ProcessStart,
                [SessionId] = SessionIdentity.SessionId,
                [Version] = ModuleVersion.Text,
            };
    }
}
