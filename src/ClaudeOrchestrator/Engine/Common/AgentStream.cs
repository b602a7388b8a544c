namespace ClaudeOrchestrator.Engine.Common
{
    internal enum AgentStream
    {
        StandardOutput,
        StandardError,
    }
}
