namespace ClaudeOrchestrator
{
    /// <summary>What the agent reported about its run, carried by a task's result and by its record.</summary>
    internal interface IAgentReport
    {
        string AgentSessionId { get; set; }
        string Model { get; set; }
        int? Turns { get; set; }
        double? CostUsd { get; set; }
        bool CostEstimated { get; set; }
        long? InputTokens { get; set; }
        long? OutputTokens { get; set; }
        long? CacheReadTokens { get; set; }
        long? CacheCreationTokens { get; set; }
        ClaudeAgentErrorKind? ErrorKind { get; set; }
        int Attempts { get; set; }
        string ResultText { get; set; }
        string ResumedFrom { get; set; }
    }
}
