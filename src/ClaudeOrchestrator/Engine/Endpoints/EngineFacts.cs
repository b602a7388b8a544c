using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;

namespace ClaudeOrchestrator.Engine.Endpoints
{
    /// <summary>Docker or Podman behind the Docker-compatible API.</summary>
    public enum EngineKind
    {
        Docker,
        Podman,
    }

    /// <summary>
    /// What an engine is, read once per connection from its version and info endpoints: which
    /// engine (Podman answers the same API), whether it runs rootless (its containers' root is
    /// the caller on the host), and what Test-ClaudeEngine reports.
    /// </summary>
    internal sealed class EngineFacts
    {
        public EngineKind Kind { get; private set; }
        public string Version { get; private set; }
        public string ApiVersion { get; private set; }
        public string Os { get; private set; }
        public string Arch { get; private set; }
        public bool Rootless { get; internal set; }
        public bool SELinux { get; private set; }
        public string CgroupVersion { get; private set; }
        public bool MemoryLimit { get; private set; }
        public bool CpuQuota { get; private set; }
        public bool PidsLimit { get; private set; }
        public string InitBinary { get; private set; }
        public string DataRoot { get; private set; }

        /// <summary>The engine's host name and id, which tell this machine's engine from another's.</summary>
        public string Name { get; private set; }

        public string Id { get; private set; }

        /// <summary>True when the engine is a manager of a swarm (it accepts services); its node state otherwise ("inactive", "active" for a worker).</summary>
        public bool SwarmManager { get; private set; }
        public string SwarmState { get; private set; }

        /// <summary>What an engine given in code says about itself (a fake one in unit tests).</summary>
        internal static EngineFacts Given(EngineKind kind, bool swarmManager, string name = "given") =>
            new EngineFacts { Kind = kind, SwarmManager = swarmManager, SwarmState = swarmManager ? "active" : "inactive", Name = name, Id = name, Version = "given", ApiVersion = "1.41" };

        public static async Task<EngineFacts> ReadAsync(ISystemApi daemon, Uri endpoint, CancellationToken cancel)
        {
            var facts = await ReadCompatAsync(daemon, cancel).ConfigureAwait(false);
            if (facts.Kind == EngineKind.Podman && !facts.Rootless)
            {
                // Podman 4 leaves "name=rootless" out of the security options but says Rootless in
                // the same info document, in a field the client library does not map.
                facts.Rootless = await PodmanRootlessAsync(endpoint, cancel).ConfigureAwait(false) ?? false;
            }

            return facts;
        }

        private static async Task<EngineFacts> ReadCompatAsync(ISystemApi daemon, CancellationToken cancel)
        {
            var version = await daemon.GetVersionAsync(cancel).ConfigureAwait(false);
            var info = await daemon.GetSystemInfoAsync(cancel).ConfigureAwait(false);
            var security = info.SecurityOptions ?? Array.Empty<string>();
            var podman = (version.Components ?? Array.Empty<Docker.DotNet.Models.ComponentVersion>())
                .Any(c => c.Name != null && c.Name.IndexOf("Podman", StringComparison.OrdinalIgnoreCase) >= 0);
            return new EngineFacts
            {
                Kind = podman ? EngineKind.Podman : EngineKind.Docker,
                Version = version.Version,
                ApiVersion = version.APIVersion,
                Os = version.Os,
                Arch = version.Arch,
                // Both engines list "name=rootless" among the security options when they run rootless.
                Rootless = security.Any(o => o.IndexOf("name=rootless", StringComparison.OrdinalIgnoreCase) >= 0),
                SELinux = security.Any(o => o.IndexOf("name=selinux", StringComparison.OrdinalIgnoreCase) >= 0),
                CgroupVersion = info.CgroupVersion,
                MemoryLimit = info.MemoryLimit,
                CpuQuota = info.CPUCfsQuota,
                PidsLimit = info.PidsLimit,
                InitBinary = info.InitBinary,
                DataRoot = string.IsNullOrEmpty(info.DockerRootDir) ? null : info.DockerRootDir,
                Name = info.Name,
                Id = info.ID,
                SwarmManager = info.Swarm != null && info.Swarm.ControlAvailable,
                SwarmState = info.Swarm?.LocalNodeState,
            };
        }

        /// <summary>Podman's "Rootless" from GET /info over its unix socket; null when it cannot be read that way.</summary>
        private static async Task<bool?> PodmanRootlessAsync(Uri endpoint, CancellationToken cancel)
        {
            // The module is built against .NET Standard 2.0, which lacks the unix socket endpoint
            // type that every PowerShell 7 runtime has.
            var endpointType = endpoint != null && endpoint.Scheme == "unix"
                ? typeof(Socket).Assembly.GetType("System.Net.Sockets.UnixDomainSocketEndPoint")
                : null;
            if (endpointType == null)
            {
                return null;
            }

            try
            {
                using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
                using (cancel.Register(socket.Dispose))
                {
                    var target = (EndPoint)Activator.CreateInstance(endpointType, endpoint.AbsolutePath);
                    await Task.Factory.FromAsync(socket.BeginConnect, socket.EndConnect, target, null).ConfigureAwait(false);
                    var request = Encoding.ASCII.GetBytes("GET /info HTTP/1.0\r\nHost: engine\r\n\r\n");
                    socket.Send(request);
                    using (var stream = new NetworkStream(socket))
                    using (var all = new MemoryStream())
                    {
                        await stream.CopyToAsync(all, 81920, cancel).ConfigureAwait(false);
                        var text = Encoding.UTF8.GetString(all.ToArray());
                        var body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                        if (body < 0)
                        {
                            return null;
                        }

                        using (var doc = JsonDocument.Parse(text.Substring(body + 4)))
                        {
                            return doc.RootElement.TryGetProperty("Rootless", out var rootless) && rootless.ValueKind == JsonValueKind.True;
                        }
                    }
                }
            }
            catch (Exception e) when (e is SocketException || e is IOException || e is JsonException || e is ObjectDisposedException || e is System.Reflection.TargetInvocationException)
            {
                return null;
            }
        }
    }
}
