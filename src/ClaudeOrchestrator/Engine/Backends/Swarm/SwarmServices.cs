using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Engine.Backends.Swarm
{
    /// <summary>
    /// The module's objects on a swarm: a task's one-off service and the configs that carry its
    /// workspace. Both carry the module's labels, are listed as ClaudeContainer (Kind service or
    /// config) beside containers, and are removed through the same confirmed path. A session
    /// proves it is alive by a heartbeat label on its services, so a sweep on any machine can
    /// tell a killed session's service from a live one's.
    /// </summary>
    internal static class SwarmServices
    {
        public const string ServiceRole = "task-service";
        public const string ConfigRole = "workspace-config";

        /// <summary>Unix seconds of the owner's last sign of life, on the service.</summary>
        public const string HeartbeatLabel = ContainerLabels.Prefix + "heartbeat";

        /// <summary>On the service's container, which carries no managed label: the node's engine sees a container of the swarm's, not one to sweep.</summary>
        public const string ServiceLabel = ContainerLabels.Prefix + "service";

        /// <summary>How often a session renews its services' heartbeat.</summary>
        internal static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);

        /// <summary>
        /// A service whose heartbeat is older is its owner's no more, whoever looks: long enough
        /// for a busy manager to miss a few renewals, short enough that a killed session's agent
        /// does not run on for long.
        /// </summary>
        internal static readonly TimeSpan HeartbeatStale = TimeSpan.FromSeconds(45);

        private static readonly ConcurrentDictionary<string, DockerConnection> Beating = new ConcurrentDictionary<string, DockerConnection>(StringComparer.Ordinal);
        private static Timer _heartbeat;
        private static int _beating;

        public static string Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

        /// <summary>Renews <paramref name="serviceId"/>'s heartbeat until <see cref="StopHeartbeat"/>.</summary>
        public static void StartHeartbeat(DockerConnection connection, string serviceId)
        {
            Beating[serviceId] = connection;
            if (Interlocked.CompareExchange(ref _beating, 1, 0) == 0)
            {
                _heartbeat = new Timer(_ => Beat(), null, HeartbeatInterval, HeartbeatInterval);
            }
        }

        public static void StopHeartbeat(string serviceId) => Beating.TryRemove(serviceId, out _);

        private static int _inBeat;

        // A beat that is still renewing when the next is due is not doubled.
        private static void Beat()
        {
            if (Interlocked.Exchange(ref _inBeat, 1) == 0)
            {
                BeatAsync().ContinueWith(_ => Volatile.Write(ref _inBeat, 0), TaskScheduler.Default);
            }
        }

        private static Task BeatAsync()
        {
            var now = Now();
            return Task.WhenAll(Beating.Select(pair => RenewAsync(pair.Value, pair.Key, now)));
        }

        /// <summary>A label update: the task template is unchanged, so the engine leaves the running task alone.</summary>
        private static async Task RenewAsync(DockerConnection connection, string serviceId, string now)
        {
            using (var limit = new CancellationTokenSource(HeartbeatInterval))
            {
                try
                {
                    var service = await connection.Swarm.InspectServiceAsync(serviceId, limit.Token).ConfigureAwait(false);
                    var spec = service.Spec;
                    spec.Labels[HeartbeatLabel] = now;
                    await connection.Swarm.UpdateServiceAsync(serviceId, new ServiceUpdateParameters
                    {
                        Service = spec,
                        Version = (long)(service.Version?.Index ?? 0),
                    }, limit.Token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Missed once: the next beat tries again, and a stale one is 4 misses away.
                }
            }
        }

        /// <summary>The module's services on a manager, with their swarm task's state and node, as ClaudeContainer.</summary>
        public static async Task<IReadOnlyList<ClaudeContainer>> ListServicesAsync(DockerConnection connection, CancellationToken cancel)
        {
            var services = await connection.Swarm.ListServicesAsync(new ServiceListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [ContainerLabels.ManagedFilter] = true } },
            }, cancel).ConfigureAwait(false);
            var listed = new List<ClaudeContainer>();
            var tasksOf = new Dictionary<string, TaskResponse>(StringComparer.Ordinal);
            if (services.Count > 0)
            {
                var tasks = await connection.Swarm.ListTasksAsync(new TasksListParameters
                {
                    Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = services.ToDictionary(svc => svc.ID, _ => true) },
                }, cancel).ConfigureAwait(false);
                foreach (var task in tasks.OrderBy(t => t.CreatedAt))
                {
                    tasksOf[task.ServiceID] = task;
                }
            }

            var nodes = services.Count == 0 ? new Dictionary<string, string>()
                : (await connection.Swarm.ListNodesAsync(cancel).ConfigureAwait(false)).ToDictionary(n => n.ID, n => n.Description?.Hostname ?? n.ID, StringComparer.Ordinal);
            foreach (var service in services)
            {
                tasksOf.TryGetValue(service.ID, out var task);
                listed.Add(ToClaudeContainer(service, task, nodes, connection));
            }

            return listed;
        }

        /// <summary>The module's configs (a task's workspace on its way in) on a manager, as ClaudeContainer.</summary>
        public static async Task<IReadOnlyList<ClaudeContainer>> ListConfigsAsync(DockerConnection connection, CancellationToken cancel)
        {
            var configs = await connection.Swarm.ListConfigsAsync(cancel).ConfigureAwait(false);
            return configs.Where(c => c.Spec?.Labels != null && c.Spec.Labels.TryGetValue(ContainerLabels.Managed, out var m) && m == "true")
                .Select(c => ToClaudeContainer(c, connection)).ToList();
        }

        private static ClaudeContainer ToClaudeContainer(SwarmService service, TaskResponse task, IDictionary<string, string> nodes, DockerConnection connection)
        {
            var labels = service.Spec?.Labels ?? new Dictionary<string, string>();
            var state = task?.Status?.State?.ToString().ToLowerInvariant() ?? "pending";
            var container = ObjectLabels.Read(labels, connection);
            container.Id = service.ID;
            container.Name = service.Spec?.Name;
            container.Kind = ContainerKinds.Service;
            container.State = ContainerState(state);
            container.Created = (service.CreatedAt ?? DateTime.UtcNow).ToLocalTime();
            container.Image = service.Spec?.TaskTemplate?.ContainerSpec?.Image;
            container.Node = task?.NodeID == null ? null : nodes.TryGetValue(task.NodeID, out var node) ? node : task.NodeID;
            container.Status = "service task " + state + (container.Node == null ? string.Empty : " on " + container.Node) +
                               (string.IsNullOrEmpty(task?.Status?.Err) ? string.Empty : ": " + task.Status.Err);
            container.Heartbeat = long.TryParse(ObjectLabels.Label(labels, HeartbeatLabel), NumberStyles.Integer, CultureInfo.InvariantCulture, out var beat)
                ? DateTimeOffset.FromUnixTimeSeconds(beat).UtcDateTime
                : (DateTime?)null;
            container.IsTracked = ContainerTracker.IsTracked(service.ID);
            return container;
        }

        private static ClaudeContainer ToClaudeContainer(SwarmConfig config, DockerConnection connection)
        {
            var labels = config.Spec.Labels;
            var container = ObjectLabels.Read(labels, connection);
            container.Id = config.ID;
            container.Name = config.Spec.Name;
            container.Kind = ContainerKinds.Config;
            container.State = ContainerKinds.Config;
            container.Status = $"task {container.TaskId}'s workspace";
            container.Created = (config.CreatedAt ?? DateTime.UtcNow).ToLocalTime();
            container.IsTracked = ObjectLabels.IsOfActiveTask(container);
            return container;
        }

        /// <summary>A swarm task's state in the container states the filters know: created, running, exited.</summary>
        internal static string ContainerState(string taskState)
        {
            switch (taskState)
            {
                case "running":
                    return "running";
                case "complete":
                case "failed":
                case "shutdown":
                case "rejected":
                case "orphaned":
                case "remove":
                    return "exited";
                default:
                    return "created";
            }
        }

        /// <summary>Whether a service or config of the module is an orphan: its owner provably gone here, or its heartbeat stale wherever it ran.</summary>
        public static bool IsOrphan(ClaudeContainer item, IReadOnlyCollection<ClaudeContainer> all)
        {
            if (item.SessionId == SessionIdentity.SessionId)
            {
                return false;
            }

            if (OwnerLiveness.IsOrphan(item))
            {
                return true;
            }

            if (item.Kind == ContainerKinds.Service)
            {
                return item.Heartbeat == null || DateTime.UtcNow - item.Heartbeat.Value > HeartbeatStale;
            }

            // A config goes with its service: an orphan when that is one, or when it is gone (a
            // config outlives its service only by the moment between their removals, or a crash).
            var service = all.FirstOrDefault(s => s.Kind == ContainerKinds.Service && s.TaskId == item.TaskId);
            return service == null ? DateTime.Now - item.Created > HeartbeatStale : IsOrphan(service, all);
        }

        /// <summary>
        /// Removing the service is what the engine offers: the node's engine then stops its
        /// container (SIGTERM, the stop grace period, SIGKILL) and removes it.
        /// </summary>
        public static Task<RemovalOutcome> RemoveServiceAsync(DockerConnection connection, string id, string name, CancellationToken cancel) =>
            RemoveAsync(connection, id, name, () => connection.Swarm.RemoveServiceAsync(id, cancel));

        public static Task<RemovalOutcome> RemoveConfigAsync(DockerConnection connection, string id, string name, CancellationToken cancel) =>
            RemoveAsync(connection, id, name, () => connection.Swarm.RemoveConfigAsync(id, cancel));

        /// <summary>One removal through the manager: one it no longer has is removed, not present.</summary>
        private static async Task<RemovalOutcome> RemoveAsync(DockerConnection connection, string id, string name, Func<Task> remove)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                await remove().ConfigureAwait(false);
                return new RemovalOutcome(id, name, true, true, watch.Elapsed, null);
            }
            catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return new RemovalOutcome(id, name, true, false, watch.Elapsed, null);
            }
            catch (Exception e)
            {
                return new RemovalOutcome(id, name, false, true, watch.Elapsed, connection.Translate(e));
            }
        }

        /// <summary>True or false as the manager says; null when it does not answer.</summary>
        public static async Task<bool?> ServiceExistsAsync(DockerConnection connection, string id, CancellationToken cancel)
        {
            try
            {
                await connection.Swarm.InspectServiceAsync(id, cancel).ConfigureAwait(false);
                return true;
            }
            catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }
            catch (Exception)
            {
                return null;
            }
        }

        public static async Task<string> NodeNameAsync(DockerConnection connection, string nodeId, CancellationToken cancel)
        {
            try
            {
                var node = await connection.Swarm.InspectNodeAsync(nodeId, cancel).ConfigureAwait(false);
                return node.Description?.Hostname ?? nodeId;
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                return nodeId;
            }
        }

        /// <summary>The node's state when the manager no longer reaches it (down, disconnected); null while it is ready.</summary>
        public static async Task<string> NodeLostAsync(DockerConnection connection, string nodeId, CancellationToken cancel)
        {
            try
            {
                var node = await connection.Swarm.InspectNodeAsync(nodeId, cancel).ConfigureAwait(false);
                var state = node.Status?.State;
                return state == null || string.Equals(state, "ready", StringComparison.OrdinalIgnoreCase)
                    ? null
                    : $"node state {state}" + (string.IsNullOrEmpty(node.Status.Message) ? string.Empty : ": " + node.Status.Message);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                return null;
            }
        }
    }
}
