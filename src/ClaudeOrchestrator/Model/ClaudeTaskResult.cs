using System;

namespace ClaudeOrchestrator
{
    /// <summary>The one object Start-ClaudeTask emits per task.</summary>
    public sealed class ClaudeTaskResult
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

        /// <summary>Everything the agent wrote to stdout, exactly.</summary>
        public string Output { get; set; }

        /// <summary>Everything the agent wrote to stderr, exactly.</summary>
        public string ErrorOutput { get; set; }

        /// <summary>Why the task did not succeed, in words; null when it did.</summary>
        public string Reason { get; set; }

        public override string ToString() => $"{Project} {Status} ({ContainerName})";
    }
}
