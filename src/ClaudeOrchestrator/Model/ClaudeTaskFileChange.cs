namespace ClaudeOrchestrator
{
    /// <summary>One file a task's branch changed against its base commit (Compare-ClaudeTask).</summary>
    public sealed class ClaudeTaskFileChange
    {
        public string TaskId { get; set; }

        /// <summary>Added, Modified, Deleted, Renamed, Copied or TypeChanged.</summary>
        public string Change { get; set; }

        public string Path { get; set; }

        /// <summary>The path before a rename or copy.</summary>
        public string OldPath { get; set; }

        /// <summary>Lines added; null for a binary file.</summary>
        public int? Insertions { get; set; }

        /// <summary>Lines removed; null for a binary file.</summary>
        public int? Deletions { get; set; }

        public override string ToString() => Path;
    }
}
