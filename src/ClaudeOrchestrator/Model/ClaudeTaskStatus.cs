namespace ClaudeOrchestrator
{
    public enum ClaudeTaskStatus
    {
        Succeeded,
        Failed,
        TimedOut,
        Cancelled,
    }
}
