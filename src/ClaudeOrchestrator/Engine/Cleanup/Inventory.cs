using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Backends.Swarm;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Journal;
using ClaudeOrchestrator.Engine.Records;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Engine.Cleanup
{
    /// <summary>
    /// Every kind of object the module makes on an engine, listed and removed alike: what
    /// Get-ClaudeContainer shows, what Remove-ClaudeContainer and the sweep remove. A new backend
    /// or workspace delivery adds its kinds here and nowhere else. Only labelled objects are ever
    /// listed (the label filter runs in the engine where it can), so nothing else is touched.
    /// </summary>
    internal static class Inventory
    {
        /// <summary>The kinds, in removal order within an engine.</summary>
        public static readonly IReadOnlyList<IEngineObjects> Kinds = new IEngineObjects[]
        {
            ContainerObjects.Instance, ServiceObjects.Instance, ConfigObjects.Instance, NetworkObjects.Instance, VolumeObjects.Instance,
        }.OrderBy(k => k.Order).ToList();

        /// <summary>An object of the session's egress (the gateway, its network, its network holders), not a task's.</summary>
        public static bool IsSessionInfrastructure(ClaudeContainer item) =>
            item.Role == EgressGateway.GatewayRole || item.Role == EgressGateway.NetworkRole || item.Role == NetworkHolders.HolderRole;

        /// <summary>The kind a listed object is of.</summary>
        public static IEngineObjects KindOf(ClaudeContainer item) =>
            Kinds.FirstOrDefault(k => k.Name == item.Kind) ?? ContainerObjects.Instance;

        /// <summary>
        /// The module's objects on one engine in <paramref name="scope"/> that pass
        /// <paramref name="filter"/>, oldest first. An engine that cannot list its containers
        /// throws; a part it cannot list otherwise (services, configs, volumes) is a
        /// <see cref="ListingProblem"/> while the rest is still listed.
        /// </summary>
        /// <param name="withVolumes">Also the workspace volumes of tasks on an engine elsewhere (Get- and Remove-ClaudeContainer list them; the sweep leaves them to the salvage).</param>
        public static async Task<ContainerListing> ListAsync(DockerConnection connection, ContainerScope scope, ContainerFilter filter, CancellationToken cancel, bool withVolumes = false)
        {
            // This session's own volumes exist only while one of its tasks has a copied workspace: no extra request otherwise.
            var volumes = withVolumes && (filter.States.Length == 0 || filter.States.Contains(ContainerKinds.Volume)) &&
                          !(scope == ContainerScope.Tracked && !ActiveTasks.AnyCopied);
            switch (scope)
            {
                case ContainerScope.Tracked:
                    if (ContainerTracker.Count == 0 && !volumes)
                    {
                        return ContainerListing.Empty;
                    }

                    var mine = await ListKindsAsync(connection, ContainerLabels.SessionId + "=" + SessionIdentity.SessionId, filter, volumes, cancel).ConfigureAwait(false);
                    // The session's gateway and its network serve every task and go with the session: -All shows them.
                    return new ContainerListing(mine.Where(c => c.IsTracked && !IsSessionInfrastructure(c)).ToList(), mine.Problems);
                case ContainerScope.Orphaned:
                    // Configs are judged by their services, whatever the filter lets through; with
                    // the services unknown, no config is taken for one whose service is gone.
                    var all = await ListKindsAsync(connection, ContainerLabels.ManagedFilter, filter, volumes, cancel).ConfigureAwait(false);
                    var unknown = new HashSet<string>(all.Problems.Select(p => p.Part), StringComparer.Ordinal);
                    return new ContainerListing(
                        all.Where(c => KindOf(c).IsOrphan(c, all) && !(KindOf(c).JudgedBy is string by && unknown.Contains(by))).ToList(),
                        all.Problems);
                default:
                    return await ListKindsAsync(connection, ContainerLabels.ManagedFilter, filter, volumes, cancel).ConfigureAwait(false);
            }
        }

        private static async Task<ContainerListing> ListKindsAsync(DockerConnection connection, string labelFilter, ContainerFilter filter, bool withVolumes, CancellationToken cancel)
        {
            var listed = new List<ClaudeContainer>();
            var problems = new List<ListingProblem>();
            foreach (var kind in Kinds.Where(k => k.ExistsOn(connection) && (withVolumes || k != VolumeObjects.Instance)))
            {
                try
                {
                    listed.AddRange(await kind.ListAsync(connection, labelFilter, filter, cancel).ConfigureAwait(false));
                }
                catch (Exception e) when (!(e is OperationCanceledException) && kind != ContainerObjects.Instance)
                {
                    problems.Add(new ListingProblem(kind.Name, connection.Endpoint, connection.Translate(e)));
                }
                catch (Exception e) when (!(e is OperationCanceledException) && !(e is OrchestratorException))
                {
                    // Without the containers there is no listing at all.
                    throw connection.Translate(e);
                }
            }

            return new ContainerListing(listed.OrderBy(c => c.Created).ToList(), problems);
        }

        /// <summary>
        /// Removes <paramref name="targets"/> (all on <paramref name="connection"/>'s engine), each
        /// confirmed gone, at most <paramref name="parallel"/> at once, kind after kind in removal
        /// order (a config only once its service is gone). A tracked one is asked to stop first, so
        /// its own task reports Cancelled and its work is kept; every other removal is journaled.
        /// Outcomes in input order.
        /// </summary>
        public static async Task<RemovalOutcome[]> RemoveAsync(DockerConnection connection, IReadOnlyCollection<ClaudeContainer> targets, CleanupReason reason,
            CancellationToken cancel, Action<RemovalOutcome> removed = null, int parallel = ContainerRemover.MaxParallelRemovals)
        {
            var outcomes = new Dictionary<ClaudeContainer, RemovalOutcome>();
            foreach (var group in targets.GroupBy(t => KindOf(t).Order).OrderBy(g => g.Key))
            {
                var done = await ContainerRemover.InParallelAsync(group, parallel, async target =>
                {
                    var isTracked = ContainerTracker.TryGet(target.Id, out var tracked);
                    tracked?.RequestStop(reason);
                    var outcome = await KindOf(target).RemoveListedAsync(connection, target, reason, isTracked, cancel).ConfigureAwait(false);
                    if (isTracked)
                    {
                        ContainerTracker.Settle(outcome, reason);
                    }
                    else if (outcome.WasPresent)
                    {
                        CleanupJournal.Append(outcome.ToRecord(reason, target.TaskId, target.Project));
                    }

                    removed?.Invoke(outcome);
                    return (target, outcome);
                }, cancel).ConfigureAwait(false);
                foreach (var (target, outcome) in done)
                {
                    outcomes[target] = outcome;
                }
            }

            return targets.Select(t => outcomes[t]).ToArray();
        }

        /// <summary>The summary lines of a removal: the containers (with services and configs), then the workspace volumes.</summary>
        public static IEnumerable<string> Summarize(IReadOnlyCollection<ClaudeContainer> removed)
        {
            var volumes = removed.Count(r => KindOf(r) == VolumeObjects.Instance);
            if (removed.Count > volumes || volumes == 0)
            {
                yield return $"Cleaned up {removed.Count - volumes} container(s)";
            }

            if (volumes > 0)
            {
                yield return $"Removed {volumes} workspace volume(s)";
            }
        }
    }
}
