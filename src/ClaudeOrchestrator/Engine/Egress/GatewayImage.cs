using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;

namespace ClaudeOrchestrator.Engine.Egress
{
    /// <summary>
    /// The gateway's image: the module ships it as a root filesystem archive (one program
    /// compiled ahead of time and the C and TLS libraries it loads) and loads it into an engine
    /// the first time a task there needs it, tagged by the archive's hash, so no registry is
    /// asked and nothing of the agent's image is used. The images of other builds of the module
    /// are removed then, unless a container still uses one.
    /// </summary>
    internal static class GatewayImage
    {
        public const string Repository = "claude-orchestrator-gateway";

        private static readonly string ArchivePath = Path.Combine(
            Path.GetDirectoryName(typeof(GatewayImage).Assembly.Location) ?? string.Empty, "gateway", "linux-amd64.tar");

        private static readonly Lazy<string> Tag = new Lazy<string>(() =>
        {
            using (var sha = SHA256.Create())
            using (var file = File.OpenRead(ArchivePath))
            {
                return BitConverter.ToString(sha.ComputeHash(file)).Replace("-", string.Empty).Substring(0, 12).ToLowerInvariant();
            }
        });

        private static readonly ConcurrentDictionary<DockerConnection, Lazy<Task<string>>> Loaded = new ConcurrentDictionary<DockerConnection, Lazy<Task<string>>>();

        /// <summary>Whether this build of the module carries the gateway (it is built on Linux x64).</summary>
        public static bool Shipped => File.Exists(ArchivePath);

        /// <summary>The image's name on <paramref name="connection"/>'s engine, loaded there once per process.</summary>
        public static async Task<string> EnsureAsync(DockerConnection connection, Action<string> verbose, CancellationToken cancel)
        {
            if (!Shipped)
            {
                throw new OrchestratorException(ErrorIds.GatewayUnavailable, ErrorCategory.NotInstalled,
                    $"This build of the module has no egress gateway ({ArchivePath} is made when the module is built on Linux x64). Pass -Network none for an offline task, or -Network bridge to opt out into open egress.", ArchivePath);
            }

            var arch = connection.Facts?.Arch;
            if (!string.IsNullOrEmpty(arch) && arch != "amd64" && arch != "x86_64")
            {
                throw new OrchestratorException(ErrorIds.GatewayUnavailable, ErrorCategory.NotImplemented,
                    $"The egress gateway runs on x86-64 engines; {connection.Endpoint} is {arch}. Pass -Network none for an offline task, or -Network bridge to opt out into open egress.", arch);
            }

            var load = Loaded.GetOrAdd(connection, _ => new Lazy<Task<string>>(() => LoadAsync(connection, verbose)));
            var task = load.Value;
            if (task.IsFaulted || task.IsCanceled)
            {
                Loaded.TryRemove(connection, out _);
                load = Loaded.GetOrAdd(connection, _ => new Lazy<Task<string>>(() => LoadAsync(connection, verbose)));
                task = load.Value;
            }

            return await SharedWork.WaitAsync(task, cancel).ConfigureAwait(false);
        }

        /// <summary>Loads it again on next use: the engine lost it (another build of the module removed it while unused).</summary>
        public static void Forget(DockerConnection connection) => Loaded.TryRemove(connection, out _);

        private static async Task<string> LoadAsync(DockerConnection connection, Action<string> verbose)
        {
            var name = Repository + ":" + Tag.Value;
            try
            {
                await connection.Images.InspectImageAsync(name, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is DockerImageNotFoundException || (e is DockerApiException api && api.StatusCode == System.Net.HttpStatusCode.NotFound))
            {
                verbose?.Invoke($"Loading the egress gateway's image {name} into {connection.Endpoint} (once per engine).");
                using (var archive = File.OpenRead(ArchivePath))
                {
                    await connection.Images.ImportAsync(Repository, Tag.Value, archive, CancellationToken.None).ConfigureAwait(false);
                }
            }

            await RemoveOtherBuildsAsync(connection, name, verbose).ConfigureAwait(false);
            return name;
        }

        /// <summary>Whether an engine's image name is this module's gateway image of another build (Podman lists it as localhost/...).</summary>
        internal static bool IsOtherBuild(string listed, string current)
        {
            const string podmanLocal = "localhost/";
            var name = listed != null && listed.StartsWith(podmanLocal, StringComparison.Ordinal) ? listed.Substring(podmanLocal.Length) : listed;
            return name != null && name.StartsWith(Repository + ":", StringComparison.Ordinal) && !string.Equals(name, current, StringComparison.Ordinal);
        }

        /// <summary>
        /// Each build of the module loads its own gateway image (the tag is the archive's hash):
        /// without this, every upgrade would leave one behind on every engine. Only this module's
        /// repository; an image a container uses (a gateway of a session still on another build) is kept.
        /// </summary>
        private static async Task RemoveOtherBuildsAsync(DockerConnection connection, string current, Action<string> verbose)
        {
            try
            {
                var tags = await connection.Images.ListTagsAsync(CancellationToken.None).ConfigureAwait(false);
                foreach (var old in tags.Where(t => IsOtherBuild(t, current)))
                {
                    try
                    {
                        await connection.Images.UntagAsync(old, CancellationToken.None).ConfigureAwait(false);
                        verbose?.Invoke($"Removed the egress gateway image of another build of the module, {old}, from {connection.Endpoint}.");
                    }
                    catch (DockerApiException)
                    {
                        // In use by a container, or already gone: either way not ours to force.
                    }
                }
            }
            catch (Exception e) when (!(e is OutOfMemoryException))
            {
                // Only housekeeping: the gateway runs either way.
            }
        }
    }
}
