namespace ClaudeOrchestrator
{
    /// <summary>What the agents of a group of task runs (one project, one day) reported spending.</summary>
    public sealed class ClaudeUsageTotal
    {
        /// <summary>The project, or the day as yyyy-MM-dd.</summary>
        public string Name { get; set; }

        public int Tasks { get; set; }
        public double CostUsd { get; set; }
        public long InputTokens { get; set; }
        public long OutputTokens { get; set; }
        public long CacheReadTokens { get; set; }
        public long CacheCreationTokens { get; set; }

        /// <summary>Connection attempts the egress gateway refused to these tasks' agents.</summary>
        public int ConnectionsRefused { get; set; }

        public override string ToString() => $"{Name} {Tasks} task(s) ${CostUsd:0.00}";
    }
}
