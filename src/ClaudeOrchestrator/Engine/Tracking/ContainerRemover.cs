using System;
using System.Collections.Generic;
using System.Linq;
using System.Diagnostics;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Endpoints;

namespace ClaudeOrchestrator.Engine.Tracking
{
    /// <summary>How long a confirmed removal waits on what.</summary>
    internal sealed class RemovalLimits
    {
        public static RemovalLimits Default => new RemovalLimits();

        /// <summary>How long one removal request may take before the module asks the engine whether it is done.</summary>
        public TimeSpan Request { get; set; } = TimeSpan.FromSeconds(20);

        /// <summary>An engine that does not answer a ping within this is unresponsive: the flush stops waiting on it.</summary>
        public TimeSpan Answer { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>An object the engine, answering pings all along, has not removed after this long is reported as stuck.</summary>
        public TimeSpan Stuck { get; set; } = TimeSpan.FromMinutes(3);

        /// <summary>A removal the engine refuses (not a timeout) is tried this often before it is reported.</summary>
        public int RefusedAttempts { get; set; } = 3;
    }

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
        internal static TimeSpan RequestLimit => RemovalLimits.Default.Request;

        /// <summary>
        /// Removes the container and confirms it is gone, bounded by the engine answering, not by
        /// a fixed budget: a request that times out or fails is followed by a look at the
        /// container, and one the engine no longer has is Removed (with the real duration),
        /// whoever finished it. A busy engine (one that answers its ping; inspect can wait on the
        /// container's own lock while it is being removed) is given more time. Gives up when the
        /// engine stops answering, when <paramref name="abandon"/> fires, after repeated refusals,
        /// or after <see cref="RemovalLimits.Stuck"/>; the error then says which.
        /// </summary>
        /// <param name="kind">What it is (a container by default; a swarm service or config is removed through the manager).</param>
        /// <param name="limits">How long to wait on what (the defaults but in unit tests).</param>
        public static async Task<RemovalOutcome> RemoveConfirmedAsync(DockerConnection connection, string id, string name, CancellationToken abandon = default, IEngineObjectKind kind = null,
            RemovalLimits limits = null)
        {
            kind = kind ?? ContainerObjects.Instance;
            limits = limits ?? RemovalLimits.Default;
            var watch = Stopwatch.StartNew();
            var refusals = 0;
            for (var attempt = 0; ; attempt++)
            {
                RemovalOutcome outcome;
                bool timedOut;
                using (var limit = CancellationTokenSource.CreateLinkedTokenSource(abandon))
                {
                    limit.CancelAfter(limits.Request);
                    outcome = await kind.RemoveOnceAsync(connection, id, name, limit.Token).ConfigureAwait(false);
                    timedOut = limit.IsCancellationRequested && !abandon.IsCancellationRequested;
                }

                if (outcome.Removed)
                {
                    // Gone before a retry means it was there when we began.
                    return new RemovalOutcome(id, name, true, attempt > 0 || outcome.WasPresent, watch.Elapsed, null);
                }

                // Our side gave up or failed; the engine may have finished it anyway.
                var problem = await connection.ProblemAsync(limits.Answer).ConfigureAwait(false);
                if (problem != null)
                {
                    return new RemovalOutcome(id, name, false, true, watch.Elapsed, new TimeoutException(
                        $"Removing {name}: {problem}; the container's watcher removes it when this session's connection drops."));
                }

                var exists = await kind.ExistsAsync(connection, id, limits.Request).ConfigureAwait(false);
                if (exists == false)
                {
                    return new RemovalOutcome(id, name, true, true, watch.Elapsed, null);
                }

                if (abandon.IsCancellationRequested || (!timedOut && ++refusals >= limits.RefusedAttempts) || watch.Elapsed > limits.Stuck)
                {
                    return new RemovalOutcome(id, name, false, true, watch.Elapsed, outcome.Error ?? new TimeoutException(
                        $"The Docker engine answers but has not removed {name} after {watch.Elapsed.TotalSeconds:0} s."));
                }

                // The engine answers and still has it (or is too busy to say): ask again.
            }
        }

        public static async Task<RemovalOutcome> RemoveAsync(DockerConnection connection, string id, string name, CancellationToken cancel)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                await connection.Containers.RemoveContainerAsync(id, ForceRemove, cancel).ConfigureAwait(false);
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
                    await connection.Containers.InspectContainerAsync(id, cancel).ConfigureAwait(false);
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
