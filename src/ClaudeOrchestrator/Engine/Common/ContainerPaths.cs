namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>Where things are inside a task's container, the same whatever runs it.</summary>
    internal static class ContainerPaths
    {
        /// <summary>The project (or its checkout, or the copy of either) as the agent sees it.</summary>
        public const string Workspace = "/workspace";

        /// <summary>The shell every container the module makes runs first (the watcher, the service script, the probes).</summary>
        public const string Shell = "/bin/sh";

        /// <summary>What every message about a shell that could not run says the image lacks.</summary>
        public const string ShellNeeded = "the image needs " + Shell + ": the module runs the agent through a small shell watcher";
    }
}
