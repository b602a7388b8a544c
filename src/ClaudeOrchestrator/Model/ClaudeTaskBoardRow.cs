using System;

namespace ClaudeOrchestrator
{
    /// <summary>
    /// One task as Watch-ClaudeTask shows it: a task of this machine running in any session, or
    /// one that ended within -Since. Live figures (turn, tool, cost so far, files) come from the
    /// running task's session; an ended task's come from its record.
    /// </summary>
    public sealed class ClaudeTaskBoardRow
    {
        public string TaskId { get; set; }
        public string Project { get; set; }
        public string Branch { get; set; }
        public ClaudeTaskStatus Status { get; set; }

        /// <summary>For a running task: Starting, Working, Waiting (to retry) or Saving, with the tool at work; for an ended one, its work (NoChanges, ModuleCommit, ...).</summary>
        public string Activity { get; set; }

        public DateTime StartTime { get; set; }
        public DateTime? EndTime { get; set; }

        /// <summary>How long it has run, or ran.</summary>
        public TimeSpan Elapsed { get; set; }

        /// <summary>Agent turns so far (the agent's own count once it ended).</summary>
        public int? Turns { get; set; }

        /// <summary>US dollars so far: reported by the agent, or, while a run has not reported yet, estimated from its tokens (CostEstimated).</summary>
        public double? CostUsd { get; set; }

        public bool CostEstimated { get; set; }

        /// <summary>Files changed: for a running task, the files its editing tools named so far; for an ended one, the files its branch changed.</summary>
        public int? FilesChanged { get; set; }

        public long? InputTokens { get; set; }
        public long? OutputTokens { get; set; }

        /// <summary>The first line of the task's description.</summary>
        public string Summary { get; set; }

        public override string ToString() => $"{TaskId} {Project} {Status}";
    }
}
