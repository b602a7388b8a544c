using System;

namespace ClaudeOrchestrator
{
    /// <summary>One removal the module performed, as the cleanup journal keeps it.</summary>
    public sealed class ClaudeCleanupRecord
    {
        public DateTime Time { get; set; }
        public string Container { get; set; }
        public string ContainerId { get; set; }
        public string TaskId { get; set; }
        public string Project { get; set; }
        public CleanupReason Reason { get; set; }

        /// <summary>From the moment cleanup began until the container was confirmed gone.</summary>
        public TimeSpan Duration { get; set; }

        /// <summary>Removed, AlreadyGone or Failed for a removal; Saved, Salvaged, NotSaved or Lost for work; Usage for what a task spent.</summary>
        public string Outcome { get; set; }

        public string Error { get; set; }

        /// <summary>For a record of saved work (not a removal): how the work was kept; null for removals.</summary>
        public ClaudeTaskWork? Work { get; set; }

        /// <summary>The task's branch, for a record of saved work.</summary>
        public string Branch { get; set; }

        /// <summary>For a Usage record: what the task's agent reported spending (USD) and its tokens.</summary>
        public double? CostUsd { get; set; }
        public long? InputTokens { get; set; }
        public long? OutputTokens { get; set; }
        public long? CacheReadTokens { get; set; }
        public long? CacheCreationTokens { get; set; }

        /// <summary>For a Usage record: connection attempts the task's egress gateway refused.</summary>
        public int? ConnectionsRefused { get; set; }

        public int ProcessId { get; set; }
        public string HostName { get; set; }

        public override string ToString() => $"{Time:u} {Container} {Reason} {Outcome}";
    }
}
