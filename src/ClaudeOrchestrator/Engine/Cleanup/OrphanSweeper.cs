using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Engine.Workspaces;

namespace ClaudeOrchestrator.Engine.Cleanup
{
    /// <summary>
    /// The one gap the in-container watcher cannot close: a session killed between creating its
    /// container and starting it leaves a container in state "created" in which nothing runs.
    /// On import, and on the first contact with each engine, the module removes in the
    /// background this host's created or exited containers whose owner is provably gone,
    /// journaled as OrphanSweep. Running orphans are left to their own watcher (they end within
    /// a second) and to Remove-ClaudeContainer -Orphaned; a live session's containers are never
    /// touched, whatever their state. Then the work of tasks whose session died is saved into
    /// their branches (TaskSalvager).
    /// </summary>
    internal static class OrphanSweeper
    {
        private static readonly string[] SweptStates = { "created", "exited", "dead" };

        // Bounds one sweep against a sick engine; a sweep that fails is tried again on the next contact.
        private static readonly TimeSpan SweepBudget = TimeSpan.FromSeconds(60);

        // Nobody waits for the sweep: it must not take the engine (or, on a small machine, the
        // CPU) from the command that triggered it, so it removes one container at a time and,
        // on import, starts once the import is over.
        private const int SweepParallelism = 1;
        private static readonly TimeSpan ImportDelay = TimeSpan.FromMilliseconds(500);

        // Per engine, for the life of the process: true once a sweep has listed the engine.
        private static readonly Dictionary<DockerConnection, Task<bool>> Sweeps = new Dictionary<DockerConnection, Task<bool>>();
        private static readonly object Gate = new object();

        /// <summary>
        /// Starts the sweep of <paramref name="connection"/>'s engine unless one has succeeded or
        /// is running in this process. Never blocks and never throws: the caller's command goes on at once.
        /// </summary>
        public static void EnsureSwept(DockerConnection connection)
        {
            lock (Gate)
            {
                if (Sweeps.TryGetValue(connection, out var sweep) && (!sweep.IsCompleted || sweep.Result))
                {
                    return;
                }

                Sweeps[connection] = Task.Run(() => TrySweepAsync(connection));
            }
        }

        private static async Task<bool> TrySweepAsync(DockerConnection connection)
        {
            try
            {
                await SweepAsync(connection).ConfigureAwait(false);
                using (var budget = new CancellationTokenSource(SweepBudget))
                {
                    // Containers first: a salvage waits until a task's container is gone.
                    await TaskSalvager.SweepAsync(connection, budget.Token).ConfigureAwait(false);
                }

                return true;
            }
            catch (Exception)
            {
                // Unreachable or refusing engine: the command that contacted it reports that itself.
                return false;
            }
        }

        /// <summary>On import: the current engine, contacted on a pool thread so import never waits for it.</summary>
        public static void SweepCurrentInBackground()
        {
            Task.Run(async () =>
            {
                await Task.Delay(ImportDelay).ConfigureAwait(false);
                try
                {
                    DescriptionDelivery.SweepLeftovers();
                    EnsureSwept(DockerConnection.Current());
                }
                catch (Exception)
                {
                    // No endpoint can be resolved: the first cmdlet will say so.
                }
            });
        }

        /// <summary>The sweep itself: the orphans it removed. Throws when the engine cannot be listed.</summary>
        internal static async Task<IReadOnlyList<RemovalOutcome>> SweepAsync(DockerConnection connection)
        {
            using (var budget = new CancellationTokenSource(SweepBudget))
            {
                // A running container of a dead session ends itself (its watcher); a service does
                // not, so an orphaned service goes in any state, and its configs after it.
                var orphans = (await Inventory.ListAsync(connection, ContainerScope.Orphaned, ContainerFilter.None, budget.Token).ConfigureAwait(false))
                    .Where(c => SweptStates.Contains(c.State) || !Inventory.KindOf(c).EndsWithItsOwner).ToList();
                if (orphans.Count == 0)
                {
                    return Array.Empty<RemovalOutcome>();
                }

                return await Inventory.RemoveAsync(connection, orphans, CleanupReason.OrphanSweep, budget.Token, parallel: SweepParallelism).ConfigureAwait(false);
            }
        }
    }
}
