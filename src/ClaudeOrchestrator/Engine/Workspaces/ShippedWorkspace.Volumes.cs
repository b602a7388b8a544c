using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Records;
using ClaudeOrchestrator.Engine.Sandboxing;

namespace ClaudeOrchestrator.Engine.Workspaces
{
    /// <summary>The volumes a copied workspace lives in on the engine, and the holder container that fills and empties them; a dead session's brought back by the salvage.</summary>
    internal sealed partial class ShippedWorkspace
    {
        private Task<string> CreateHolderAsync(DockerConnection connection, TaskPlan spec, CancellationToken cancel) =>
            CreateHolderAsync(connection, spec.ProjectName, spec.ProjectPath, _parts, cancel);

        /// <summary>A container that is only ever created: the archive API reads and writes its volumes.</summary>
        private async Task<string> CreateHolderAsync(DockerConnection connection, string project, string projectPath, List<Part> parts, CancellationToken cancel)
        {
            var labels = ContainerLabels.For(TaskId, project, projectPath);
            labels[RoleLabel] = HolderRole;
            var created = await connection.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Name = "claude-" + TaskId + "-holder-" + Guid.NewGuid().ToString("N").Substring(0, 6),
                Image = Image,
                Entrypoint = new List<string> { ContainerPaths.Shell },
                Cmd = new List<string> { "-c", "exit 0" },
                Labels = labels,
                HostConfig = new HostConfig
                {
                    NetworkMode = "none",
                    Mounts = parts.Select(p => new Mount { Type = "volume", Source = p.Volume, Target = p.Target, VolumeOptions = new VolumeOptions { NoCopy = true } }).ToList(),
                },
            }, cancel).ConfigureAwait(false);
            return created.ID;
        }

        private static async Task RemoveHolderAsync(DockerConnection connection, string id)
        {
            // Never started, so nothing runs in it: one forced removal; a failure leaves a created
            // container of a gone task, which the orphan sweep removes.
            try
            {
                await connection.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
            }
        }

        /// <summary>Removes the volumes; returns the error of the first that could not be removed, or null.</summary>
        public async Task<string> RemoveVolumesAsync(DockerConnection connection)
        {
            string problem = null;
            foreach (var part in _parts)
            {
                problem = problem ?? await RemoveVolumeAsync(connection, part.Volume).ConfigureAwait(false);
            }

            return problem;
        }

        internal static async Task<string> RemoveVolumeAsync(DockerConnection connection, string name)
        {
            try
            {
                await connection.Volumes.RemoveAsync(name, true, CancellationToken.None).ConfigureAwait(false);
                return null;
            }
            catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return null;
            }
            catch (Exception e)
            {
                return Why(connection, e);
            }
        }

        /// <summary>The module's workspace volumes on the engine, by task id (the label filter runs in the engine).</summary>
        public static async Task<IReadOnlyList<VolumeResponse>> ListVolumesAsync(DockerConnection connection, string taskId, CancellationToken cancel)
        {
            var labels = new Dictionary<string, bool> { [ContainerLabels.ManagedFilter] = true, [RoleLabel + "=" + VolumeRole] = true };
            if (taskId != null)
            {
                labels[ContainerLabels.TaskId + "=" + taskId] = true;
            }

            var listed = await connection.Volumes.ListAsync(new VolumesListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = labels },
            }, cancel).ConfigureAwait(false);
            return (IReadOnlyList<VolumeResponse>)listed.Volumes?.ToList() ?? Array.Empty<VolumeResponse>();
        }

        /// <summary>
        /// For the salvage of a task whose session died: when the engine still has the task's
        /// volumes, their content comes back into the checkout (or, for a task in place, into the
        /// task's directory, never over the project, which may have changed since) and the volumes
        /// go. Null when there is nothing (more) on the engine; else why not, to try again later.
        /// </summary>
        public static async Task<string> RecoverAsync(DockerConnection connection, ClaudeTask task, CancellationToken cancel)
        {
            IReadOnlyList<VolumeResponse> volumes;
            try
            {
                volumes = await ListVolumesAsync(connection, task.TaskId, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                return "its volumes cannot be listed: " + Why(connection, e);
            }

            if (volumes.Count == 0)
            {
                return null;
            }

            var directory = TaskStore.DirectoryFor(task.TaskId);
            var checkout = task.Repository == null ? null
                : new TaskCheckout(directory, task.Repository, task.GitDirectory, task.Branch, task.BaseCommit, task.TaskId, ownsBranch: task.ResumedFrom == null);
            var parts = new List<Part>();
            foreach (var volume in volumes)
            {
                var mount = volume.Labels != null && volume.Labels.TryGetValue(MountLabel, out var m) ? m : null;
                if (mount == ContainerPaths.Workspace)
                {
                    parts.Add(new Part
                    {
                        Volume = volume.Name,
                        Target = mount,
                        HostPath = checkout?.CheckoutDirectory ?? Path.Combine(directory, "returned"),
                        Checkout = checkout,
                        BringBack = true,
                    });
                }
                else if (mount == Sandbox.AgentStatePath && task.AgentStatePath != null)
                {
                    parts.Add(new Part { Volume = volume.Name, Target = mount, HostPath = task.AgentStatePath, BringBack = true });
                }
                else
                {
                    parts.Add(new Part { Volume = volume.Name, Target = mount ?? "/unknown", BringBack = false });
                }
            }

            var image = volumes.Select(v => v.Labels != null && v.Labels.TryGetValue(ImageLabel, out var i) ? i : null).FirstOrDefault(i => i != null) ?? task.Image;
            var shipped = new ShippedWorkspace(task.TaskId, image, parts, null, null);
            try
            {
                await shipped.BringBackAsync(connection, task.Project, task.Path, parts.Where(p => p.BringBack).ToList(), cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                return shipped.NotReadBack(connection.Endpoint, Why(connection, e));
            }

            if (checkout == null && parts.Any(p => p.Target == ContainerPaths.Workspace))
            {
                var returned = Path.Combine(directory, "returned");
                task.Reason = (task.Reason == null ? string.Empty : task.Reason + " ") +
                              $"The agent's tree came back from the engine into {returned}; the project was not changed, since it may have changed after the session died.";
            }

            var problem = await shipped.RemoveVolumesAsync(connection).ConfigureAwait(false);
            return problem == null ? null : "its work is back, but a volume could not be removed: " + problem;
        }

        /// <summary>
        /// What a recorded task's returned parts are on this machine, for the work of a dead
        /// session coming back by another way than its volumes (a swarm service's log): the
        /// checkout, or for a task in place a directory beside its record, never the project.
        /// </summary>
        public static ShippedWorkspace ForRecord(ClaudeTask task)
        {
            var directory = TaskStore.DirectoryFor(task.TaskId);
            var checkout = task.Repository == null || task.CheckoutPath == null ? null
                : new TaskCheckout(directory, task.Repository, task.GitDirectory, task.Branch, task.BaseCommit, task.TaskId, ownsBranch: task.ResumedFrom == null);
            var parts = new List<Part>
            {
                new Part { Target = ContainerPaths.Workspace, HostPath = checkout?.CheckoutDirectory ?? Path.Combine(directory, "returned"), Checkout = checkout, BringBack = true },
            };
            if (task.AgentStatePath != null)
            {
                parts.Add(new Part { Target = Sandbox.AgentStatePath, HostPath = task.AgentStatePath, BringBack = true });
            }

            return new ShippedWorkspace(task.TaskId, task.Image, parts, null, null);
        }

        internal static string Why(DockerConnection connection, Exception e) =>
            e is DockerApiException api ? EngineErrors.ApiMessage(api) : e is OrchestratorException ? e.Message : connection.Translate(e).Message;
    }
}
