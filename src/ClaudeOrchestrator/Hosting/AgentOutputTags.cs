namespace ClaudeOrchestrator.Hosting
{
    /// <summary>Information-stream tags on agent output, so it can be filtered or captured.</summary>
    internal static class AgentOutputTags
    {
        public const string Module = "ClaudeOrchestrator";
        public const string Agent = "ClaudeAgent";
        public const string StandardOutput = "stdout";
        public const string StandardError = "stderr";

        // The tag Write-Host uses: the line shows in the console whatever $InformationPreference says.
        public const string Host = "PSHOST";
    }
}
