using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;

namespace ClaudeOrchestrator.Engine.Endpoints
{
    /// <summary>
    /// One Docker client per endpoint for the whole process, resolved the way the docker CLI
    /// resolves it (DOCKER_HOST, DOCKER_CONTEXT, the current context in the CLI config).
    /// </summary>
    internal sealed partial class DockerConnection
    {
        // Long enough for a loaded engine, short enough that a dead TCP endpoint fails fast.
        internal static readonly TimeSpan ReachTimeout = TimeSpan.FromSeconds(5);

        private static readonly object Gate = new object();

        // By what named them (-Engine's value, or the environment for the default) and by endpoint:
        // two names for one engine share one connection, so its tracker entries and event stream are one.
        private static readonly Dictionary<string, DockerConnection> ByName = new Dictionary<string, DockerConnection>();
        private static readonly Dictionary<string, DockerConnection> ByEndpoint = new Dictionary<string, DockerConnection>();

        /// <summary>
        /// Tasks between their create request and their attach, at most, per engine. A started
        /// container waits a bounded time for its session to attach (the watcher's deadline);
        /// hundreds of creates, starts and attaches sent at once make a loaded engine answer each
        /// attach so late that containers end themselves. As many as the engine serves well (the
        /// bench's raw anchor keeps 16 in flight too) launch at once; the rest wait their turn
        /// before anything exists.
        /// </summary>
        internal const int LaunchesInFlight = 16;

        private readonly SemaphoreSlim _pingGate = new SemaphoreSlim(1, 1);

        /// <summary>The launch slots of <see cref="LaunchesInFlight"/>.</summary>
        private readonly SemaphoreSlim _launches = new SemaphoreSlim(LaunchesInFlight, LaunchesInFlight);

        /// <summary>Waits for one of the <see cref="LaunchesInFlight"/> slots; dispose (or release early) once the launch is attached.</summary>
        internal async Task<LaunchSlot> EnterLaunchAsync(CancellationToken cancel)
        {
            await _launches.WaitAsync(cancel).ConfigureAwait(false);
            return new LaunchSlot(_launches);
        }

        /// <summary>A held launch slot; released once, by whichever comes first: the launch attached, or the launch given up.</summary>
        internal sealed class LaunchSlot : IDisposable
        {
            private SemaphoreSlim _slots;

            public LaunchSlot(SemaphoreSlim slots) => _slots = slots;

            public void Dispose() => Interlocked.Exchange(ref _slots, null)?.Release();
        }
        private volatile bool _reached;
        private volatile string _dataRoot;

        /// <param name="endpoint">The endpoint as named, when the client reaches it another way (ssh://, through a local tunnel).</param>
        private DockerConnection(DockerClient client, string source, string endpoint)
            : this(EngineApi.Of(client), source, endpoint)
        {
        }

        private DockerConnection(EngineApi api, string source, string endpoint)
        {
            _api = api;
            Endpoint = endpoint ?? api.Endpoint?.ToString() ?? "(unknown endpoint)";
            Source = source;
            Events = new EngineEvents(this);
        }

        /// <summary>
        /// A connection to an engine whose API is given (a fake one in unit tests), already
        /// reached, with what it said about itself; never shared through <see cref="For"/>.
        /// </summary>
        internal static DockerConnection Over(EngineApi api, string endpoint, EngineFacts facts) =>
            new DockerConnection(api, "given", endpoint) { Facts = facts, Description = "given", _reached = true, _dataRoot = facts?.DataRoot ?? string.Empty };

        private readonly EngineApi _api;

        public IContainerApi Containers => _api.Containers;
        public IVolumeApi Volumes => _api.Volumes;
        public ISwarmApi Swarm => _api.Swarm;
        public IImageApi Images => _api.Images;
        public INetworkApi Networks => _api.Networks;

        /// <summary>The engine itself: ping, version, info, events.</summary>
        public ISystemApi Daemon => _api.Daemon;

        /// <summary>The engine's container events for the module's containers, one stream shared by every task.</summary>
        public EngineEvents Events { get; private set; }

