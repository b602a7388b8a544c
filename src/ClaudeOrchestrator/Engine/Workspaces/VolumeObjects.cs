using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Engine.Workspaces
{
    /// <summary>
    /// A task's workspace copied to an engine elsewhere, as a kind of the module's objects: its
    /// labelled volumes, tracked while their task runs in this session, removed last (only once
    /// their work is back: the cleanup decides that before it asks).
    /// </summary>
    internal sealed class VolumeObjects : IEngineObjects
    {
        public static readonly VolumeObjects Instance = new VolumeObjects();

        public string Name => ContainerKinds.Volume;

        public int Order => 2;

        public bool EndsWithItsOwner => false;

        public string JudgedBy => null;

        public bool ExistsOn(DockerConnection connection) => true;

        public async Task<RemovalOutcome> RemoveOnceAsync(DockerConnection connection, string id, string name, CancellationToken cancel)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var problem = await ShippedWorkspace.RemoveVolumeAsync(connection, name).ConfigureAwait(false);
            return new RemovalOutcome(id, name, problem == null, true, watch.Elapsed, problem == null ? null : new InvalidOperationException($"The volume {name} could not be removed: {problem}"));
        }

        public Task<bool?> ExistsAsync(DockerConnection connection, string id, TimeSpan limit) => Task.FromResult<bool?>(null);

        public async Task<IReadOnlyList<ClaudeContainer>> ListAsync(DockerConnection connection, string labelFilter, ContainerFilter filter, CancellationToken cancel)
        {
            var volumes = await ShippedWorkspace.ListVolumesAsync(connection, null, cancel).ConfigureAwait(false);
            var now = DateTime.Now;
            return volumes.Select(v => ToClaudeContainer(v, connection)).Where(v => filter.OlderThan == null || now - v.Created > filter.OlderThan.Value).ToList();
        }

        public bool IsOrphan(ClaudeContainer item, IReadOnlyCollection<ClaudeContainer> all) => OwnerLiveness.IsOrphan(item);

        public Task<RemovalOutcome> RemoveListedAsync(DockerConnection connection, ClaudeContainer item, CleanupReason reason, bool tracked, CancellationToken cancel) =>
            RemoveOnceAsync(connection, item.Id, item.Name, cancel);

        /// <summary>A workspace volume as a ClaudeContainer of kind volume; tracked while its task runs in this session.</summary>
        internal static ClaudeContainer ToClaudeContainer(VolumeResponse volume, DockerConnection connection)
        {
            var labels = volume.Labels ?? new Dictionary<string, string>();
            var listed = ObjectLabels.Read(labels, connection);
            listed.Id = volume.Name;
            listed.Name = volume.Name;
            listed.Kind = ContainerKinds.Volume;
            listed.State = ContainerKinds.Volume;
            listed.Status = $"task {listed.TaskId}'s {ObjectLabels.Label(labels, ContainerLabels.Mount)}";
            listed.Created = DateTime.TryParse(volume.CreatedAt, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var created) ? created.ToLocalTime() : DateTime.Now;
            listed.Image = ObjectLabels.Label(labels, ContainerLabels.Image);
            listed.IsTracked = ObjectLabels.IsOfActiveTask(listed);
            return listed;
        }
    }
}
