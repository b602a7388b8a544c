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
        /// Removes many containers at once; the engine is the limit, so keep enough requests in
        /// flight to saturate it without opening hundreds of connections.
        /// </summary>
        /// <param name="removed">Called after each removal (from engine threads), for progress.</param>
        /// <param name="parallel">Requests in flight at most; fewer for work nobody waits for.</param>
        public static async Task<RemovalOutcome[]> RemoveManyAsync(DockerConnection connection, IEnumerable<ClaudeContainer> targets, CleanupReason reason,
            CancellationToken cancel, Action<RemovalOutcome> removed = null, int parallel = MaxParallelRemovals)
        {
            using (var slots = new SemaphoreSlim(parallel))
            {
                var removals = targets.Select(async target =>
                {
                    await slots.WaitAsync(cancel).ConfigureAwait(false);
                    try
                    {
                        // A task of this process owns it: let that task report Cancelled, not Failed.
                        var isTracked = ContainerTracker.TryGet(target.Id, out var tracked);
                        tracked?.RequestStop(reason);

                        var outcome = await RemoveAsync(connection, target.Id, target.Name, cancel).ConfigureAwait(false);
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
                    }
                    finally
                    {
                        slots.Release();
                    }
                }).ToList();
                return await Task.WhenAll(removals).ConfigureAwait(false);
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
