using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// Follows one container's die and destroy events. The container auto-removes, so the wait
    /// endpoint could race its removal; the die event carries the exit code regardless.
    /// </summary>
    internal sealed class ContainerLifecycleWatch : IProgress<Message>, IDisposable
    {
        // Replaying the engine's short event buffer closes the gap between subscribing and the
        // first event; a fixed early timestamp is immune to clock skew with a remote engine.
        private const string ReplayFromStart = "1";

        private readonly string _id;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly TaskCompletionSource<long> _exited = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<bool> _destroyed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        private ContainerLifecycleWatch(string id)
        {
            _id = id;
        }

        /// <summary>Completes with the exit code when the container's main process ends.</summary>
        public Task<long> Exited => _exited.Task;

        /// <summary>Completes when the engine has removed the container.</summary>
        public Task Destroyed => _destroyed.Task;

        /// <summary>Faults if the event stream itself fails (engine gone).</summary>
        public Task Monitor { get; private set; }

        public static ContainerLifecycleWatch Start(DockerConnection connection, string id)
        {
            var watch = new ContainerLifecycleWatch(id);
            var parameters = new ContainerEventsParameters
            {
                Since = ReplayFromStart,
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["type"] = new Dictionary<string, bool> { ["container"] = true },
                    ["container"] = new Dictionary<string, bool> { [id] = true },
                    ["event"] = new Dictionary<string, bool> { ["die"] = true, ["destroy"] = true },
                },
            };
            watch.Monitor = connection.Client.System.MonitorEventsAsync(parameters, watch, watch._stop.Token);
            return watch;
        }

        void IProgress<Message>.Report(Message message)
        {
            if (message?.Actor == null || !string.Equals(message.Actor.ID, _id, StringComparison.Ordinal))
            {
                return;
            }

            switch (message.Action)
            {
                case "die":
                    long code = -1;
                    if (message.Actor.Attributes != null && message.Actor.Attributes.TryGetValue("exitCode", out var text))
                    {
                        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out code);
                    }

                    _exited.TrySetResult(code);
                    break;
                case "destroy":
                    _destroyed.TrySetResult(true);
                    break;
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            // Observe the monitor's cancellation so it never surfaces as an unobserved exception.
            Monitor?.ContinueWith(t => t.Exception, TaskScheduler.Default);
            _stop.Dispose();
        }
    }
}
