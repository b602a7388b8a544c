namespace ClaudeOrchestrator.Engine
{
    internal enum AgentStream
    {
        StandardOutput,
        StandardError,
    }
}
