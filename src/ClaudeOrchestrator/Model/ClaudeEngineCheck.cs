namespace ClaudeOrchestrator
{
    public enum ClaudeEngineCheckStatus
    {
        Pass,
        Warn,
        Fail,
    }

    /// <summary>One finding of Test-ClaudeEngine: what was checked on which engine, the outcome, and what to do about it.</summary>
    public sealed class ClaudeEngineCheck
    {
        /// <summary>The engine's endpoint (or the name given, when it names none).</summary>
        public string Engine { get; set; }

        public string Check { get; set; }
        public ClaudeEngineCheckStatus Status { get; set; }
        public string Detail { get; set; }

        /// <summary>What to do when the status is not Pass; null otherwise.</summary>
        public string Fix { get; set; }

        public override string ToString() => $"{Check}: {Status}";
    }
}
