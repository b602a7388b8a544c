using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Engine.Egress
{
    /// <summary>
    /// The session's internal networks (one per engine, while its egress gateway runs), as a kind
    /// of the module's objects: removed after the containers on them, swept once their session is
    /// provably gone.
    /// </summary>
    internal sealed class NetworkObjects : IEngineObjects
    {
        public static readonly NetworkObjects Instance = new NetworkObjects();

        // An endpoint is let go a moment after its container is removed.
        private static readonly TimeSpan InUseGrace = TimeSpan.FromSeconds(5);

        public string Name => ContainerKinds.Network;

        // After every container (the gateway and the tasks are on it); volumes wait for salvage and do not depend on it.
        public int Order => 1;

        public bool EndsWithItsOwner => false;

        public string JudgedBy => null;

        public bool ExistsOn(DockerConnection connection) => connection.Networks != null;

        public async Task<RemovalOutcome> RemoveOnceAsync(DockerConnection connection, string id, string name, CancellationToken cancel)
        {
            var watch = Stopwatch.StartNew();
            var problem = await RemoveAsync(connection, name ?? id, cancel).ConfigureAwait(false);
            return new RemovalOutcome(id, name, problem == null, true, watch.Elapsed,
                problem == null ? null : new InvalidOperationException($"The network {name} could not be removed: {problem}"));
        }

        public Task<bool?> ExistsAsync(DockerConnection connection, string id, TimeSpan limit) => Task.FromResult<bool?>(null);

        public async Task<IReadOnlyList<ClaudeContainer>> ListAsync(DockerConnection connection, string labelFilter, ContainerFilter filter, CancellationToken cancel)
        {
            if (filter.States.Length > 0 && !filter.States.Contains(ContainerKinds.Network))
            {
                return Array.Empty<ClaudeContainer>();
            }

            IList<NetworkResponse> networks;
            try
            {
                networks = await connection.Networks.ListNetworksAsync(new NetworksListParameters
                {
                    Filters = new Dictionary<string, IDictionary<string, bool>>
                    {
                        ["label"] = new Dictionary<string, bool> { [ContainerLabels.ManagedFilter] = true, [labelFilter] = true },
                    },
                }, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                throw connection.Translate(e);
            }

            var now = DateTime.Now;
            return networks
                // The label filter runs in the engine; checked again here, as Podman's may not match exactly.
                .Where(n => n.Labels != null && n.Labels.TryGetValue(ContainerLabels.Managed, out var managed) && managed == "true")
                .Select(n => ToClaudeContainer(n, connection))
                .Where(n => filter.OlderThan == null || now - n.Created > filter.OlderThan.Value)
                .ToList();
        }

        public bool IsOrphan(ClaudeContainer item, IReadOnlyCollection<ClaudeContainer> all) => OwnerLiveness.IsOrphan(item);

        public Task<RemovalOutcome> RemoveListedAsync(DockerConnection connection, ClaudeContainer item, CleanupReason reason, bool tracked, CancellationToken cancel) =>
            RemoveOnceAsync(connection, item.Id, item.Name, cancel);

        /// <summary>Removes a network, waiting a moment for endpoints still being let go; null when it is gone, or the engine's words.</summary>
        public static async Task<string> RemoveAsync(DockerConnection connection, string name, CancellationToken cancel)
        {
            var watch = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    await connection.Networks.DeleteNetworkAsync(name, cancel).ConfigureAwait(false);
                    return null;
                }
                catch (DockerNetworkNotFoundException)
                {
                    return null;
                }
                catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                    return null;
                }
                catch (DockerApiException) when (watch.Elapsed < InUseGrace && !cancel.IsCancellationRequested)
                {
                    await Task.Delay(200, cancel).ConfigureAwait(false);
                }
                catch (DockerApiException e)
                {
                    var message = EngineErrors.ApiMessage(e);
                    // Docker 20.10 can keep counting endpoints it no longer has after many containers on one network went at once.
                    return message.IndexOf("active endpoints", StringComparison.OrdinalIgnoreCase) >= 0
                        ? message + ". If `docker network inspect` shows no container on it, the engine has lost count of its endpoints; restarting the engine clears that, and the next sweep removes the network"
                        : message;
                }
                catch (Exception e) when (!(e is OperationCanceledException))
                {
                    return connection.Translate(e).Message;
                }
            }
        }

        private static ClaudeContainer ToClaudeContainer(NetworkResponse network, DockerConnection connection)
        {
            var listed = ObjectLabels.Read(network.Labels ?? new Dictionary<string, string>(), connection);
            listed.Id = network.ID;
            listed.Name = network.Name;
            listed.Kind = ContainerKinds.Network;
            listed.State = ContainerKinds.Network;
            listed.Status = "the tasks' network of an egress gateway (no route out)";
            listed.Created = network.Created == default(DateTime) ? DateTime.Now : network.Created.ToLocalTime();
            listed.IsTracked = listed.SessionId == SessionIdentity.SessionId;
            return listed;
        }
    }
}