        /// <summary>The endpoint as the user would write it, e.g. unix:///var/run/docker.sock.</summary>
        public string Endpoint { get; }

        /// <summary>
        /// Whether the engine sees this machine's files: a socket or pipe, or TCP to a loopback
        /// address. An engine anywhere else names its own machine's paths in a bind mount, so a
        /// task there gets its workspace copied (<see cref="WorkspaceTransfer.Auto"/>). A VM
        /// engine reached over TCP that shares the host's files is the user's to declare (Mount).
        /// </summary>
        public bool IsOnThisMachine => OnThisMachine(Endpoint);

        internal static bool OnThisMachine(string endpoint)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
            {
                return true;
            }

            switch (uri.Scheme.ToLowerInvariant())
            {
                case "unix":
                case "npipe":
                    return true;
                default:
                    var host = uri.Host.Trim('[', ']');
                    return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ||
                           System.Net.IPAddress.TryParse(host, out var address) && System.Net.IPAddress.IsLoopback(address);
            }
        }

        /// <summary>How the endpoint was chosen (DOCKER_HOST, a context, a rootless socket found), for Debug output.</summary>
        public string Source { get; }

        /// <summary>Endpoint, engine version and API version, for Debug output; read once per connection.</summary>
        public string Description { get; private set; }

        /// <summary>What the engine is, once it has been reached (null before).</summary>
        public EngineFacts Facts { get; private set; }

        /// <summary>The connection for the current environment, without contacting the engine.</summary>
        public static DockerConnection Current() => For(null);

        /// <summary>
        /// The connection for <paramref name="engine"/> (an endpoint URI or a docker context name;
        /// null for the default), without contacting the engine.
        /// </summary>
        public static DockerConnection For(string engine)
        {
            var name = engine ?? "default|" + string.Join("|",
                Environment.GetEnvironmentVariable("DOCKER_HOST"),
                Environment.GetEnvironmentVariable("DOCKER_CONTEXT"),
                Environment.GetEnvironmentVariable("DOCKER_CONFIG"),
                Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR"),
                Environment.GetEnvironmentVariable("DOCKER_TLS_VERIFY"),
                Environment.GetEnvironmentVariable("DOCKER_TLS"),
                Environment.GetEnvironmentVariable("DOCKER_CERT_PATH"));
            lock (Gate)
            {
                if (ByName.TryGetValue(name, out var connection))
                {
                    return connection;
                }

                var (client, source) = EngineEndpoints.Build(engine);
                var named = EngineEndpoints.NamedEndpoint(engine);
                var key = EngineEndpoints.Normalize(named ?? client.Options.Endpoint?.ToString());
                // One engine reached with other TLS files is another connection, not this one's client.
                key = key == null ? null : key + EngineTls.Identity(client.Options.Endpoint);
                if (key != null && ByEndpoint.TryGetValue(key, out connection))
                {
                    client.Dispose();
                }
                else
                {
                    connection = new DockerConnection(client, source, named);
                    if (key != null)
                    {
                        ByEndpoint[key] = connection;
                    }
                }

                ByName[name] = connection;
                return connection;
            }
        }

        /// <summary>The connection to the engine a task record names (its endpoint; none: the default).</summary>
        public static DockerConnection ForRecorded(string endpoint)
        {
            if (endpoint == null)
            {
                return Current();
            }

            lock (Gate)
            {
                var key = EngineEndpoints.Normalize(endpoint);
                key = key != null && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) ? key + EngineTls.Identity(uri) : key;
                if (key != null && ByEndpoint.TryGetValue(key, out var known))
                {
                    return known;
                }
            }

