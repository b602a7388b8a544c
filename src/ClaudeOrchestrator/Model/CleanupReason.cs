namespace ClaudeOrchestrator
{
    /// <summary>Why the module removed a container; one per cleanup journal line.</summary>
    public enum CleanupReason
    {
        /// <summary>The agent ended with exit code 0.</summary>
        Finished,

        /// <summary>The agent failed, or the task broke down after the container existed.</summary>
        Failed,

        TimedOut,

        /// <summary>Ctrl+C, Stop-Job, or the pipeline was stopped.</summary>
        Cancelled,

        /// <summary>SIGTERM, SIGHUP or SIGQUIT reached the process.</summary>
        Signal,

        /// <summary>The process exited normally with tasks still running.</summary>
        ProcessExit,

        /// <summary>An unhandled exception ended the process.</summary>
        Crash,

        /// <summary>Remove-Module ClaudeOrchestrator.</summary>
        ModuleRemoved,

        /// <summary>Remove-ClaudeContainer -Orphaned.</summary>
        OrphanSweep,

        /// <summary>Remove-ClaudeContainer by name, id, pipeline, -All or default.</summary>
        Manual,
    }
}
