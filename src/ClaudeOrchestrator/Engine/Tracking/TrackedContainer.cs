using System;
using System.Threading;
using ClaudeOrchestrator.Engine.Endpoints;

namespace ClaudeOrchestrator.Engine.Tracking
{
    /// <summary>A container this process created and has not yet seen removed.</summary>
    internal sealed class TrackedContainer
    {
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly System.Threading.Tasks.TaskCompletionSource<RemovalOutcome> _settled =
            new System.Threading.Tasks.TaskCompletionSource<RemovalOutcome>(System.Threading.Tasks.TaskCreationOptions.RunContinuationsAsynchronously);

        private int _stopReason = -1;

        public TrackedContainer(string id, string name, string taskId, string projectName, string projectPath, Guid runspaceId, DockerConnection connection, IEngineObjectKind kind = null)
        {
            Kind = kind ?? ContainerObjects.Instance;
            Id = id;
            Name = name;
            TaskId = taskId;
            ProjectName = projectName;
            ProjectPath = projectPath;
            RunspaceId = runspaceId;
            Connection = connection;
            TrackedAt = DateTime.UtcNow;
        }

        public string Id { get; }

        /// <summary>A container, or a swarm service (removed through the manager).</summary>
        public IEngineObjectKind Kind { get; }
        public string Name { get; }
        public string TaskId { get; }
        public string ProjectName { get; }
        public string ProjectPath { get; }

        /// <summary>The runspace whose Start-ClaudeTask created it; Remove-Module flushes by this.</summary>
        public Guid RunspaceId { get; }

        public DockerConnection Connection { get; }
        public DateTime TrackedAt { get; }

        /// <summary>Signalled when someone else (flush, Remove-ClaudeContainer) is removing the container.</summary>
        public CancellationToken StopRequested => _stop.Token;

        /// <summary>Why the first of those who asked wanted it gone; null while nobody has.</summary>
        public CleanupReason? StopReason
        {
            get
            {
                var reason = Volatile.Read(ref _stopReason);
                return reason < 0 ? (CleanupReason?)null : (CleanupReason)reason;
            }
        }

        /// <summary>Completes with the outcome of whoever settled the container's removal first.</summary>
        public System.Threading.Tasks.Task<RemovalOutcome> Settled => _settled.Task;

        internal void MarkSettled(RemovalOutcome outcome) => _settled.TrySetResult(outcome);

        public void RequestStop(CleanupReason reason)
        {
            Interlocked.CompareExchange(ref _stopReason, (int)reason, -1);
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
