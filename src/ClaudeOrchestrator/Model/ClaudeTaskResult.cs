using System;

namespace ClaudeOrchestrator
{
    /// <summary>The one object Start-ClaudeTask emits per task.</summary>
    public sealed class ClaudeTaskResult : Engine.IBranchWork
    {
        public string TaskId { get; set; }
        public string Project { get; set; }
        public string Path { get; set; }
        public string ContainerName { get; set; }
        public string Image { get; set; }
        public ClaudeTaskStatus Status { get; set; }

        /// <summary>The agent's exit code; null when it never finished (timed out, cancelled).</summary>
        public int? ExitCode { get; set; }

        public DateTime StartTime { get; set; }
        public DateTime EndTime { get; set; }
        public TimeSpan Duration => EndTime - StartTime;

        /// <summary>What the agent wrote to stdout: all of it, or its last 256 Ki characters (see OutputTruncated and TranscriptPath).</summary>
        public string Output { get; set; }

        /// <summary>What the agent wrote to stderr, kept like Output.</summary>
        public string ErrorOutput { get; set; }

        /// <summary>True when Output or ErrorOutput holds only the end; the transcript has everything.</summary>
        public bool OutputTruncated { get; set; }

        /// <summary>The task's complete output with timestamps (Receive-ClaudeTask reads it).</summary>
        public string TranscriptPath { get; set; }

        /// <summary>How the work was kept: InPlace, NoChanges, AgentCommits, ModuleCommit or NotSaved.</summary>
        public ClaudeTaskWork Work { get; set; }

        /// <summary>The task's branch in the project's repository; null for a task run in place.</summary>
        public string Branch { get; set; }

        public string BaseCommit { get; set; }
        public string HeadCommit { get; set; }

        /// <summary>Commits on the branch since BaseCommit (the agent's and the module's).</summary>
        public int Commits { get; set; }

        public int FilesChanged { get; set; }
        public int Insertions { get; set; }
        public int Deletions { get; set; }

        /// <summary>Why the task did not succeed, in words; null when it did.</summary>
        public string Reason { get; set; }

        public override string ToString() => $"{Project} {Status} ({ContainerName})";
    }
}
