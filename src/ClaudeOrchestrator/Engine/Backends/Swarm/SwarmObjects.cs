using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Engine.Backends.Swarm
{
    /// <summary>
    /// A task's one-off service on a swarm, as a kind of the module's objects: listed with its
    /// swarm task's state and node, an orphan by its owner's death here or by a stale heartbeat
    /// from anywhere, removed through the manager; an orphaned one recorded here has its agent's
    /// work collected from its log as it goes.
    /// </summary>
    internal sealed class ServiceObjects : IEngineObjects
    {
        public static readonly ServiceObjects Instance = new ServiceObjects();

        public string Name => ContainerKinds.Service;

        public int Order => 0;

        public bool EndsWithItsOwner => false;

        public string JudgedBy => null;

        public bool ExistsOn(DockerConnection connection) => connection.Facts != null && connection.Facts.SwarmManager;

        public Task<RemovalOutcome> RemoveOnceAsync(DockerConnection connection, string id, string name, CancellationToken cancel) =>
            SwarmServices.RemoveServiceAsync(connection, id, name, cancel);

        public async Task<bool?> ExistsAsync(DockerConnection connection, string id, TimeSpan limit)
        {
            using (var timeout = new CancellationTokenSource(limit))
            {
                return await SwarmServices.ServiceExistsAsync(connection, id, timeout.Token).ConfigureAwait(false);
            }
        }

        public async Task<IReadOnlyList<ClaudeContainer>> ListAsync(DockerConnection connection, string labelFilter, ContainerFilter filter, CancellationToken cancel) =>
            Filtered(await SwarmServices.ListServicesAsync(connection, cancel).ConfigureAwait(false), labelFilter, filter);

        public bool IsOrphan(ClaudeContainer item, IReadOnlyCollection<ClaudeContainer> all) => SwarmServices.IsOrphan(item, all);

        public Task<RemovalOutcome> RemoveListedAsync(DockerConnection connection, ClaudeContainer item, CleanupReason reason, bool tracked, CancellationToken cancel) =>
            !tracked && reason == CleanupReason.OrphanSweep
                ? ServiceSalvage.RemoveCollectingAsync(connection, item, cancel)
                : ContainerRemover.RemoveConfirmedAsync(connection, item.Id, item.Name, cancel, this);

        /// <summary>The swarm's lists have no status filter, and this session's are told by a label: both here.</summary>
        internal static IReadOnlyList<ClaudeContainer> Filtered(IEnumerable<ClaudeContainer> listed, string labelFilter, ContainerFilter filter)
        {
            var now = DateTime.Now;
            var mine = labelFilter.StartsWith(ContainerLabels.SessionId + "=", StringComparison.Ordinal);
            return listed.Where(c => filter.Matches(c, now) && (!mine || c.SessionId == SessionIdentity.SessionId)).ToList();
        }
    }

    /// <summary>The configs that carry a task's workspace into its service: they go with their service, after it.</summary>
    internal sealed class ConfigObjects : IEngineObjects
    {
        public static readonly ConfigObjects Instance = new ConfigObjects();

        public string Name => ContainerKinds.Config;

        // A config in use by a service cannot go: services first.
        public int Order => 1;

        public bool EndsWithItsOwner => false;

        public string JudgedBy => ContainerKinds.Service;

        public bool ExistsOn(DockerConnection connection) => connection.Facts != null && connection.Facts.SwarmManager;

        public Task<RemovalOutcome> RemoveOnceAsync(DockerConnection connection, string id, string name, CancellationToken cancel) =>
            SwarmServices.RemoveConfigAsync(connection, id, name, cancel);

        // The manager is asked again by the removal itself; a config has no state to wait for.
        public Task<bool?> ExistsAsync(DockerConnection connection, string id, TimeSpan limit) => Task.FromResult<bool?>(null);

        public async Task<IReadOnlyList<ClaudeContainer>> ListAsync(DockerConnection connection, string labelFilter, ContainerFilter filter, CancellationToken cancel) =>
            ServiceObjects.Filtered(await SwarmServices.ListConfigsAsync(connection, cancel).ConfigureAwait(false), labelFilter, filter);

        public bool IsOrphan(ClaudeContainer item, IReadOnlyCollection<ClaudeContainer> all) => SwarmServices.IsOrphan(item, all);

        public Task<RemovalOutcome> RemoveListedAsync(DockerConnection connection, ClaudeContainer item, CleanupReason reason, bool tracked, CancellationToken cancel) =>
            ContainerRemover.RemoveConfirmedAsync(connection, item.Id, item.Name, cancel, this);
    }
}
