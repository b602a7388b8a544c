using System;
using System.Collections.Concurrent;
using System.IO;
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
    /// asked and nothing of the agent's image is used.
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

        private static async Task<string> LoadAsync(DockerConnection connection, Action<string> verbose)
        {
            var name = Repository + ":" + Tag.Value;
            try
            {
                await connection.Images.InspectImageAsync(name, CancellationToken.None).ConfigureAwait(false);
                return name;
            }
            catch (DockerImageNotFoundException)
            {
            }
            catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
            }

            verbose?.Invoke($"Loading the egress gateway's image {name} into {connection.Endpoint} (once per engine).");
            using (var archive = File.OpenRead(ArchivePath))
            {
                await connection.Images.ImportAsync(Repository, Tag.Value, archive, CancellationToken.None).ConfigureAwait(false);
            }

            return name;
        }
    }
}