            return For(endpoint);
        }

        /// <summary>Every connection made so far; process-exit cleanup needs them all.</summary>
        public static IReadOnlyList<DockerConnection> All()
        {
            lock (Gate)
            {
                return new List<DockerConnection>(new HashSet<DockerConnection>(ByName.Values));
            }
        }

        /// <summary>The current connection, pinged once so an unreachable engine fails within seconds.</summary>
        public static Task<DockerConnection> ReachAsync(CancellationToken cancel) => ReachAsync((string)null, cancel);

        /// <summary>The connection for <paramref name="engine"/>, pinged once.</summary>
        public static Task<DockerConnection> ReachAsync(string engine, CancellationToken cancel) => ReachAsync(For(engine), cancel);

        public static async Task<DockerConnection> ReachAsync(DockerConnection connection, CancellationToken cancel)
        {
            await connection.EnsureReachableAsync(cancel).ConfigureAwait(false);
            return connection;
        }

        /// <summary>Null when the engine answers a ping within <paramref name="limit"/>, else why not.</summary>
        public async Task<string> ProblemAsync(TimeSpan limit)
        {
            using (var timeout = new CancellationTokenSource(limit))
            {
                try
                {
                    await Daemon.PingAsync(timeout.Token).ConfigureAwait(false);
                    return null;
                }
                catch (OperationCanceledException)
                {
                    return $"the Docker engine at {Endpoint} gave no answer within {limit.TotalSeconds} s";
                }
                catch (Exception e)
                {
                    return Translate(e).Message;
                }
            }
        }

        private async Task<string> DescribeAsync(CancellationToken cancel)
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel))
            {
                timeout.CancelAfter(ReachTimeout);
                try
                {
                    Facts = await EngineFacts.ReadAsync(Daemon, _api.Endpoint, timeout.Token).ConfigureAwait(false);
                    _dataRoot = Facts.DataRoot ?? string.Empty;
                    return $"{Facts.Kind} engine at {Endpoint} ({Source}): version {Facts.Version}, API {Facts.ApiVersion}" +
                           (Facts.Rootless ? ", rootless" : string.Empty) + $", {Facts.Os}/{Facts.Arch}";
                }
                catch (Exception e) when (!(e is OperationCanceledException) || !cancel.IsCancellationRequested)
                {
                    return $"Engine at {Endpoint} ({Source}): version unknown ({e.GetType().Name})";
                }
            }
        }

        public async Task EnsureReachableAsync(CancellationToken cancel)
        {
            if (_reached)
            {
                return;
            }

            await _pingGate.WaitAsync(cancel).ConfigureAwait(false);
            try
            {
                if (_reached)
                {
                    return;
                }

                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel))
                {
                    timeout.CancelAfter(ReachTimeout);
                    try
                    {
                        await Daemon.PingAsync(timeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                    {
                        throw Unreachable("no answer within " + ReachTimeout.TotalSeconds + " s", null);
                    }
                    catch (Exception e) when (!(e is OperationCanceledException))
                    {
                        throw Translate(e);
                    }
                }

                if (Description == null)
                {
                    Description = await DescribeAsync(cancel).ConfigureAwait(false);
                }

                _reached = true;
            }
            finally
            {
                _pingGate.Release();
            }

            // First contact (or contact again after losing the engine): leftovers of dead sessions go, in the background.
            Reached?.Invoke(this);
        }

        /// <summary>
        /// Raised on the first contact with an engine, and on contact again after losing it; the
        /// module's load wires the orphan sweep to it (the sweep lives above the connections).
        /// Handlers must not block: they start background work.
        /// </summary>
        internal static event Action<DockerConnection> Reached;

        /// <summary>
        /// Where the engine keeps images and containers (Docker's DockerRootDir, Podman's graph
        /// root), asked once per connection; null when the engine does not say.
        /// </summary>
        public async Task<string> DataRootAsync(CancellationToken cancel)
        {
            if (_dataRoot == null)
            {
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel))
                {
                    timeout.CancelAfter(ReachTimeout);
                    try
                    {
                        var info = await Daemon.GetSystemInfoAsync(timeout.Token).ConfigureAwait(false);
                        _dataRoot = info.DockerRootDir ?? string.Empty;
                    }
                    catch (Exception e) when (!(e is OperationCanceledException) || !cancel.IsCancellationRequested)
                    {
                        // Asked again next time; the task still gets every other check.
                        return null;
                    }
                }
            }

            return _dataRoot.Length == 0 ? null : _dataRoot;
        }
    }
}
