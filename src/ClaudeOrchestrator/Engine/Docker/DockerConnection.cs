using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// One Docker client per endpoint for the whole process, resolved the way the docker CLI
    /// resolves it (DOCKER_HOST, DOCKER_CONTEXT, the current context in the CLI config).
    /// </summary>
    internal sealed class DockerConnection
    {
        // Long enough for a loaded engine, short enough that a dead TCP endpoint fails fast.
        internal static readonly TimeSpan ReachTimeout = TimeSpan.FromSeconds(5);

        private static readonly object Gate = new object();
        private static readonly Dictionary<string, DockerConnection> Connections = new Dictionary<string, DockerConnection>();

        private readonly SemaphoreSlim _pingGate = new SemaphoreSlim(1, 1);
        private volatile bool _reached;
        private volatile string _dataRoot;

        private DockerConnection(DockerClient client)
        {
            Client = client;
            Endpoint = client.Options.Endpoint?.ToString() ?? "(unknown endpoint)";
            Events = new EngineEvents(this);
        }

        public DockerClient Client { get; }

        /// <summary>The engine's die/destroy events for the module's containers, one stream shared by every task.</summary>
        public EngineEvents Events { get; private set; }

        /// <summary>The endpoint as the user would write it, e.g. unix:///var/run/docker.sock.</summary>
        public string Endpoint { get; }

        /// <summary>Endpoint, engine version and API version, for Debug output; read once per connection.</summary>
        public string Description { get; private set; }

        /// <summary>The connection for the current environment, without contacting the engine.</summary>
        public static DockerConnection Current()
        {
            var key = string.Join("|",
                Environment.GetEnvironmentVariable("DOCKER_HOST"),
                Environment.GetEnvironmentVariable("DOCKER_CONTEXT"),
                Environment.GetEnvironmentVariable("DOCKER_CONFIG"));
            lock (Gate)
            {
                if (!Connections.TryGetValue(key, out var connection))
                {
                    DockerClient client;
                    try
                    {
                        client = new DockerClientBuilder().Build();
                    }
                    catch (Exception e)
                    {
                        throw new OrchestratorException(ErrorIds.EngineUnreachable, ErrorCategory.ConnectionError,
                            "Cannot determine the Docker engine endpoint: " + e.Message, null, e);
                    }

                    connection = new DockerConnection(client);
                    Connections[key] = connection;
                }

                return connection;
            }
        }

        /// <summary>Every connection made so far; process-exit cleanup needs them all.</summary>
        public static IReadOnlyList<DockerConnection> All()
        {
            lock (Gate)
            {
                return new List<DockerConnection>(Connections.Values);
            }
        }

        /// <summary>The current connection, pinged once so an unreachable engine fails within seconds.</summary>
        public static async Task<DockerConnection> ReachAsync(CancellationToken cancel)
        {
            var connection = Current();
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
                    await Client.System.PingAsync(timeout.Token).ConfigureAwait(false);
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
                    var version = await Client.System.GetVersionAsync(timeout.Token).ConfigureAwait(false);
                    return $"Docker engine at {Endpoint}: version {version.Version}, API {version.APIVersion} (minimum {version.MinAPIVersion}), {version.Os}/{version.Arch}";
                }
                catch (Exception e) when (!(e is OperationCanceledException) || !cancel.IsCancellationRequested)
                {
                    return $"Docker engine at {Endpoint}: version unknown ({e.GetType().Name})";
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
                        await Client.System.PingAsync(timeout.Token).ConfigureAwait(false);
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
            OrphanSweeper.EnsureSwept(this);
        }

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
                        var info = await Client.System.GetSystemInfoAsync(timeout.Token).ConfigureAwait(false);
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

        /// <summary>Turns a transport failure into the error users see; API errors pass through.</summary>
        public Exception Translate(Exception e)
        {
            if (e is OrchestratorException || e is DockerApiException || e is OperationCanceledException)
            {
                return e;
            }

            var socket = FindSocketException(e);
            if (socket != null && socket.SocketErrorCode == SocketError.AccessDenied)
            {
                _reached = false;
                return new OrchestratorException(ErrorIds.EnginePermissionDenied, ErrorCategory.PermissionDenied,
                    $"Permission denied connecting to the Docker engine at {Endpoint}. " +
                    "Add your user to the 'docker' group (then log in again) or point DOCKER_HOST at an engine you may use.",
                    Endpoint, e);
            }

            if (e is HttpRequestException || e is IOException || e is SocketException || e is TimeoutException)
            {
                _reached = false;
                return Unreachable(DescribeReason(e, socket), e);
            }

            return e;
        }

        private OrchestratorException Unreachable(string reason, Exception inner) =>
            new OrchestratorException(ErrorIds.EngineUnreachable, ErrorCategory.ConnectionError,
                $"Cannot reach the Docker engine at {Endpoint}: {reason}. Is the Docker daemon running?",
                Endpoint, inner);

        private string DescribeReason(Exception e, SocketException socket)
        {
            if (Endpoint.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
            {
                var path = new Uri(Endpoint).LocalPath;
                if (!File.Exists(path))
                {
                    return "the socket " + path + " does not exist";
                }
            }

            return socket != null ? socket.Message : e.Message;
        }

        private static SocketException FindSocketException(Exception e)
        {
            for (var current = e; current != null; current = current.InnerException)
            {
                if (current is SocketException socket)
                {
                    return socket;
                }
            }

            return null;
        }
    }
}
