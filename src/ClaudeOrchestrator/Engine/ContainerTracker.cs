using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// The one process-wide record of active containers, shared by every runspace that imports
    /// the module. Containers enter it the moment they exist and leave it once they are gone.
    /// </summary>
    internal static class ContainerTracker
    {
        private static readonly ConcurrentDictionary<string, TrackedContainer> Active =
            new ConcurrentDictionary<string, TrackedContainer>(StringComparer.Ordinal);

        public static int Count => Active.Count;

        public static void Add(TrackedContainer container) => Active[container.Id] = container;

        /// <summary>
        /// Records how a removal of a tracked container went: a container that is gone leaves the
        /// tracker, and the journal gets one line for it, whoever got there first.
        /// </summary>
        public static void Settle(RemovalOutcome outcome, CleanupReason reason)
        {
            if (outcome.Removed)
            {
                if (Active.TryRemove(outcome.Id, out var gone))
                {
                    CleanupJournal.Append(CleanupRecords.For(outcome, gone.StopReason ?? reason, gone.TaskId, gone.ProjectName));
                }
            }
            else if (Active.TryGetValue(outcome.Id, out var stuck))
            {
                CleanupJournal.Append(CleanupRecords.For(outcome, reason, stuck.TaskId, stuck.ProjectName));
            }
        }

        public static bool IsTracked(string id) => Active.ContainsKey(id);

        public static IReadOnlyList<TrackedContainer> Snapshot() => Active.Values.ToList();

        public static bool TryGet(string id, out TrackedContainer container) => Active.TryGetValue(id, out container);

        /// <summary>
        /// Stops the owning tasks and removes the matching containers in parallel; returns the
        /// outcome of each removal. Cleanup never throws: it reports.
        /// </summary>
        public static async Task<IReadOnlyList<RemovalOutcome>> FlushAsync(Func<TrackedContainer, bool> which, CleanupReason reason, TimeSpan budget)
        {
            var targets = Active.Values.Where(which).ToList();
            foreach (var target in targets)
            {
                target.RequestStop(reason);
            }

            using (var deadline = new CancellationTokenSource(budget))
            {
                var removals = targets.Select(async target =>
                {
                    var outcome = await ContainerRemover.RemoveAsync(target.Connection, target.Id, target.Name, deadline.Token).ConfigureAwait(false);
                    Settle(outcome, reason);
                    return outcome;
                });
                return await Task.WhenAll(removals).ConfigureAwait(false);
            }
        }

        /// <summary>Blocking flush for shutdown paths (process exit, module removal).</summary>
        public static IReadOnlyList<RemovalOutcome> Flush(Func<TrackedContainer, bool> which, CleanupReason reason, TimeSpan budget)
        {
            if (Active.IsEmpty)
            {
                return Array.Empty<RemovalOutcome>();
            }

            // Run on the thread pool so no caller's synchronization context can deadlock us.
            return Task.Run(() => FlushAsync(which, reason, budget)).GetAwaiter().GetResult();
        }
    }
}
