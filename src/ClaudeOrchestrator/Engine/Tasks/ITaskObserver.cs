namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// What a running task reports. Called from engine threads: implementations queue for the
    /// pipeline thread or write to thread-safe job streams.
    /// </summary>
    internal interface ITaskObserver
    {
        void Verbose(string message);

        void Debug(string message);

        void ContainerCreated(string id, string name);

        void AgentStarted();

        void AgentOutput(string line, AgentStream stream);
    }
}
