using ClaudeOrchestrator.Engine.Backends;
using ClaudeOrchestrator.Engine.Backends.Containers;
using ClaudeOrchestrator.Engine.Backends.Swarm;

namespace ClaudeOrchestrator.Engine.Tasks
{
    /// <summary>The ways a task can run, by what its plan asks for: the one place that names them all.</summary>
    internal static class TaskBackends
    {
        private static readonly ITaskBackend Container = new ContainerBackend();
        private static readonly ITaskBackend Service = new ServiceBackend();

        public static ITaskBackend For(ClaudeTaskBackend kind) => kind == ClaudeTaskBackend.SwarmService ? Service : Container;
    }
}
