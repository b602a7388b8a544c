using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Backends
{
    /// <summary>
    /// What a running task reports. Called from engine threads: implementations queue for the
    /// pipeline thread or write to thread-safe job streams.
    /// </summary>
    internal interface ITaskObserver
    {
        void Verbose(string message);

        void Debug(string message);

        void Warning(string message);

        void ContainerCreated(string id, string name);

        /// <summary>The agent runs; <paramref name="activity"/> follows what its event stream says.</summary>
        void AgentStarted(AgentActivity activity);

        void AgentOutput(string line, AgentStream stream);
    }
}
