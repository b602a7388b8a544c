using System;
using System.Collections.Specialized;

namespace ClaudeOrchestrator
{
    /// <summary>What the cleanup journal says about a period: volumes, causes, speed and leak patterns.</summary>
    public sealed class ClaudeCleanupReport
    {
        public DateTime? Since { get; set; }
        public DateTime? FirstRemoval { get; set; }
        public DateTime? LastRemoval { get; set; }
        public int TotalRemovals { get; set; }
        public int Failures { get; set; }

        /// <summary>Containers the orphan sweep found and removed.</summary>
        public int OrphansFound { get; set; }

        /// <summary>Reason name to count, largest first.</summary>
        public OrderedDictionary ByReason { get; set; } = new OrderedDictionary();

        /// <summary>Project to count, largest first.</summary>
        public OrderedDictionary ByProject { get; set; } = new OrderedDictionary();

        /// <summary>Day (yyyy-MM-dd, local time) to count, oldest first.</summary>
        public OrderedDictionary PerDay { get; set; } = new OrderedDictionary();

        public TimeSpan? MedianRemoval { get; set; }
        public ClaudeCleanupRecord[] SlowestRemovals { get; set; } = Array.Empty<ClaudeCleanupRecord>();

        /// <summary>Warnings about patterns that suggest containers are leaking or tasks are going wrong.</summary>
        public string[] LeakPatterns { get; set; } = Array.Empty<string>();

        /// <summary>Tasks whose changes were saved into their branch when they ended (by the agent's commits or the module's).</summary>
        public int WorkSaved { get; set; }

        /// <summary>Tasks whose session died and whose work a later sweep saved into the branch.</summary>
        public int WorkSalvaged { get; set; }

        /// <summary>Tasks whose work could not be saved (the checkout was kept).</summary>
        public int WorkNotSaved { get; set; }

        /// <summary>Tasks whose agent's work did not come back from where it ran (a swarm service), so nothing of it could be saved.</summary>
        public int WorkLost { get; set; }

        /// <summary>What the agents reported spending in the period, in US dollars.</summary>
        public double CostUsd { get; set; }

        /// <summary>Agent cost and tokens per project, costliest first.</summary>
        public ClaudeUsageTotal[] UsageByProject { get; set; } = Array.Empty<ClaudeUsageTotal>();

        /// <summary>Agent cost and tokens per day (yyyy-MM-dd, local time), oldest first.</summary>
        public ClaudeUsageTotal[] UsagePerDay { get; set; } = Array.Empty<ClaudeUsageTotal>();

        public string JournalPath { get; set; }
    }
}
