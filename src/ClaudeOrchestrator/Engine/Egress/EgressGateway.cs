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

        /// <summary>The gateway's program in its image (network holders run it too).</summary>
        public const string Program = "/claude-gateway";
        private const string NoHostAddress = "com.docker.network.bridge.inhibit_ipv4";
        private const string NoMasquerade = "com.docker.network.bridge.enable_ip_masquerade";
        private static readonly TimeSpan AdmitLimit = TimeSpan.FromSeconds(15);

        private readonly DockerConnection _connection;
        private readonly SemaphoreSlim _writeGate = new SemaphoreSlim(1, 1);
        private readonly ConcurrentDictionary<string, TaskCompletionSource<bool>> _admitting = new ConcurrentDictionary<string, TaskCompletionSource<bool>>(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, Action<ClaudeTaskConnection>> _sinks = new ConcurrentDictionary<string, Action<ClaudeTaskConnection>>(StringComparer.Ordinal);
        private readonly TaskCompletionSource<string> _routing = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
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

        /// <summary>
        /// Whether the gateway is the tasks' router (their default route leads to it, and every packet
        /// sent past the proxy is refused and recorded there), rather than their network being internal.
        /// </summary>
        public bool Routes { get; private set; }

        /// <summary>Its network holders, made ahead for the tasks' containers; null until it runs, and on Podman.</summary>
        public NetworkHolders Holders { get; private set; }

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
                await CreateNetworkAsync(outside, verbose, cancel).ConfigureAwait(false);

                var creating = ContainerTracker.BeginCreate(Name, Guid.Empty);
                try
                {
                    // Not cancellable: a create abandoned mid-flight could leave a container whose id we never learn.
                    var created = await _connection.Containers.CreateContainerAsync(ContainerOfImage(Name, image, GatewayRole, new List<string> { Program },
                        new List<string> { "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "DOTNET_gcServer=0" }, new HostConfig
                        {
                            NetworkMode = outside,
                            // Its name server answers on port 53; as the tasks' router it reads and answers their packets.
                            CapAdd = Routes ? new List<string> { "NET_BIND_SERVICE", "NET_RAW" } : new List<string> { "NET_BIND_SERVICE" },
                            // Never a way out for what a task sends it: the packets it receives as their router go nowhere.
                            Sysctls = Routes ? new Dictionary<string, string> { ["net.ipv4.ip_forward"] = "0" } : null,
                            Memory = 256L * 1024 * 1024,
                            MemorySwap = 256L * 1024 * 1024,
                            PidsLimit = 1024,
                        }), CancellationToken.None).ConfigureAwait(false);
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

                if (Routes)
                {
                    await RouteAsync(verbose, cancel).ConfigureAwait(false);
                }

                // Podman keeps a container whose network another shares until that one is removed, and
                // its own removal of an ended holder then fails for good: there the tasks join the network.
                if (_connection.Facts?.Kind != EngineKind.Podman)
                {
                    Holders = new NetworkHolders(_connection, image, Network, Address);
                    Holders.Fill();
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
        /// A container of the gateway's image (the gateway, a network holder): attached whole, so it
        /// ends when its stdin closes (the session is gone) and an engine that removes a container
        /// whose client went away (Podman) removes it too; removed by the engine when it ends, with
        /// no grace period worth waiting for; read-only, with every capability dropped but what
        /// <paramref name="host"/> adds back.
        /// </summary>
        internal static CreateContainerParameters ContainerOfImage(string name, string image, string role, IList<string> entrypoint, IList<string> environment, HostConfig host)
        {
            host.AutoRemove = true;
            host.ReadonlyRootfs = true;
            host.CapDrop = new List<string> { "ALL" };
            host.SecurityOpt = new List<string> { "no-new-privileges" };
            return new CreateContainerParameters
            {
                Name = name,
                Image = image,
                Entrypoint = entrypoint,
                Env = environment,
                Labels = ContainerLabels.ForSession(role),
                AttachStdin = true,
                AttachStdout = true,
                AttachStderr = true,
                OpenStdin = true,
                StdinOnce = true,
                StopTimeout = TimeSpan.FromSeconds(1),
                HostConfig = host,
            };
        }

        /// <summary>
        /// The tasks' network. Where the engine allows a bridge without an address of its host, the
        /// network has none and no masquerade: the tasks' default route then leads to an address
        /// nobody holds but the gateway, which answers for it (<see cref="RouteAsync"/>) and
        /// forwards nothing, so a packet sent past the proxy is refused and recorded rather than
        /// lost. Otherwise (Podman refuses that option, and when the engine would make the tasks'
        /// network the gateway's own default route) the network is internal: the host keeps an
        /// address on it, and packets past the proxy are dropped by the engine unrecorded.
        /// </summary>
        private async Task CreateNetworkAsync(string outside, Action<string> verbose, CancellationToken cancel)
        {
            NetworksCreateParameters Parameters(bool routed) => new NetworksCreateParameters
            {
                Name = Network,
                Driver = "bridge",
                Internal = !routed,
                Labels = ContainerLabels.ForSession(NetworkRole),
                Options = routed ? new Dictionary<string, string> { [NoHostAddress] = "true", [NoMasquerade] = "false" } : null,
            };

            // A container on several networks takes its default route from the one whose name sorts first
            // (API 1.41 has no priority to give): the gateway's must stay its way out.
            var routed = string.CompareOrdinal(outside, Network) < 0;
            if (!routed)
            {
                verbose?.Invoke($"The gateway's way out '{outside}' sorts after the tasks' network {Network}, which would become the gateway's default route: the tasks' network is internal, and packets sent past the proxy are dropped unrecorded.");
                await _connection.Networks.CreateNetworkAsync(Parameters(false), cancel).ConfigureAwait(false);
                return;
            }

            try
            {
                await _connection.Networks.CreateNetworkAsync(Parameters(true), cancel).ConfigureAwait(false);
                Routes = true;
            }
            catch (DockerApiException e) when (EngineErrors.ApiMessage(e).IndexOf(NoHostAddress, StringComparison.Ordinal) >= 0)
            {
                await _connection.Networks.CreateNetworkAsync(Parameters(false), cancel).ConfigureAwait(false);
                verbose?.Invoke($"The engine at {_connection.Endpoint} keeps an address of its host on the tasks' network {Network} (it refuses {NoHostAddress}): a service the host offers on all its addresses can be reached from a task there, and packets sent past the proxy are dropped unrecorded.");
            }
        }

        /// <summary>Makes the gateway answer for the tasks' router address; without it they have no way out at all, only no record of what they send past the proxy.</summary>
        private async Task RouteAsync(Action<string> verbose, CancellationToken cancel)
        {
            var network = await _connection.Networks.InspectNetworkAsync(Network, cancel).ConfigureAwait(false);
            var router = network.IPAM?.Config?.Select(c => c.Gateway).FirstOrDefault(g => IPAddress.TryParse(g, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
            string answer = null;
            if (router != null)
            {
                await SendAsync(GatewayProtocol.Line(GatewayProtocol.Route, router, Address), cancel).ConfigureAwait(false);
                var done = await Task.WhenAny(_routing.Task, _reading, Task.Delay(AdmitLimit, cancel)).ConfigureAwait(false);
                cancel.ThrowIfCancellationRequested();
                answer = done == _routing.Task ? _routing.Task.Result : "no answer";
            }

            if (answer == null || !answer.StartsWith(GatewayProtocol.Routing + "\t", StringComparison.Ordinal))
            {
                Routes = false;
                verbose?.Invoke($"The egress gateway {Name} does not answer for the tasks' router ({(router == null ? "the network has no gateway address" : answer)}): the tasks have no way out past the proxy, and what they send there is not recorded.");
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

        /// <summary>Removes its network holders, closes its stdin (it ends and the engine removes it), confirms it gone, then removes the network.</summary>
        public async Task StopAsync()
        {
            if (Holders != null)
            {
                await Holders.StopAsync().ConfigureAwait(false);
            }

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
                case GatewayProtocol.Routing:
                    _routing.TrySetResult(line);
                    break;
                case GatewayProtocol.Problem when fields.Length > 1 && fields[1].StartsWith(GatewayProtocol.Route + ":", StringComparison.Ordinal):
                    _routing.TrySetResult(fields[1]);
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
