using System;

namespace ClaudeOrchestrator
{
    /// <summary>One line of a task's transcript (Receive-ClaudeTask).</summary>
    public sealed class ClaudeTranscriptLine
    {
        public string TaskId { get; set; }
        public DateTime? Time { get; set; }

        /// <summary>Output (agent stdout), Error (agent stderr) or Module (what the module did).</summary>
        public string Stream { get; set; }

        public string Text { get; set; }

        public override string ToString() => Text;
    }
}
