using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>Lists the module's containers. The label filter runs in the engine, so other containers are never even returned.</summary>
    internal static class ContainerQuery
    {
        private static async Task<ContainerListing> ListAsync(DockerConnection connection, string labelFilter, ContainerFilter filter, CancellationToken cancel)
        {
            var parameters = new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["label"] = new Dictionary<string, bool> { [ContainerLabels.ManagedFilter] = true, [labelFilter] = true },
                },
            };
            var problems = new List<ListingProblem>();
            var swarm = await SwarmAsync(connection, labelFilter, filter, problems, cancel).ConfigureAwait(false);
            var states = filter.States.Where(s => s != ContainerKinds.Volume && s != ContainerKinds.Config).ToArray();
            if (filter.States.Length > 0 && states.Length == 0)
            {
                // Only volumes or configs asked for: no container matches.
                return new ContainerListing(swarm, problems);
            }

            if (states.Length > 0)
            {
                parameters.Filters["status"] = states.ToDictionary(s => s, _ => true);
            }

            IList<ContainerListResponse> listed;
            try
            {
                listed = await connection.Client.Containers.ListContainersAsync(parameters, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                throw connection.Translate(e);
            }

            var now = DateTime.Now;
            return new ContainerListing(listed.Select(c => ToClaudeContainer(c, connection)).Where(c => filter.Matches(c, now)).Concat(swarm).OrderBy(c => c.Created).ToList(), problems);
        }

        /// <summary>
        /// On a swarm manager, the module's services and configs, as the label filter and the
        /// filter say (the swarm's list has no status filter). A part the manager fails to list is
        /// a problem, not an end: the containers are still listed.
        /// </summary>
        private static async Task<IReadOnlyList<ClaudeContainer>> SwarmAsync(DockerConnection connection, string labelFilter, ContainerFilter filter, List<ListingProblem> problems, CancellationToken cancel)
        {
            var listed = new List<ClaudeContainer>();
            if (connection.Facts == null || !connection.Facts.SwarmManager)
            {
                return listed;
            }

            foreach (var (part, list) in new (string, Func<CancellationToken, Task<IReadOnlyList<ClaudeContainer>>>)[]
                     {
                         (ContainerKinds.Service, c => SwarmServices.ListServicesAsync(connection, c)),
                         (ContainerKinds.Config, c => SwarmServices.ListConfigsAsync(connection, c)),
                     })
            {
                try
                {
                    listed.AddRange(await list(cancel).ConfigureAwait(false));
                }
                catch (Exception e) when (!(e is OperationCanceledException))
                {
                    problems.Add(new ListingProblem(part, connection.Endpoint, connection.Translate(e)));
                }
            }

            var now = DateTime.Now;
            var mine = labelFilter.StartsWith(ContainerLabels.SessionId + "=", StringComparison.Ordinal);
            return listed.Where(c => filter.Matches(c, now) && (!mine || c.SessionId == SessionIdentity.SessionId)).ToList();
        }

        /// <summary>Whether the owner of a listed object is gone; a swarm's objects also by their heartbeat, so from any machine.</summary>
        private static bool IsOrphan(ClaudeContainer item, IReadOnlyCollection<ClaudeContainer> all) =>
            item.Kind == ContainerKinds.Service || item.Kind == ContainerKinds.Config
                ? SwarmServices.IsOrphan(item, all)
                : OwnerLiveness.IsOrphan(item);

        /// <param name="withVolumes">Also the workspace volumes of tasks on an engine elsewhere (Get- and Remove-ClaudeContainer list both).</param>
        public static async Task<ContainerListing> ListAsync(DockerConnection connection, ContainerScope scope, ContainerFilter filter, CancellationToken cancel, bool withVolumes)
        {
            var containers = await ListAsync(connection, scope, filter, cancel).ConfigureAwait(false);
            // This session's own volumes exist only while one of its tasks has a copied workspace: no extra request otherwise.
            if (!withVolumes || (filter.States.Length > 0 && !filter.States.Contains(ContainerKinds.Volume)) ||
                (scope == ContainerScope.Tracked && !TaskSession.AnyCopied))
            {
                return containers;
            }

            IReadOnlyList<VolumeResponse> volumes;
            try
            {
                volumes = await ShippedWorkspace.ListVolumesAsync(connection, null, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                return new ContainerListing(containers, containers.Problems.Concat(new[] { new ListingProblem(ContainerKinds.Volume, connection.Endpoint, connection.Translate(e)) }).ToList());
            }

            var now = DateTime.Now;
            var listed = volumes.Select(v => ToClaudeContainer(v, connection)).Where(v => filter.OlderThan == null || now - v.Created > filter.OlderThan.Value);
            switch (scope)
            {
                case ContainerScope.Tracked:
                    listed = listed.Where(v => v.IsTracked);
                    break;
                case ContainerScope.Orphaned:
                    listed = listed.Where(OwnerLiveness.IsOrphan);
                    break;
            }

            return new ContainerListing(containers.Concat(listed).OrderBy(c => c.Created).ToList(), containers.Problems);
        }

        /// <summary>What every one of the module's objects says in its labels (project, task, owner), on the engine it was listed on.</summary>
        internal static ClaudeContainer FromLabels(IDictionary<string, string> labels, DockerConnection connection) => new ClaudeContainer
        {
            Engine = connection.Endpoint,
            Project = Label(labels, ContainerLabels.Project),
            ProjectPath = Label(labels, ContainerLabels.ProjectPath),
            TaskId = Label(labels, ContainerLabels.TaskId),
            Role = Label(labels, ShippedWorkspace.RoleLabel),
            SessionId = Label(labels, ContainerLabels.SessionId),
            OwnerPid = int.TryParse(Label(labels, ContainerLabels.OwnerPid), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) ? pid : (int?)null,
            OwnerHost = Label(labels, ContainerLabels.OwnerHost),
            OwnerStartTime = OwnerLiveness.ParseStart(Label(labels, ContainerLabels.OwnerStart)),
        };

        /// <summary>A workspace volume as a ClaudeContainer of kind volume; tracked while its task runs in this session.</summary>
        internal static ClaudeContainer ToClaudeContainer(VolumeResponse volume, DockerConnection connection)
        {
            var labels = volume.Labels ?? new Dictionary<string, string>();
            var listed = FromLabels(labels, connection);
            listed.Id = volume.Name;
            listed.Name = volume.Name;
            listed.Kind = ContainerKinds.Volume;
            listed.State = ContainerKinds.Volume;
            listed.Status = $"task {listed.TaskId}'s {Label(labels, ShippedWorkspace.MountLabel)}";
            listed.Created = DateTime.TryParse(volume.CreatedAt, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var created) ? created.ToLocalTime() : DateTime.Now;
            listed.Image = Label(labels, ShippedWorkspace.ImageLabel);
            listed.IsTracked = IsOfActiveTask(listed);
            return listed;
        }

        /// <summary>A volume or config goes with its task: tracked while that task runs in this session.</summary>
        internal static bool IsOfActiveTask(ClaudeContainer item) =>
            item.SessionId == SessionIdentity.SessionId && item.TaskId != null && TaskSession.IsActive(item.TaskId);

        public static async Task<ContainerListing> ListAsync(DockerConnection connection, ContainerScope scope, ContainerFilter filter, CancellationToken cancel)
        {
            switch (scope)
            {
                case ContainerScope.Tracked:
                    if (ContainerTracker.Count == 0)
                    {
                        return ContainerListing.Empty;
                    }

                    var mine = await ListAsync(connection, ContainerLabels.SessionId + "=" + SessionIdentity.SessionId, filter, cancel).ConfigureAwait(false);
                    return new ContainerListing(mine.Where(c => c.IsTracked).ToList(), mine.Problems);
                case ContainerScope.Orphaned:
                    // Configs are judged by their services, whatever the filter lets through; with
                    // the services unknown, no config is taken for one whose service is gone.
                    var all = await ListAsync(connection, ContainerLabels.ManagedFilter, filter, cancel).ConfigureAwait(false);
                    var servicesUnknown = all.Problems.Any(p => p.Part == ContainerKinds.Service);
                    return new ContainerListing(all.Where(c => IsOrphan(c, all) && !(servicesUnknown && c.Kind == ContainerKinds.Config)).ToList(), all.Problems);
                default:
                    return await ListAsync(connection, ContainerLabels.ManagedFilter, filter, cancel).ConfigureAwait(false);
            }
        }

        internal static ClaudeContainer ToClaudeContainer(ContainerListResponse listed, DockerConnection connection)
        {
            var container = FromLabels(listed.Labels ?? new Dictionary<string, string>(), connection);
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

        private const string PodmanLocalPrefix = "localhost/";

        internal static string Label(IDictionary<string, string> labels, string key) =>
            labels != null && labels.TryGetValue(key, out var value) ? value : null;
    }
}
