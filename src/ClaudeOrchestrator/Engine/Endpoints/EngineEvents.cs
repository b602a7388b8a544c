using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Endpoints
{
    /// <summary>
    /// One stream of the engine's container events (die and destroy are the ones used) for the module's containers, shared by
    /// every running task on that engine (one connection, not one per task), delivered to each
    /// task's <see cref="ContainerLifecycleWatch"/> by container id. It opens with the first watch
    /// and closes after the last. It starts by replaying the engine's event buffer and resumes
    /// from the last event seen, so no die event between subscribing and connecting is lost.
    /// </summary>
    internal sealed class EngineEvents : IProgress<Message>
    {
        // A fixed early timestamp replays the engine's short buffer, immune to clock skew with a remote engine.
        private const string ReplayFromStart = "1";

        private readonly DockerConnection _connection;
        private readonly object _gate = new object();
        private readonly ConcurrentDictionary<string, ContainerLifecycleWatch> _watches = new ConcurrentDictionary<string, ContainerLifecycleWatch>(StringComparer.Ordinal);
        private CancellationTokenSource _stop;
        private string _since = ReplayFromStart;
        private long _lastNano;

        public EngineEvents(DockerConnection connection)
        {
            _connection = connection;
        }

        public void Subscribe(ContainerLifecycleWatch watch)
        {
            lock (_gate)
            {
                _watches[watch.Id] = watch;
                if (_stop == null)
                {
                    Open();
                }
            }
        }

        public void Unsubscribe(ContainerLifecycleWatch watch)
        {
            lock (_gate)
            {
                if (_watches.TryGetValue(watch.Id, out var current) && current == watch)
                {
                    _watches.TryRemove(watch.Id, out _);
                }

                if (_watches.IsEmpty && _stop != null)
                {
                    _stop.Cancel();
                    _stop = null;
                }
            }
        }

        private void Open()
        {
            var stop = new CancellationTokenSource();
            _stop = stop;
            var parameters = new ContainerEventsParameters
            {
                Since = _since,
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    // No "event" filter: Podman's compat API matches it against its own names
                    // ("died", "remove"), Docker against its ("die", "destroy"); both filter labels
                    // alike, and a task's container has only a handful of other events.
                    ["type"] = new Dictionary<string, bool> { ["container"] = true },
                    ["label"] = new Dictionary<string, bool> { [ContainerLabels.Managed + "=true"] = true },
                },
            };
            Task stream;
            try
            {
                stream = _connection.Daemon.MonitorEventsAsync(parameters, this, stop.Token);
            }
            catch (Exception e)
            {
                stream = Task.FromException(e);
            }

            stream.ContinueWith(t => Ended(stop, t), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }

        /// <summary>A stream that ended on its own means the engine went away: every watch on it hears so.</summary>
        private void Ended(CancellationTokenSource stop, Task stream)
        {
            List<ContainerLifecycleWatch> watching;
            lock (_gate)
            {
                if (stop.IsCancellationRequested)
                {
                    stop.Dispose();
                    return;
                }

                if (_stop == stop)
                {
                    _stop = null;
                }

                watching = new List<ContainerLifecycleWatch>(_watches.Values);
                _watches.Clear();
            }

            stop.Dispose();
            var error = stream.Exception?.GetBaseException() ?? new InvalidOperationException("The engine's event stream ended.");
            foreach (var watch in watching)
            {
                watch.StreamEnded(error);
            }
        }

        void IProgress<Message>.Report(Message message)
        {
            if (message == null)
            {
                return;
            }

            // Where a reopened stream resumes (seconds.nanoseconds, as the engine takes it).
            var time = message.TimeNano ?? 0;
            if (time > Interlocked.Read(ref _lastNano))
            {
                Interlocked.Exchange(ref _lastNano, time);
                var seconds = time / 1_000_000_000;
                var nanos = time % 1_000_000_000;
                _since = seconds.ToString(CultureInfo.InvariantCulture) + "." + nanos.ToString("000000000", CultureInfo.InvariantCulture);
            }

            if (message.Actor?.ID != null && _watches.TryGetValue(message.Actor.ID, out var watch))
            {
                watch.Deliver(message);
            }
        }
    }
}
