using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Planning;

namespace ClaudeOrchestrator.Engine.Workspaces
{
    /// <summary>
    /// An overlay checkout reaching the agent: a labelled volume of the engine's local driver
    /// whose mount is an overlay of the shared base tree (lower, read-only) under the task's layer
    /// (upper). The engine mounts it when the container starts and unmounts it when the container
    /// goes; the work is in the layer on this machine, so nothing travels back. The volume itself
    /// holds nothing and goes at the end (or with the sweep's orphan volumes).
    /// </summary>
    internal sealed class OverlayWorkspace : IWorkspaceDelivery
    {
        private readonly TaskPlan _plan;
        private readonly TaskCheckout _checkout;
        private readonly Action<string> _note;
        private DockerConnection _madeOn;

        public OverlayWorkspace(TaskPlan plan, TaskCheckout checkout, Action<string> note)
        {
            _plan = plan;
            _checkout = checkout;
            _note = note;
        }

        public string VolumeName => ShippedWorkspace.VolumeName(_plan.TaskId, "workspace");

        public WorkspaceTransfer Transfer => WorkspaceTransfer.Mount;

        public string Source => $"the overlay volume {VolumeName}: the base tree {_checkout.BaseTree} under the task's layer {_checkout.CheckoutDirectory}";

        public async Task PrepareAsync(DockerConnection connection, Action<string> verbose, CancellationToken cancel)
        {
            verbose($"Task {_plan.TaskId}: /workspace is {Source}.");
            var labels = ContainerLabels.For(_plan.TaskId, _plan.ProjectName, _plan.ProjectPath);
            labels[ContainerLabels.Role] = ShippedWorkspace.VolumeRole;
            labels[ContainerLabels.Mount] = ContainerPaths.Workspace;
            labels[ContainerLabels.Image] = _plan.Image;
            await OverlayMounts.CreateVolumeAsync(connection, VolumeName, labels, _checkout.BaseTree, _checkout.CheckoutDirectory, _checkout.LayerWorkDirectory, cancel).ConfigureAwait(false);
            _madeOn = connection;
        }

        public IList<Mount> Mounts(IList<Mount> binds) => binds.Select(m => m.Target == ContainerPaths.Workspace
            ? new Mount { Type = "volume", Source = VolumeName, Target = ContainerPaths.Workspace, VolumeOptions = new VolumeOptions { NoCopy = true } }
            : m).ToList();

        /// <summary>The work is already in the layer; the volume goes once nothing uses it.</summary>
        public string BringBack(bool containersGone)
        {
            if (_madeOn != null && containersGone)
            {
                var problem = ShippedWorkspace.RemoveVolumeAsync(_madeOn, VolumeName).GetAwaiter().GetResult();
                if (problem != null)
                {
                    _note?.Invoke($"the overlay volume {VolumeName} could not be removed ({problem}); the sweep removes it");
                }
            }

            return null;
        }
    }

    /// <summary>Whether an engine can mount an overlay over this machine's files, found once per engine and session by trying it.</summary>
    internal static class OverlayMounts
    {
        private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> Probes = new ConcurrentDictionary<string, Lazy<Task<string>>>(StringComparer.Ordinal);
        private static readonly TimeSpan ProbeLimit = TimeSpan.FromSeconds(30);

        /// <summary>The volume whose mount is the overlay; the engine mounts it (as root, or in its own user namespace) at each start.</summary>
        public static Task CreateVolumeAsync(DockerConnection connection, string name, IDictionary<string, string> labels, string lower, string upper, string work, CancellationToken cancel) =>
            connection.Volumes.CreateAsync(new VolumesCreateParameters
            {
                Name = name,
                Driver = "local",
                DriverOpts = new Dictionary<string, string>
                {
                    ["type"] = "overlay",
                    ["device"] = "overlay",
                    // userxattr: the overlay's marks (opaque directories) are user.* attributes the
                    // layer's owner can read when saving, not trusted.* ones only root can.
                    ["o"] = $"lowerdir={lower},upperdir={upper},workdir={work},userxattr",
                },
                Labels = labels,
            }, cancel);

        /// <summary>Null when an overlay checkout works on <paramref name="connection"/>'s engine; else why not, in a few words.</summary>
        public static async Task<string> ProblemAsync(DockerConnection connection, string image, string user, CancellationToken cancel)
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                return "this machine is not Linux, and only a Linux engine on this machine mounts an overlay of its files";
            }

            if (!connection.IsOnThisMachine)
            {
                return $"the engine at {connection.Endpoint} is not on this machine";
            }

            var root = BaseTrees.Root;
            if (root.IndexOfAny(new[] { ',', ':', '\\', '=' }) >= 0)
            {
                return $"the state directory's path {root} holds ',', ':', '=' or '\\', which an overlay's options cannot carry";
            }

