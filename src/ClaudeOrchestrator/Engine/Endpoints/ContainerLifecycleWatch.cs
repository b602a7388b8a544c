using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;

namespace ClaudeOrchestrator.Engine.Endpoints
{
    /// <summary>
    /// Follows one container's die and destroy events, from the engine's shared event stream
    /// (<see cref="EngineEvents"/>). The container auto-removes, so the wait endpoint could race
    /// its removal; the die event carries the exit code regardless.
    /// </summary>
    internal sealed class ContainerLifecycleWatch : IDisposable
    {
        private readonly EngineEvents _events;
        private readonly TaskCompletionSource<long> _exited = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<bool> _destroyed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<bool> _monitor = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        private ContainerLifecycleWatch(EngineEvents events, string id)
        {
            _events = events;
            Id = id;
        }

        public string Id { get; }

        /// <summary>Completes with the exit code when the container's main process ends.</summary>
        public Task<long> Exited => _exited.Task;

        /// <summary>Completes when the engine has removed the container.</summary>
        public Task Destroyed => _destroyed.Task;

        /// <summary>Faults if the event stream itself fails (engine gone).</summary>
        public Task Monitor => _monitor.Task;

        public static ContainerLifecycleWatch Start(DockerConnection connection, string id)
        {
            var watch = new ContainerLifecycleWatch(connection.Events, id);
            connection.Events.Subscribe(watch);
            return watch;
        }

        internal void Deliver(Message message)
        {
            switch (message.Action)
            {
                case "die":
                    long code = -1;
                    var attributes = message.Actor.Attributes;
                    // Docker says exitCode; Podman says both exitCode and containerExitCode.
                    if (attributes != null && (attributes.TryGetValue("exitCode", out var text) || attributes.TryGetValue("containerExitCode", out text)))
                    {
                        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out code);
                    }

                    _exited.TrySetResult(code);
                    break;
                // Docker's destroy is Podman's remove.
                case "destroy":
                case "remove":
                    _destroyed.TrySetResult(true);
                    break;
            }
        }

        internal void StreamEnded(Exception error) => _monitor.TrySetException(error);

        public void Dispose()
        {
            _events.Unsubscribe(this);
            // Nobody waits on it any more: it must not fault unobserved.
            _monitor.TrySetCanceled();
            _monitor.Task.ContinueWith(t => t.Exception, TaskScheduler.Default);
        }
    }
}
