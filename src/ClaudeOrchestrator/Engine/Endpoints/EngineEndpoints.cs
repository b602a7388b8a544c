using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Text.Json;
using Docker.DotNet;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Endpoints
{
    /// <summary>
    /// Which engine a name means. Without one: what the docker CLI would use (DOCKER_HOST,
    /// DOCKER_CONTEXT, the CLI config's current context), and when none of those names anything
    /// and the default socket is absent, the first rootless Docker or Podman socket that exists
    /// (<see cref="WellKnownSockets"/>). With one: an endpoint URI (it has "://") or a docker
    /// context name.
    /// </summary>
    internal static class EngineEndpoints
    {
        /// <summary>What -Engine takes to mean every known engine.</summary>
        public const string AllEngines = "*";

        private static readonly string[] Schemes = { "unix", "npipe", "tcp", "http", "https", "ssh" };

        /// <summary>A client for <paramref name="engine"/> (null: the default) and how it was chosen.</summary>
        public static (DockerClient Client, string Source) Build(string engine)
        {
            try
            {
                if (engine != null)
                {
                    if (engine.Contains("://"))
                    {
                        var uri = ParseUri(engine);
                        return (ForUri(uri), "-Engine " + engine);
                    }

                    return (new DockerClientBuilder().WithContext(engine).Build(), "docker context " + engine);
                }

                var configured = Configured();
                var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
                if (configured == "DOCKER_HOST" && host.Contains("://"))
                {
                    return (ForUri(ParseUri(host)), configured);
                }

                if (configured != null)
                {
                    return (new DockerClientBuilder().Build(), configured);
                }

                // The default socket when it is there and this user may use it; else the first other one that is.
                var found = WellKnownSockets().FirstOrDefault(c => c.Exists && c.Usable);
                if (found.Endpoint != null && found.Endpoint != DefaultSocket)
                {
                    return (new DockerClientBuilder().WithEndpoint(new Uri(found.Endpoint)).Build(),
                        found.What + " (no DOCKER_HOST or docker context, and " + DefaultSocket + " is absent or not this user's to use)");
                }

                return (new DockerClientBuilder().Build(), "the default socket");
            }
            catch (OrchestratorException)
            {
                throw;
            }
            catch (Exception e)
            {
                var known = Known().Select(k => k.Name).ToList();
                throw new OrchestratorException(ErrorIds.EngineNotFound, ErrorCategory.ObjectNotFound,
                    (engine == null ? "Cannot determine the Docker engine endpoint: " : $"No engine '{engine}': ") + e.Message +
                    (known.Count > 0 ? " Known engines: " + string.Join(", ", known) + "." : string.Empty),
                    engine, e);
            }
        }

        /// <summary>
        /// A client for an endpoint URI; over TCP with TLS when DOCKER_TLS_VERIFY or DOCKER_TLS
        /// asks for it (see <see cref="EngineTls"/>); over ssh through the session's tunnel to
        /// that host (see <see cref="SshTunnel"/>).
        /// </summary>
        private static DockerClient ForUri(Uri uri)
        {
            if (uri.Scheme == "ssh")
            {
                return new DockerClientBuilder().WithEndpoint(new Uri("unix://" + SshTunnel.For(uri).LocalSocket)).Build();
            }

            var builder = new DockerClientBuilder().WithEndpoint(uri);
            var tcp = uri.Scheme == "tcp" || uri.Scheme == "https";
            var tls = tcp ? EngineTls.FromEnvironment() : null;
            return (tls != null ? builder.WithAuthProvider(tls) : builder).Build();
        }

        /// <summary>
        /// The ssh:// endpoint <paramref name="engine"/> (or DOCKER_HOST, for the default) names,
        /// which the client reaches through a local tunnel; null for any other endpoint.
        /// </summary>
        public static string NamedEndpoint(string engine)
        {
            var named = engine != null && engine.Contains("://") ? engine
                : engine == null && Configured() == "DOCKER_HOST" ? Environment.GetEnvironmentVariable("DOCKER_HOST")
                : null;
            return named != null && named.StartsWith("ssh://", StringComparison.OrdinalIgnoreCase) ? named : null;
        }

        private static Uri ParseUri(string engine)
        {
            if (!Uri.TryCreate(engine, UriKind.Absolute, out var uri) || !Schemes.Contains(uri.Scheme, StringComparer.OrdinalIgnoreCase))
            {
                throw new OrchestratorException(ErrorIds.EngineNotFound, ErrorCategory.InvalidArgument,
                    $"'{engine}' is not an engine endpoint: use {string.Join(", ", Schemes.Select(s => s + "://"))} or a docker context name.", engine);
            }

            return uri;
        }

        /// <summary>What names the engine for the docker CLI; null when nothing does.</summary>
        private static string Configured()
        {
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")))
            {
                return "DOCKER_HOST";
            }

            var context = Environment.GetEnvironmentVariable("DOCKER_CONTEXT");
            if (!string.IsNullOrEmpty(context))
            {
                return "DOCKER_CONTEXT " + context;
            }

            context = CurrentContext();
            return context != null && context != "default" ? "docker context " + context + " (the CLI's current context)" : null;
        }

        private static string ConfigDirectory() =>
            Environment.GetEnvironmentVariable("DOCKER_CONFIG") is string dir && dir.Length > 0
                ? dir
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker");

        private static string CurrentContext()
        {
            try
            {
                var file = Path.Combine(ConfigDirectory(), "config.json");
                if (!File.Exists(file))
                {
                    return null;
                }

                using (var doc = JsonDocument.Parse(File.ReadAllBytes(file)))
                {
                    return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("currentContext", out var current) &&
                           current.ValueKind == JsonValueKind.String && current.GetString().Length > 0
                        ? current.GetString()
                        : null;
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is JsonException)
            {
                return null;
            }
        }

        /// <summary>The docker CLI's contexts: name and docker endpoint.</summary>
        public static IReadOnlyList<(string Name, string Endpoint)> Contexts()
        {
            var result = new List<(string, string)>();
            var meta = Path.Combine(ConfigDirectory(), "contexts", "meta");
            try
            {
                if (!Directory.Exists(meta))
                {
                    return result;
                }

                foreach (var file in Directory.GetFiles(meta, "meta.json", SearchOption.AllDirectories))
                {
                    try
                    {
                        using (var doc = JsonDocument.Parse(File.ReadAllBytes(file)))
                        {
                            var root = doc.RootElement;
                            if (root.TryGetProperty("Name", out var name) && root.TryGetProperty("Endpoints", out var endpoints) &&
                                endpoints.TryGetProperty("docker", out var docker) && docker.TryGetProperty("Host", out var host))
                            {
                                result.Add((name.GetString(), host.GetString()));
                            }
                        }
                    }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is JsonException || e is InvalidOperationException)
                    {
                        // One unreadable context does not hide the others.
                    }
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
            }

            return result.OrderBy(c => c.Item1, StringComparer.Ordinal).ToList();
        }

        private static string DefaultSocket => RuntimeInformation.IsOSPlatform(OSPlatform.Windows)
            ? "npipe://./pipe/docker_engine"
            : "unix:///var/run/docker.sock";

        /// <summary>
        /// Sockets engines listen on when nothing is configured, in the order they are tried: the
        /// default (rootful Docker), rootless Docker, rootless then rootful Podman, and the desktop
        /// VMs (Docker Desktop, Podman machine, Colima, Rancher Desktop).
        /// </summary>
        public static IReadOnlyList<(string Endpoint, string What, bool Exists, bool Usable)> WellKnownSockets()
        {
            var list = new List<(string, string, bool, bool)>();
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                foreach (var (pipe, what) in new[]
                {
                    ("docker_engine", "Docker Desktop"),
                    ("podman-machine-default", "Podman machine"),
                    ("dockerDesktopLinuxEngine", "Docker Desktop (Linux engine)"),
                })
                {
                    var exists = PipeExists(pipe);
                    list.Add(("npipe://./pipe/" + pipe, what, exists, exists));
                }

                return list;
            }

            void Add(string path, string what)
            {
                if (!string.IsNullOrEmpty(path) && !list.Any(l => l.Item1 == "unix://" + path))
                {
                    var exists = File.Exists(path);
                    list.Add(("unix://" + path, what, exists, exists && NativeUnix.MayWrite(path)));
                }
            }

            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
            Add("/var/run/docker.sock", "the default socket");
            if (!string.IsNullOrEmpty(runtime))
            {
                Add(Path.Combine(runtime, "docker.sock"), "rootless Docker's socket");
                Add(Path.Combine(runtime, "podman", "podman.sock"), "rootless Podman's socket");
            }

            Add("/run/podman/podman.sock", "rootful Podman's socket");
            Add(Path.Combine(home, ".docker", "run", "docker.sock"), "Docker Desktop's socket");
            Add(Path.Combine(home, ".docker", "desktop", "docker.sock"), "Docker Desktop's socket");
            Add(Path.Combine(home, ".local", "share", "containers", "podman", "machine", "podman.sock"), "Podman machine's socket");
            Add(Path.Combine(home, ".local", "share", "containers", "podman", "machine", "qemu", "podman.sock"), "Podman machine's socket");
            Add(Path.Combine(home, ".colima", "default", "docker.sock"), "Colima's socket");
            Add(Path.Combine(home, ".rd", "docker.sock"), "Rancher Desktop's socket");
            return list;
        }

        private static bool PipeExists(string name)
        {
            try
            {
                return Directory.GetFiles(@"\\.\pipe\").Any(p => string.Equals(Path.GetFileName(p), name, StringComparison.OrdinalIgnoreCase));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException)
            {
                return false;
            }
        }

        /// <summary>
        /// Every engine -Engine * means: the default, each docker context, each well-known socket
        /// that exists, and each engine this session has talked to; one entry per endpoint.
        /// </summary>
        public static IReadOnlyList<(string Name, string Endpoint)> Known()
        {
            var known = new List<(string Name, string Endpoint)>();
            void Add(string name, string endpoint)
            {
                var key = Normalize(endpoint);
                if (key != null && !known.Any(k => Normalize(k.Endpoint) == key))
                {
                    known.Add((name, endpoint));
                }
            }

            foreach (var connection in DockerConnection.All())
            {
                Add(connection.Endpoint, connection.Endpoint);
            }

            foreach (var (name, endpoint) in Contexts())
            {
                Add(name, endpoint);
            }

            foreach (var socket in WellKnownSockets().Where(s => s.Exists))
            {
                Add(socket.Endpoint, socket.Endpoint);
            }

            return known;
        }

        /// <summary>The same engine however its endpoint is written (unix:///x and unix://x/).</summary>
        internal static string Normalize(string endpoint)
        {
            if (string.IsNullOrEmpty(endpoint))
            {
                return null;
            }

            return Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
                ? uri.Scheme.ToLowerInvariant() + "://" + (uri.Scheme == "unix" ? uri.AbsolutePath : uri.Authority + uri.AbsolutePath).TrimEnd('/')
                : endpoint;
        }
    }
}
