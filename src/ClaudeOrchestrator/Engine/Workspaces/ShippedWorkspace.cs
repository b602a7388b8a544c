using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
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
    /// <summary>
    /// A task's host directories carried to an engine on another machine, where a bind mount
    /// would name that machine's paths. Each directory a local task binds (the workspace, the
    /// agent's state, a long description) becomes a labelled volume named for the task, filled
    /// through the archive API of a holder container that is created, never started, and removed
    /// at once. The task container mounts the volumes; afterwards a second holder reads them back
    /// and the volumes are removed only once their content is on this machine. A session that
    /// dies leaves only the volumes (no container): the salvage sweep brings their content back
    /// into the task's checkout and branch, then removes them.
    /// </summary>
    internal sealed partial class ShippedWorkspace : IWorkspaceDelivery
    {
        public const string RoleLabel = ContainerLabels.Role;
        public const string MountLabel = ContainerLabels.Mount;
        public const string ImageLabel = ContainerLabels.Image;
        public const string VolumeRole = "workspace";
        public const string HolderRole = "workspace-holder";

        // The objects the checkout's alternates name locally travel as one pack of the base commit's tree.
        private const string PackDirectory = ".git/objects/pack";

        private readonly List<Part> _parts;

        private ShippedWorkspace(string taskId, string image, List<Part> parts, int? uid, int? gid)
        {
            TaskId = taskId;
            Image = image;
            _parts = parts;
            Uid = uid;
            Gid = gid;
        }

        public string TaskId { get; }
        public string Image { get; }
        private int? Uid { get; }
        private int? Gid { get; }

        /// <summary>The volumes, for messages: "name (mounted at /path)".</summary>
        public string Describe() => string.Join(", ", _parts.Select(p => $"{p.Volume} ({p.Target})"));

        /// <summary>
        /// Why a task's work is still on the engine: the same words from the task's end and from a
        /// sweep (the volumes by name, whoever listed them), so a sweep can tell a cause it already reported.
        /// </summary>
        internal string NotReadBack(string endpoint, string why) =>
            $"The task's work is still in the volume(s) {string.Join(", ", _parts.OrderBy(p => p.Volume, StringComparer.Ordinal).Select(p => $"{p.Volume} ({p.Target})"))} " +
            $"on the engine at {endpoint}: it could not be read back ({why}); the next orphan sweep or Remove-ClaudeContainer -Orphaned tries again.";

        public IEnumerable<string> VolumeNames => _parts.Select(p => p.Volume);

        /// <summary>One volume: what it holds on this machine and where the container sees it.</summary>
        private sealed class Part
        {
            public string Volume;
            public string Target;
            public string HostPath;

            // Set for the workspace of a task on a branch: the checkout, with .git made self-contained.
            public TaskCheckout Checkout;

            // A single file (the description) placed in the volume under this name; null for a directory.
            public string FileName;
            public bool ReadOnly;
            public bool BringBack;
        }

        public static string VolumeName(string taskId, string role) => "claude-" + taskId + "-" + role;

        /// <summary>What <see cref="TaskRunner.BuildCreateParameters"/> would bind, as volumes.</summary>
        /// <param name="note">Where the task writes what happened to its copy (its transcript); null for none.</param>
        public static ShippedWorkspace Plan(TaskPlan spec, TaskCheckout checkout, string agentState, string descriptionFile, Action<string> note = null)
        {
            var parts = new List<Part>
            {
                new Part
                {
                    Volume = VolumeName(spec.TaskId, "workspace"),
                    Target = ContainerPaths.Workspace,
                    HostPath = checkout?.CheckoutDirectory ?? spec.ProjectPath,
                    Checkout = checkout,
                    BringBack = true,
                },
            };
            if (agentState != null)
            {
                parts.Add(new Part { Volume = VolumeName(spec.TaskId, "agent"), Target = Sandbox.AgentStatePath, HostPath = agentState, BringBack = true });
            }

            if (descriptionFile != null)
            {
                parts.Add(new Part
                {
                    Volume = VolumeName(spec.TaskId, "description"),
                    Target = DescriptionDelivery.ContainerPath.Substring(0, DescriptionDelivery.ContainerPath.LastIndexOf('/')),
                    HostPath = descriptionFile,
                    FileName = DescriptionDelivery.ContainerPath.Substring(DescriptionDelivery.ContainerPath.LastIndexOf('/') + 1),
                    ReadOnly = true,
                });
            }

            var (uid, gid) = NumericUser(spec.Sandbox.User);
            return new ShippedWorkspace(spec.TaskId, spec.Image, parts, uid, gid) { _plan = spec, _note = note };
        }

        /// <summary>"1000:1000" or "1000" as numbers; null for a name or none (the image's own user).</summary>
        internal static (int? Uid, int? Gid) NumericUser(string user)
        {
            if (string.IsNullOrEmpty(user))
            {
                return (null, null);
            }

            var parts = user.Split(':');
            if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
            {
                return (null, null);
            }

            var gid = uid;
            if (parts.Length > 1 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out gid))
            {
                return (uid, null);
            }

            return (uid, gid);
        }

        /// <summary>The task container's mounts in place of the bind mounts.</summary>
        private TaskPlan _plan;
        private Action<string> _note;
        private DockerConnection _shippedTo;

        // Reading the volumes back: bounded, since a shutdown path waits for it; what does not come
        // back in time stays in the volumes for the salvage sweep.
        private static readonly TimeSpan BringBackLimit = TimeSpan.FromMinutes(5);

        public WorkspaceTransfer Transfer => WorkspaceTransfer.Copy;

        public string Source => "the volume " + VolumeName(TaskId, "workspace");

        /// <summary>Copies the workspace into the task's volumes, once, before the first attempt (a retry continues in them).</summary>
        public async Task PrepareAsync(DockerConnection connection, Action<string> verbose, CancellationToken cancel)
        {
            verbose((connection.IsOnThisMachine ? "-Workspace Copy" : $"The engine at {connection.Endpoint} is not on this machine") +
                    $": copying the workspace into {Describe()}.");
            await ShipAsync(connection, _plan, cancel).ConfigureAwait(false);
            _shippedTo = connection;
            ActiveTasks.MarkCopied(TaskId);
        }

        public IList<Mount> Mounts(IList<Mount> binds) => Mounts();

        /// <summary>
        /// The copied workspace back onto this machine, then its volumes removed; null when done,
        /// else why the work is still on the engine (the salvage sweep brings it back later).
        /// </summary>
        public string BringBack(bool containersGone)
        {
            if (_shippedTo == null)
            {
                // Never copied (the copy itself failed, and removed what it made): nothing is out there.
                return null;
            }

            if (!containersGone)
            {
                return $"The task's work is still in the volume(s) {Describe()} on the engine at {_shippedTo.Endpoint}, whose container could not be removed; the next orphan sweep or Remove-ClaudeContainer -Orphaned brings it back once the container is gone.";
            }

            try
            {
                using (var limit = new CancellationTokenSource(BringBackLimit))
                {
                    BringBackAsync(_shippedTo, _plan, limit.Token).GetAwaiter().GetResult();
                }
            }
            catch (Exception e)
            {
                return NotReadBack(_shippedTo.Endpoint, Why(_shippedTo, e));
            }

            var problem = RemoveVolumesAsync(_shippedTo).GetAwaiter().GetResult();
            _note?.Invoke($"workspace copied back from {_shippedTo.Endpoint}" + (problem == null ? "; volumes removed" : $"; a volume could not be removed ({problem}), the sweep removes it"));
            return null;
        }

        public IList<Mount> Mounts() => _parts.Select(p => new Mount
        {
            Type = "volume",
            Source = p.Volume,
            Target = p.Target,
            ReadOnly = p.ReadOnly,
            VolumeOptions = new VolumeOptions { NoCopy = true },
        }).ToList();

        private Dictionary<string, string> Labels(TaskPlan spec, string role, string mount)
        {
            var labels = ContainerLabels.For(spec.TaskId, spec.ProjectName, spec.ProjectPath);
            labels[RoleLabel] = role;
            labels[ImageLabel] = Image;
            if (mount != null)
            {
                labels[MountLabel] = mount;
            }

            return labels;
        }

        /// <summary>
        /// Creates the volumes and fills them; on any failure removes what it made and throws,
        /// so nothing is left for a task that never ran.
        /// </summary>
        public async Task ShipAsync(DockerConnection connection, TaskPlan spec, CancellationToken cancel)
        {
            var packs = new List<string>();
            try
            {
                foreach (var part in _parts)
                {
                    await connection.Volumes.CreateAsync(new VolumesCreateParameters
                    {
                        Name = part.Volume,
                        Labels = Labels(spec, VolumeRole, part.Target),
                    }, cancel).ConfigureAwait(false);
                }

                var holder = await CreateHolderAsync(connection, spec, cancel).ConfigureAwait(false);
                try
                {
                    using (var archive = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose))
                    {
                        // A file first, not a pipe: the engine reads the whole archive before it answers.
                        WriteArchive(archive, packs);
                        archive.Position = 0;
                        await connection.Containers.ExtractArchiveToContainerAsync(holder,
                            new CopyToContainerParameters { Path = "/", AllowOverwriteDirWithFile = false }, archive, cancel).ConfigureAwait(false);
                    }
                }
                finally
                {
                    await RemoveHolderAsync(connection, holder).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (!(e is OperationCanceledException && cancel.IsCancellationRequested))
            {
                await RemoveVolumesAsync(connection).ConfigureAwait(false);
                if (e is OrchestratorException)
                {
                    throw;
                }

                if (e is DockerImageNotFoundException missing && EngineErrors.IsImageMissing(missing))
                {
                    // The holder is the first container made: the same error a task's own create would give.
                    throw EngineErrors.ImageMissing(spec.Image, connection);
                }

                throw new OrchestratorException(ErrorIds.WorkspaceNotShipped, ErrorCategory.InvalidOperation,
                    $"The task's workspace could not be copied to the engine at {connection.Endpoint}: " +
                    Why(connection, e), spec.ProjectPath, e);
            }
            catch
            {
                await RemoveVolumesAsync(connection).ConfigureAwait(false);
                throw;
            }
            finally
            {
                foreach (var pack in packs)
                {
                    Files.TryDelete(pack);
                }
            }
        }

        /// <summary>
        /// The same content for a swarm service, gzip-compressed, without entries for the parts'
        /// own directories: in the service they are tmpfs mounts owned by root, which a task user
        /// other than root may write into but not change. Its last entry is <paramref name="arrivalEntry"/>
        /// holding <paramref name="nonce"/>: found after unpacking, it proves the unpack got to the end.
        /// </summary>
        public void WriteCompressedArchive(Stream output, List<string> packs, string arrivalEntry, string nonce)
        {
            using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            {
                WriteArchive(gzip, packs, roots: false, last: tar =>
                    tar.AddFile(arrivalEntry, Convert.ToInt32("644", 8), DateTime.UtcNow, System.Text.Encoding.ASCII.GetBytes(nonce)));
            }
        }

        /// <summary>Where the container sees each part, and which of them come back.</summary>
        public IEnumerable<string> Targets => _parts.Select(p => p.Target);

        public IEnumerable<string> ReturnedTargets => _parts.Where(p => p.BringBack).Select(p => p.Target);

        private void WriteArchive(Stream archive, List<string> packs, bool roots = true, Action<TarWriter> last = null)
        {
            var tar = new TarWriter(archive, Uid ?? 0, Gid ?? 0);
            var open = Uid == null;
            foreach (var part in _parts)
            {
                var name = part.Target.TrimStart('/');
                if (part.FileName != null)
                {
                    if (roots)
                    {
                        tar.AddDirectory(name, Convert.ToInt32("755", 8), DateTime.UtcNow);
                    }

                    tar.AddFile(name + "/" + part.FileName, Convert.ToInt32(open ? "644" : "600", 8), DateTime.UtcNow, File.ReadAllBytes(part.HostPath));
                    continue;
                }

                if (part.Checkout == null)
                {
                    WorkspaceTree.Pack(tar, part.HostPath, name, null, open, roots);
                    continue;
                }

                // The checkout's .git names its objects through alternates, which do not travel:
                // the base commit's tree goes along as one pack, and the history stops there.
                var pack = part.Checkout.PackBaseTree();
                packs.AddRange(pack);
                WorkspaceTree.Pack(tar, part.HostPath, name, rel => rel == ".git/objects/info/alternates" || rel == ".git/shallow", open, roots);
                foreach (var file in pack)
                {
                    tar.AddFile(name + "/" + PackDirectory + "/" + Path.GetFileName(file), Convert.ToInt32("444", 8), DateTime.UtcNow, File.ReadAllBytes(file));
                }

                tar.AddFile(name + "/.git/shallow", Convert.ToInt32("644", 8), DateTime.UtcNow, System.Text.Encoding.ASCII.GetBytes(part.Checkout.BaseCommit + "\n"));
            }

            last?.Invoke(tar);
            tar.Finish();
        }

        /// <summary>
        /// Reads every volume the agent may have written back onto this machine: the checkout
        /// (then its host-side .git files restored), the project for a task in place, the agent's
        /// state. Throws when any cannot be read; the volumes are untouched either way.
        /// </summary>
        public Task BringBackAsync(DockerConnection connection, TaskPlan spec, CancellationToken cancel) =>
            BringBackAsync(connection, spec.ProjectName, spec.ProjectPath, _parts.Where(p => p.BringBack).ToList(), cancel);

        private async Task BringBackAsync(DockerConnection connection, string project, string projectPath, List<Part> parts, CancellationToken cancel)
        {
            var holder = await CreateHolderAsync(connection, project, projectPath, parts, cancel).ConfigureAwait(false);
            try
            {
                // In one order whoever lists the parts (the task's end, or a sweep from the engine's
                // volume list): the same failure then reads the same, and a sweep knows it said it already.
                foreach (var part in parts.OrderBy(p => p.Target, StringComparer.Ordinal))
                {
                    var response = await connection.Containers.GetArchiveFromContainerAsync(holder,
                        new ContainerPathStatParameters { Path = part.Target }, false, cancel).ConfigureAwait(false);
                    // Whole, then extracted: the client's stream reads only asynchronously, and a
                    // connection lost half-way must not leave half a tree to mirror.
                    using (var stream = response.Stream)
                    using (var archive = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose))
                    {
                        try
                        {
                            await stream.CopyToAsync(archive, 81920, cancel).ConfigureAwait(false);
                        }
                        catch (IOException e)
                        {
                            // The engine answered, then the answer stopped: the archive is cut, whatever the transport calls it.
                            throw new InvalidDataException($"the archive of {part.Target} from the engine was cut short ({e.GetBaseException().Message})", e);
                        }

                        archive.Position = 0;
                        Restore(part, archive);
                    }
                }
            }
            finally
            {
                await RemoveHolderAsync(connection, holder).ConfigureAwait(false);
            }
        }

        /// <summary>A part's archive (as the engine's archive API or the service's tar writes it: its top directory named as the target's last segment) extracted and mirrored onto this machine.</summary>
        public void Restore(string target, Stream archive) => Restore(_parts.First(p => p.Target == target), archive);

        /// <summary>
        /// A received part (a gzip'd tar whose checksum matched, see <see cref="ReturnedParts"/>)
        /// extracted and mirrored, then deleted: until it is in place it is the only copy.
        /// </summary>
        public void RestoreReceived(string target, string file)
        {
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 81920))
            using (var archive = new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionMode.Decompress))
            {
                Restore(target, archive);
            }

            Files.TryDelete(file);
        }

        private static void Restore(Part part, Stream archive)
        {
            var staging = part.HostPath.TrimEnd(Path.DirectorySeparatorChar) + ".returned";
            Files.DeleteTree(staging);
            try
            {
                WorkspaceTree.Extract(new TarReader(archive), part.Target.Substring(part.Target.LastIndexOf('/') + 1), staging);
                Directory.CreateDirectory(part.HostPath);
                WorkspaceTree.Mirror(staging, part.HostPath);
                part.Checkout?.RestoreHostFiles();
            }
            finally
            {
                Files.DeleteTree(staging);
            }
        }
    }
}
