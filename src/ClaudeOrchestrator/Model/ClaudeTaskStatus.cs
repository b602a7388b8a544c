namespace ClaudeOrchestrator
{
    public enum ClaudeTaskStatus
    {
        Succeeded,
        Failed,
        TimedOut,
        Cancelled,

        /// <summary>Still running (only in Get-ClaudeTask).</summary>
        Running,

        /// <summary>Its session died while it ran (SIGKILL, power loss); only in Get-ClaudeTask.</summary>
        Interrupted,

        /// <summary>Never started: its fan-out's budget (-MaxTotalBudgetUsd) was spent first; nothing of it was made.</summary>
        NotStarted,
    }
}
