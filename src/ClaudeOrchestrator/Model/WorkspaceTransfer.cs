namespace ClaudeOrchestrator
{
    /// <summary>How the task's workspace reaches its container (Start-ClaudeTask -Workspace, docker.workspace in a profile).</summary>
    public enum WorkspaceTransfer
    {
        /// <summary>Bind-mounted when the engine runs on this machine, copied when it does not.</summary>
        Auto,

        /// <summary>Bind-mounted: the engine sees this machine's files (a local engine, or a VM that shares them).</summary>
        Mount,

        /// <summary>Copied into labelled volumes before the start and back after the end.</summary>
        Copy,
    }
}
