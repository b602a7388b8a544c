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

        /// <summary>Removed, AlreadyGone or Failed.</summary>
        public string Outcome { get; set; }

        public string Error { get; set; }

        /// <summary>For a record of saved work (not a removal): how the work was kept; null for removals.</summary>
        public ClaudeTaskWork? Work { get; set; }

        /// <summary>The task's branch, for a record of saved work.</summary>
        public string Branch { get; set; }
        public int ProcessId { get; set; }
        public string HostName { get; set; }

        public override string ToString() => $"{Time:u} {Container} {Reason} {Outcome}";
    }
}