            var probe = Probes.GetOrAdd(connection.Endpoint, _ => new Lazy<Task<string>>(() => ProbeAsync(connection, image, user)));
            return await SharedWork.WaitAsync(probe.Value, cancel).ConfigureAwait(false);
        }

        /// <summary>
        /// An overlay volume with one file below, mounted by a container of the task's image that
        /// reads that file and writes another; it works when the written file is in the layer.
        /// </summary>
        private static async Task<string> ProbeAsync(DockerConnection connection, string image, string user)
        {
            var id = TrialPrefix + Guid.NewGuid().ToString("N").Substring(0, 8);
            var directory = Path.Combine(BaseTrees.Root, $".new-{SessionIdentity.ProcessId}-{SessionIdentity.ProcessStartTicks}-{id}");
            var lower = Path.Combine(directory, "lower");
            var upper = Path.Combine(directory, "upper");
            var work = Path.Combine(directory, "work");
            var volume = "claude-overlay-" + id;
            string container = null;
            using (var limit = new CancellationTokenSource(ProbeLimit))
            {
                try
                {
                    Directory.CreateDirectory(lower);
                    Directory.CreateDirectory(upper);
                    Directory.CreateDirectory(work);
                    File.WriteAllText(Path.Combine(lower, "below"), "below\n");
                    var labels = ContainerLabels.For(id, "overlay check", directory);
                    labels[ContainerLabels.Role] = ShippedWorkspace.VolumeRole;
                    labels[ContainerLabels.Mount] = ContainerPaths.Workspace;
                    labels[ContainerLabels.Image] = image;
                    await CreateVolumeAsync(connection, volume, labels, lower, upper, work, limit.Token).ConfigureAwait(false);
                    container = (await connection.Containers.CreateContainerAsync(new CreateContainerParameters
                    {
                        Name = "claude-" + id,
                        Image = image,
                        Entrypoint = new List<string> { ContainerPaths.Shell },
                        Cmd = new List<string> { "-c", "read line < " + ContainerPaths.Workspace + "/below && echo \"$line\" > " + ContainerPaths.Workspace + "/above" },
                        User = user,
                        Labels = ContainerLabels.For(id, "overlay check", directory),
                        HostConfig = new HostConfig
                        {
                            NetworkMode = "none",
                            Mounts = new List<Mount> { new Mount { Type = "volume", Source = volume, Target = ContainerPaths.Workspace, VolumeOptions = new VolumeOptions { NoCopy = true } } },
                        },
                    }, limit.Token).ConfigureAwait(false)).ID;
                    await connection.Containers.StartContainerAsync(container, new ContainerStartParameters(), limit.Token).ConfigureAwait(false);
                    var exit = await connection.Containers.WaitContainerAsync(container, limit.Token).ConfigureAwait(false);
                    var above = Path.Combine(upper, "above");
                    return exit.StatusCode == 0 && File.Exists(above) && File.ReadAllText(above) == "below\n"
                        ? null
                        : $"a container of {image} mounting an overlay of this machine's files did not write through it (exit code {exit.StatusCode})";
                }
                catch (Exception e)
                {
                    var message = connection.Translate(e).Message.Replace('\n', ' ').Trim();
                    return "the engine could not mount an overlay of this machine's files: " + (message.Length > 400 ? message.Substring(0, 400) : message);
                }
                finally
                {
                    if (container != null)
                    {
                        try
                        {
                            await connection.Containers.RemoveContainerAsync(container, new ContainerRemoveParameters { Force = true }, CancellationToken.None).ConfigureAwait(false);
                        }
                        catch (Exception)
                        {
                            // A container of an ended session: the orphan sweep removes it.
                        }
                    }

                    // An engine may hold a volume a moment past its container; what stays is the sweep's.
                    if (await ShippedWorkspace.RemoveVolumeAsync(connection, volume).ConfigureAwait(false) != null)
                    {
                        await Task.Delay(200).ConfigureAwait(false);
                        await ShippedWorkspace.RemoveVolumeAsync(connection, volume).ConfigureAwait(false);
                    }

                    try
                    {
                        Files.DeleteOverlayWork(work);
                        Files.DeleteTree(directory);
                    }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                    {
                        // Left to the base trees' sweep (its owner is this process, gone by then).
                    }
                }
            }
        }

        // Never a task id (eight letters and digits): the trial's objects carry it as theirs.
        private const string TrialPrefix = "overlay-trial-";

        /// <summary>Whether a labelled object's task id is an overlay trial's, which holds no work.</summary>
        public static bool IsTrialVolume(string taskId) => taskId != null && taskId.StartsWith(TrialPrefix, StringComparison.Ordinal);

        /// <summary>Forgets what was found (tests that change an engine between tasks).</summary>
        internal static void Forget() => Probes.Clear();
    }
}
