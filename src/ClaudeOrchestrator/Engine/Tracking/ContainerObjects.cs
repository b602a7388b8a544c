using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;

namespace ClaudeOrchestrator.Engine.Tracking
{
    /// <summary>The module's containers: a task's own, a probe's, a workspace's holder. The label filter and the status filter run in the engine.</summary>
    internal sealed class ContainerObjects : IEngineObjects
    {
        public static readonly ContainerObjects Instance = new ContainerObjects();

        private const string PodmanLocalPrefix = "localhost/";

        public string Name => ContainerKinds.Container;

        public int Order => 0;

        public bool EndsWithItsOwner => true;

        public string JudgedBy => null;

        public bool ExistsOn(DockerConnection connection) => true;

        public Task<RemovalOutcome> RemoveOnceAsync(DockerConnection connection, string id, string name, CancellationToken cancel) =>
            ContainerRemover.RemoveAsync(connection, id, name, cancel);

        public async Task<bool?> ExistsAsync(DockerConnection connection, string id, TimeSpan limit)
        {
            using (var timeout = new CancellationTokenSource(limit))
            {
                try
                {
                    await connection.Containers.InspectContainerAsync(id, timeout.Token).ConfigureAwait(false);
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

        public async Task<IReadOnlyList<ClaudeContainer>> ListAsync(DockerConnection connection, string labelFilter, ContainerFilter filter, CancellationToken cancel)
        {
            var parameters = new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["label"] = new Dictionary<string, bool> { [ContainerLabels.ManagedFilter] = true, [labelFilter] = true },
                },
            };
            var states = filter.States.Where(s => s != ContainerKinds.Volume && s != ContainerKinds.Config && s != ContainerKinds.Network).ToArray();
            if (filter.States.Length > 0 && states.Length == 0)
            {
                // Only volumes or configs asked for: no container matches.
                return Array.Empty<ClaudeContainer>();
            }

            if (states.Length > 0)
            {
                parameters.Filters["status"] = states.ToDictionary(s => s, _ => true);
            }

            IList<ContainerListResponse> listed;
            try
            {
                listed = await connection.Containers.ListContainersAsync(parameters, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                throw connection.Translate(e);
            }

            var now = DateTime.Now;
            return listed.Select(c => ToClaudeContainer(c, connection)).Where(c => filter.Matches(c, now)).ToList();
        }

        /// <summary>Whether the engine has a container of that name or id, the module's or not; throws when the engine cannot say.</summary>
        public static async Task<bool> NamedExistsAsync(DockerConnection connection, string nameOrId, CancellationToken cancel)
        {
            try
            {
                await connection.Containers.InspectContainerAsync(nameOrId, cancel).ConfigureAwait(false);
                return true;
            }
            catch (DockerContainerNotFoundException)
            {
                return false;
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                throw connection.Translate(e);
            }
        }

        public bool IsOrphan(ClaudeContainer item, IReadOnlyCollection<ClaudeContainer> all) => OwnerLiveness.IsOrphan(item);

        public Task<RemovalOutcome> RemoveListedAsync(DockerConnection connection, ClaudeContainer item, CleanupReason reason, bool tracked, CancellationToken cancel) =>
            ContainerRemover.RemoveConfirmedAsync(connection, item.Id, item.Name, cancel, this);

        internal static ClaudeContainer ToClaudeContainer(ContainerListResponse listed, DockerConnection connection)
        {
            var container = ObjectLabels.Read(listed.Labels ?? new Dictionary<string, string>(), connection);
            container.Id = listed.ID;
            container.Name = listed.Names?.FirstOrDefault()?.TrimStart('/');
            container.State = listed.State;
            container.Status = listed.Status;
            container.Created = listed.Created.Kind == DateTimeKind.Unspecified
                ? DateTime.SpecifyKind(listed.Created, DateTimeKind.Utc).ToLocalTime()
                : listed.Created.ToLocalTime();
            container.Image = ImageName(listed.Image, connection);
            container.IsTracked = ContainerTracker.IsTracked(listed.ID);
            return container;
        }

        /// <summary>
        /// Podman names a local image "localhost/name:tag" where Docker says "name:tag": the
        /// name the task asked for is the one reported, on either engine.
        /// </summary>
        private static string ImageName(string image, DockerConnection connection) =>
            connection.Facts?.Kind == EngineKind.Podman && image != null && image.StartsWith(PodmanLocalPrefix, StringComparison.Ordinal)
                ? image.Substring(PodmanLocalPrefix.Length)
                : image;
    }
}
