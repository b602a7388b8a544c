using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Engine.Egress
{
    /// <summary>
    /// This session's egress gateway on one engine: an internal network (no route out) that the
    /// tasks join, and the gateway's container on it and on the engine's bridge. The module holds
    /// the gateway's stdin for its whole life (orders go in, records come out); when this process
    /// dies the stdin closes and the gateway ends and removes itself, and the sweep takes the
    /// network. Shared by the session's tasks on that engine (<see cref="EgressGateways"/>).
    /// </summary>
    internal sealed class EgressGateway
    {
        public const string GatewayRole = "egress-gateway";
        public const string NetworkRole = "egress-network";

        /// <summary>Where the gateway's own way out is: the engine's default bridge unless this names another network.</summary>
        public const string OutsideNetworkVariable = "CLAUDE_ORCHESTRATOR_GATEWAY_NETWORK";

        private const string Program = "/claude-gateway";
        private const string NoHostAddress = "com.docker.network.bridge.inhibit_ipv4";
        private static readonly TimeSpan AdmitLimit = TimeSpan.FromSeconds(15);

        private readonly DockerConnection _connection;
        private readonly SemaphoreSlim _writeGate = new SemaphoreSlim(1, 1);
        private readonly ConcurrentDictionary<string, TaskCompletionSource<bool>> _admitting = new ConcurrentDictionary<string, TaskCompletionSource<bool>>(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, Action<ClaudeTaskConnection>> _sinks = new ConcurrentDictionary<string, Action<ClaudeTaskConnection>>(StringComparer.Ordinal);
        private MultiplexedStream _stream;
        private TrackedContainer _tracked;
        private Task _reading = Task.CompletedTask;

        private EgressGateway(DockerConnection connection, string network, string name)
        {
            _connection = connection;
            Network = network;
            Name = name;
        }

        /// <summary>The internal network the tasks join.</summary>
        public string Network { get; }

        public string Name { get; }

        /// <summary>The gateway's address on <see cref="Network"/>: the tasks' proxy, model API and name server.</summary>
        public string Address { get; private set; }

        /// <summary>Whether it still runs (its output is still open).</summary>
        public bool Alive => !_reading.IsCompleted;

        /// <summary>Makes the network and the gateway, and waits until the gateway reads its orders.</summary>
        public static async Task<EgressGateway> StartAsync(DockerConnection connection, Action<string> verbose, CancellationToken cancel)
        {
            for (var attempt = 1; ; attempt++)
            {
                var image = await GatewayImage.EnsureAsync(connection, verbose, cancel).ConfigureAwait(false);
                var suffix = ContainerNames.NewName().Substring("claude-".Length);
                var gateway = new EgressGateway(connection, "claude-egress-" + suffix, "claude-gateway-" + suffix);
                try
                {
                    await gateway.LaunchAsync(image, verbose, cancel).ConfigureAwait(false);
                    return gateway;
                }
                catch (Exception e)
                {
                    await gateway.StopAsync().ConfigureAwait(false);
                    if (attempt == 1 && e.InnerException is DockerImageNotFoundException)
                    {
                        // Removed from the engine since it was loaded (by another build of the module, while unused): loaded again.
                        GatewayImage.Forget(connection);
                        continue;
                    }

                    throw;
                }
            }
        }

        private async Task LaunchAsync(string image, Action<string> verbose, CancellationToken cancel)
        {
            var outside = Environment.GetEnvironmentVariable(OutsideNetworkVariable);
            outside = string.IsNullOrWhiteSpace(outside) ? "bridge" : outside.Trim();
            verbose?.Invoke($"Starting the egress gateway {Name} on {_connection.Endpoint}: the tasks' network {Network} has no route out; the gateway's way out is '{outside}'.");
            try
            {
                await CreateNetworkAsync(verbose, cancel).ConfigureAwait(false);

                var creating = ContainerTracker.BeginCreate(Name, Guid.Empty);
                try
                {
                    // Not cancellable: a create abandoned mid-flight could leave a container whose id we never learn.
                    var created = await _connection.Containers.CreateContainerAsync(new CreateContainerParameters
                    {
                        Name = Name,
                        Image = image,
                        Entrypoint = new List<string> { Program },
                        Env = new List<string> { "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "DOTNET_gcServer=0" },
                        Labels = ContainerLabels.ForSession(GatewayRole),
                        AttachStdin = true,
                        AttachStdout = true,
                        AttachStderr = true,
                        OpenStdin = true,
                        StdinOnce = true,
                        // Nothing in it is worth a grace period: an engine that stops it before removing it (Podman) need not wait 10 s.
                        StopTimeout = TimeSpan.FromSeconds(1),
                        HostConfig = new HostConfig
                        {
                            AutoRemove = true,
                            NetworkMode = outside,
                            ReadonlyRootfs = true,
                            CapDrop = new List<string> { "ALL" },
                            // Its name server answers on port 53.
                            CapAdd = new List<string> { "NET_BIND_SERVICE" },
                            SecurityOpt = new List<string> { "no-new-privileges" },
                            Memory = 256L * 1024 * 1024,
                            MemorySwap = 256L * 1024 * 1024,
                            PidsLimit = 1024,
                        },
                    }, CancellationToken.None).ConfigureAwait(false);
                    _tracked = new TrackedContainer(created.ID, Name, null, null, null, Guid.Empty, _connection);
                }
                finally
                {
                    ContainerTracker.EndCreate(Name, creating, _tracked);
                }

                await _connection.Networks.ConnectNetworkAsync(Network, new NetworkConnectParameters { Container = _tracked.Id }, cancel).ConfigureAwait(false);
                _stream = await _connection.Containers.AttachContainerAsync(_tracked.Id,
                    new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true }, cancel).ConfigureAwait(false);
                _reading = Task.Run(ReadAsync);
                await _connection.Containers.StartContainerAsync(_tracked.Id, new ContainerStartParameters(), cancel).ConfigureAwait(false);
                var inspected = await _connection.Containers.InspectContainerAsync(_tracked.Id, cancel).ConfigureAwait(false);
                var networks = inspected.NetworkSettings?.Networks ?? new Dictionary<string, EndpointSettings>();
                Address = networks.TryGetValue(Network, out var inside) ? inside.IPAddress : null;
                if (string.IsNullOrEmpty(Address))
                {
                    throw new OrchestratorException(ErrorIds.GatewayFailed, ErrorCategory.ConnectionError,
                        $"The egress gateway {Name} got no address on its network {Network}.", Name);
                }

                // The engine's host as the gateway sees it (each network's gateway address): never a destination.
                foreach (var hostAddress in networks.Values.Select(n => n.Gateway).Where(a => !string.IsNullOrEmpty(a)).Distinct())
                {
                    await SendAsync(GatewayProtocol.Line(GatewayProtocol.Deny, hostAddress), cancel).ConfigureAwait(false);
                }

                if (Uri.TryCreate(_connection.Endpoint, UriKind.Absolute, out var endpoint) && IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var engineAddress) && !IPAddress.IsLoopback(engineAddress))
                {
                    await SendAsync(GatewayProtocol.Line(GatewayProtocol.Deny, engineAddress.ToString()), cancel).ConfigureAwait(false);
                }
            }
            catch (DockerApiException e)
            {
                throw new OrchestratorException(ErrorIds.GatewayFailed, ErrorCategory.ConnectionError,
                    $"The engine at {_connection.Endpoint} could not start the egress gateway: {EngineErrors.ApiMessage(e)}. Pass -Network none for an offline task, or -Network bridge to opt out into open egress.", Name, e);
            }
            catch (Exception e) when (!(e is OrchestratorException) && !(e is OperationCanceledException))
            {
                throw _connection.Translate(e);
            }
        }

        /// <summary>
        /// The tasks' network: internal (no route out), and where the engine allows it without an
        /// address of the host on its bridge, so a task cannot reach the host's own services
        /// through it either. Podman refuses that option: there the bridge keeps its address.
        /// </summary>
        private async Task CreateNetworkAsync(Action<string> verbose, CancellationToken cancel)
        {
            NetworksCreateParameters Parameters(bool hostless) => new NetworksCreateParameters
            {
                Name = Network,
                Driver = "bridge",
                Internal = true,
                Labels = ContainerLabels.ForSession(NetworkRole),
                Options = hostless ? new Dictionary<string, string> { [NoHostAddress] = "true" } : null,
            };

            try
            {
                await _connection.Networks.CreateNetworkAsync(Parameters(true), cancel).ConfigureAwait(false);
            }
            catch (DockerApiException e) when (EngineErrors.ApiMessage(e).IndexOf(NoHostAddress, StringComparison.Ordinal) >= 0)
            {
                await _connection.Networks.CreateNetworkAsync(Parameters(false), cancel).ConfigureAwait(false);
                verbose?.Invoke($"The engine at {_connection.Endpoint} keeps an address of its host on the tasks' network {Network} (it refuses {NoHostAddress}): a service the host offers on all its addresses can be reached from a task there.");
            }
        }

        /// <summary>
        /// Lets a task's container (at <paramref name="address"/> on <see cref="Network"/>) through
        /// to what <paramref name="allowed"/> names, with its token swapped for the credential on
        /// the model API route; returns once the gateway has it. Its records go to <paramref name="sink"/>.
        /// </summary>
        public async Task AdmitAsync(string taskId, string address, string token, IEnumerable<AllowedHost> allowed, ModelCredential credential, Action<ClaudeTaskConnection> sink, CancellationToken cancel)
        {
            _sinks[taskId] = sink;
            var answered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _admitting[taskId] = answered;
            await SendAsync(GatewayProtocol.Line(GatewayProtocol.Admit, taskId, address, token, string.Join(",", allowed.Select(a => a.ToString())),
                credential?.Header ?? string.Empty, credential?.Value ?? string.Empty, credential?.Upstream ?? string.Empty), cancel).ConfigureAwait(false);
            using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel))
            {
                limit.CancelAfter(AdmitLimit);
                var done = await Task.WhenAny(answered.Task, _reading, Task.Delay(Timeout.Infinite, limit.Token)).ConfigureAwait(false);
                cancel.ThrowIfCancellationRequested();
                if (done != answered.Task)
                {
                    throw new OrchestratorException(ErrorIds.GatewayFailed, ErrorCategory.ConnectionError,
                        _reading.IsCompleted ? $"The egress gateway {Name} has ended; the task cannot reach the network." : $"The egress gateway {Name} did not admit the task within {AdmitLimit.TotalSeconds:0} s.", Name);
                }
            }
        }

        /// <summary>The task's token is refused from now on; records of its last connections still arrive.</summary>
        public async Task EndAsync(string taskId)
        {
            try
            {
                await SendAsync(GatewayProtocol.Line(GatewayProtocol.End, taskId), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A gateway that is gone refuses every token already.
            }
        }

        /// <summary>Closes its stdin (it ends and the engine removes it), confirms it gone, then removes the network.</summary>
        public async Task StopAsync()
        {
            if (_stream != null)
            {
                try
                {
                    _stream.CloseWrite();
                }
                catch (Exception)
                {
                    // Removed below either way.
                }
            }

            if (_tracked != null)
            {
                await Task.WhenAny(_reading, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
                var outcome = await ContainerRemover.RemoveConfirmedAsync(_connection, _tracked.Id, Name).ConfigureAwait(false);
                ContainerTracker.Settle(outcome, CleanupReason.Finished);
                if (!outcome.Removed)
                {
                    // The engine cannot be reached: the attach is gone with it, so the gateway's stdin
                    // closed and it ends by itself; the sweep takes what is left. Not this session's to retry.
                    ContainerTracker.Forget(_tracked.Id);
                }
            }

            _stream?.Dispose();
            await NetworkObjects.RemoveAsync(_connection, Network, CancellationToken.None).ConfigureAwait(false);
        }

        private async Task SendAsync(string line, CancellationToken cancel)
        {
            var bytes = Encoding.UTF8.GetBytes(line);
            await _writeGate.WaitAsync(cancel).ConfigureAwait(false);
            try
            {
                await _stream.WriteAsync(bytes, 0, bytes.Length, cancel).ConfigureAwait(false);
            }
            finally
            {
                _writeGate.Release();
            }
        }

        private async Task ReadAsync()
        {
            var buffer = new byte[16384];
            var line = new StringBuilder();
            var decoder = Encoding.UTF8.GetDecoder();
            var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
            try
            {
                while (true)
                {
                    var read = await _stream.ReadOutputAsync(buffer, 0, buffer.Length, CancellationToken.None).ConfigureAwait(false);
                    if (read.EOF)
                    {
                        break;
                    }

                    if (read.Target != MultiplexedStream.TargetStream.StandardOut)
                    {
                        continue;
                    }

                    var count = decoder.GetChars(buffer, 0, read.Count, chars, 0);
                    for (var i = 0; i < count; i++)
                    {
                        if (chars[i] == '\n')
                        {
                            Handle(line.ToString());
                            line.Clear();
                        }
                        else
                        {
                            line.Append(chars[i]);
                        }
                    }
                }
            }
            catch (Exception)
            {
                // The gateway or the engine went away: every waiting admission fails below.
            }

            foreach (var waiting in _admitting.Values)
            {
                waiting.TrySetResult(false);
            }
        }

        private void Handle(string line)
        {
            var fields = GatewayProtocol.Fields(line);
            switch (fields[0])
            {
                case GatewayProtocol.Admitted when fields.Length > 1:
                    if (_admitting.TryRemove(fields[1], out var waiting))
                    {
                        waiting.TrySetResult(true);
                    }

                    break;
                case GatewayProtocol.Connection:
                    var record = ConnectionLine.Parse(line);
                    if (record != null && _sinks.TryGetValue(record.TaskId ?? string.Empty, out var sink))
                    {
                        sink(record);
                    }

                    break;
            }
        }
    }

    /// <summary>The caller's credential for the model API, as the gateway puts it on a request: it never enters a task's container.</summary>
    internal sealed class ModelCredential
    {
        public const string DefaultUpstream = "https://api.anthropic.com";

        /// <summary>The variables a credential comes from, in the order one is taken, with the header it becomes.</summary>
        public static readonly IReadOnlyList<KeyValuePair<string, string>> Variables = new[]
        {
            new KeyValuePair<string, string>("ANTHROPIC_API_KEY", "x-api-key"),
            new KeyValuePair<string, string>("ANTHROPIC_AUTH_TOKEN", "Authorization"),
            new KeyValuePair<string, string>("CLAUDE_CODE_OAUTH_TOKEN", "Authorization"),
        };

        public const string BaseUrlVariable = "ANTHROPIC_BASE_URL";

        /// <summary>The variable it came from (the task's container gets the task's token under that name).</summary>
        public string Variable { get; set; }

        public string Header { get; set; }

        public string Value { get; set; }

        public string Upstream { get; set; }

        public override string ToString() => $"{Variable} toward {Upstream}";
    }
}
