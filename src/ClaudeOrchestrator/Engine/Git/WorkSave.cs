using System;
using ClaudeOrchestrator.Engine.Journal;

namespace ClaudeOrchestrator.Engine.Git
{
    /// <summary>How a task's work ended up in its branch.</summary>
    internal sealed class WorkSave
    {
        /// <summary>The cleanup journal's line for this save of <paramref name="task"/>'s work.</summary>
        public ClaudeCleanupRecord ToRecord(ClaudeTask task, CleanupReason reason) =>
            CleanupRecords.ForWork(task, Saved, Work, Branch, Error, reason);

        /// <summary>Copies the outcome; a failed save keeps the target's branch (it still exists, unmoved).</summary>
        public void ApplyTo(IBranchWork target)
        {
            target.Work = Work;
            target.Branch = Saved ? Branch : target.Branch;
            target.HeadCommit = HeadCommit ?? target.HeadCommit;
            target.Commits = Commits;
            target.FilesChanged = FilesChanged;
            target.Insertions = Insertions;
            target.Deletions = Deletions;
        }

        public bool Saved { get; set; }
        public ClaudeTaskWork Work { get; set; }
        public string Branch { get; set; }
        public string BaseCommit { get; set; }
        public string HeadCommit { get; set; }
        public int Commits { get; set; }
        public int FilesChanged { get; set; }
        public int Insertions { get; set; }
        public int Deletions { get; set; }

        /// <summary>Why the work could not be saved; null when it was.</summary>
        public string Error { get; set; }

        /// <summary>Something the user should know although the work was saved.</summary>
        public string Note { get; set; }
    }
}
