using System;
using System.Collections.Generic;
using System.Linq;
using System.Diagnostics;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// Kill-and-remove in one engine call. Never a graceful stop: an agent that ignores SIGTERM
    /// would hold cleanup hostage for the full stop timeout.
    /// </summary>
    internal static class ContainerRemover
    {
        internal const int MaxParallelRemovals = 16;

        private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

        private static readonly ContainerRemoveParameters ForceRemove = new ContainerRemoveParameters
        {
            Force = true,
            // Anonymous volumes declared by the image would otherwise outlive the container.
            RemoveVolumes = true,
        };

        /// <summary>How long one removal request may take before the module asks the engine whether it is done.</summary>
        internal static readonly TimeSpan RequestLimit = TimeSpan.FromSeconds(20);

        /// <summary>An engine that does not answer a ping within this is unresponsive: the flush stops waiting on it.</summary>
        internal static readonly TimeSpan AnswerLimit = TimeSpan.FromSeconds(10);

        /// <summary>A container the engine, answering pings all along, has not removed after this long is reported as stuck.</summary>
        internal static readonly TimeSpan StuckLimit = TimeSpan.FromMinutes(3);

        // A removal the engine refuses (not a timeout) is tried this often before it is reported.
        private const int RefusedAttempts = 3;

        /// <summary>
        /// Removes the container and confirms it is gone, bounded by the engine answering, not by
        /// a fixed budget: a request that times out or fails is followed by a look at the
        /// container, and one the engine no longer has is Removed (with the real duration),
        /// whoever finished it. A busy engine (one that answers its ping; inspect can wait on the
        /// container's own lock while it is being removed) is given more time. Gives up when the
        /// engine stops answering, when <paramref name="abandon"/> fires, after repeated refusals,
        /// or after <see cref="StuckLimit"/>; the error then says which.
        /// </summary>
        /// <param name="kind">A <see cref="ContainerKinds"/> value: a swarm service or config is removed through the manager.</param>
        public static async Task<RemovalOutcome> RemoveConfirmedAsync(DockerConnection connection, string id, string name, CancellationToken abandon = default, string kind = ContainerKinds.Container)
        {
            var watch = Stopwatch.StartNew();
            var refusals = 0;
            for (var attempt = 0; ; attempt++)
            {
                RemovalOutcome outcome;
                bool timedOut;
                using (var limit = CancellationTokenSource.CreateLinkedTokenSource(abandon))
                {
                    limit.CancelAfter(RequestLimit);
                    outcome = kind == ContainerKinds.Container
                        ? await RemoveAsync(connection, id, name, limit.Token).ConfigureAwait(false)
                        : await SwarmServices.RemoveAsync(connection, new ClaudeContainer { Id = id, Name = name, Kind = kind }, limit.Token).ConfigureAwait(false);
                    timedOut = limit.IsCancellationRequested && !abandon.IsCancellationRequested;
                }

                if (outcome.Removed)
                {
                    // Gone before a retry means it was there when we began.
                    return new RemovalOutcome(id, name, true, attempt > 0 || outcome.WasPresent, watch.Elapsed, null);
                }

                // Our side gave up or failed; the engine may have finished it anyway.
                var problem = await connection.ProblemAsync(AnswerLimit).ConfigureAwait(false);
                if (problem != null)
                {
                    return new RemovalOutcome(id, name, false, true, watch.Elapsed, new TimeoutException(
                        $"Removing {name}: {problem}; the container's watcher removes it when this session's connection drops."));
                }

                var exists = kind == ContainerKinds.Container ? await ExistsAsync(connection, id, RequestLimit).ConfigureAwait(false)
                    : kind == ContainerKinds.Service ? await ServiceExistsAsync(connection, id).ConfigureAwait(false)
                    : null;
                if (exists == false)
                {
                    return new RemovalOutcome(id, name, true, true, watch.Elapsed, null);
                }

                if (abandon.IsCancellationRequested || (!timedOut && ++refusals >= RefusedAttempts) || watch.Elapsed > StuckLimit)
                {
                    return new RemovalOutcome(id, name, false, true, watch.Elapsed, outcome.Error ?? new TimeoutException(
                        $"The Docker engine answers but has not removed {name} after {watch.Elapsed.TotalSeconds:0} s."));
                }

                // The engine answers and still has it (or is too busy to say): ask again.
            }
        }

        private static async Task<bool?> ServiceExistsAsync(DockerConnection connection, string id)
        {
            using (var timeout = new CancellationTokenSource(RequestLimit))
            {
                return await SwarmServices.ServiceExistsAsync(connection, id, timeout.Token).ConfigureAwait(false);
            }
        }

        /// <summary>True or false as the engine says; null when it does not answer in time.</summary>
        private static async Task<bool?> ExistsAsync(DockerConnection connection, string id, TimeSpan limit)
        {
            using (var timeout = new CancellationTokenSource(limit))
            {
                try
                {
                    await connection.Client.Containers.InspectContainerAsync(id, timeout.Token).ConfigureAwait(false);
                    return true;
                }
                catch (DockerContainerNotFoundException)
                {
                    return false;
                }
                catch (Exception)
                {
                    return null;
                }
            }
        }

        public static async Task<RemovalOutcome> RemoveAsync(DockerConnection connection, string id, string name, CancellationToken cancel)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                await connection.Client.Containers.RemoveContainerAsync(id, ForceRemove, cancel).ConfigureAwait(false);
                return new RemovalOutcome(id, name, true, true, watch.Elapsed, null);
            }
            catch (DockerContainerNotFoundException)
            {
                return new RemovalOutcome(id, name, true, false, watch.Elapsed, null);
            }
            catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.Conflict)
            {
                // Someone else (the engine's auto-remove, another session) is already removing it.
                try
                {
                    await WaitUntilGoneAsync(connection, id, cancel).ConfigureAwait(false);
                    return new RemovalOutcome(id, name, true, true, watch.Elapsed, null);
                }
                catch (Exception waitError)
                {
                    return new RemovalOutcome(id, name, false, true, watch.Elapsed, connection.Translate(waitError));
                }
            }
            catch (Exception e)
            {
                return new RemovalOutcome(id, name, false, true, watch.Elapsed, connection.Translate(e));
            }
        }

        /// <summary>
        /// Removes many containers at once, each confirmed as in <see cref="RemoveConfirmedAsync"/>;
        /// the engine is the limit, so keep enough requests in flight to saturate it without
        /// opening hundreds of connections.
        /// </summary>
        /// <param name="removed">Called after each removal (from engine threads), for progress.</param>
        /// <param name="parallel">Requests in flight at most; fewer for work nobody waits for.</param>
        public static Task<RemovalOutcome[]> RemoveManyAsync(DockerConnection connection, IEnumerable<ClaudeContainer> targets, CleanupReason reason,
            CancellationToken cancel, Action<RemovalOutcome> removed = null, int parallel = MaxParallelRemovals)
        {
            return InParallelAsync(targets, parallel, async target =>
            {
                // A task of this process owns it: let that task report Cancelled, not Failed.
                var isTracked = ContainerTracker.TryGet(target.Id, out var tracked);
                tracked?.RequestStop(reason);

                // A killed session's service recorded here: its work comes out of its log as it goes.
                var outcome = !isTracked && reason == CleanupReason.OrphanSweep && target.Kind == ContainerKinds.Service
                    ? await ServiceSalvage.RemoveCollectingAsync(connection, target, cancel).ConfigureAwait(false)
                    : await RemoveConfirmedAsync(connection, target.Id, target.Name, cancel, target.Kind).ConfigureAwait(false);
                if (isTracked)
                {
                    ContainerTracker.Settle(outcome, reason);
                }
                else if (outcome.WasPresent)
                {
                    CleanupJournal.Append(CleanupRecords.For(outcome, reason, target.TaskId, target.Project));
                }

                removed?.Invoke(outcome);
                return outcome;
            }, cancel);
        }

        /// <summary>Runs <paramref name="work"/> for every item, at most <paramref name="parallel"/> at once; results in input order.</summary>
        internal static async Task<TResult[]> InParallelAsync<TItem, TResult>(IEnumerable<TItem> items, int parallel, Func<TItem, Task<TResult>> work, CancellationToken cancel = default)
        {
            using (var slots = new SemaphoreSlim(parallel))
            {
                var runs = items.Select(async item =>
                {
                    await slots.WaitAsync(cancel).ConfigureAwait(false);
                    try
                    {
                        return await work(item).ConfigureAwait(false);
                    }
                    finally
                    {
                        slots.Release();
                    }
                }).ToList();
                return await Task.WhenAll(runs).ConfigureAwait(false);
            }
        }

        public static async Task WaitUntilGoneAsync(DockerConnection connection, string id, CancellationToken cancel)
        {
            while (true)
            {
                try
                {
                    await connection.Client.Containers.InspectContainerAsync(id, cancel).ConfigureAwait(false);
                }
                catch (DockerContainerNotFoundException)
                {
                    return;
                }

                await Task.Delay(PollInterval, cancel).ConfigureAwait(false);
            }
        }
    }
}
