using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Endpoints;

namespace ClaudeOrchestrator.Engine.Egress
{
    /// <summary>
    /// How one task's container reaches the network, and the record of every attempt it makes.
    /// The caller's model API credential never enters the container: the container gets a token
    /// of its own under the same variable, which the gateway swaps for the credential (Gateway,
    /// Open) and which opens nothing at all offline. The one place a backend asks about egress:
    /// it shapes the container (<see cref="Shape"/>), joins it (<see cref="JoinAsync"/>) before
    /// the start and admits it (<see cref="AdmitAsync"/>) before the agent runs.
    /// </summary>
    internal sealed class TaskEgress
    {
        private static readonly string[] ProxyVariables = { "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy" };
        private static readonly string[] NoProxyVariables = { "NO_PROXY", "no_proxy" };

        private readonly string _taskId;
        private readonly IReadOnlyList<AllowedHost> _allowed;
        private readonly ModelCredential _credential;
        private readonly string _recordFile;
        private readonly Action<string> _warning;
        private readonly object _gate = new object();
        private readonly HashSet<string> _warned = new HashSet<string>(StringComparer.Ordinal);
        private DockerConnection _connection;
        private EgressGateway _gateway;
        private NetworkHolder _holder;
        private Task _opening = Task.CompletedTask;
        private int _allowedCount;
        private int _refusedCount;

        private TaskEgress(string taskId, ClaudeTaskEgress mode, IReadOnlyList<AllowedHost> allowed, ModelCredential credential, string recordFile, Action<string> warning)
        {
            _taskId = taskId;
            Mode = mode;
            _allowed = allowed;
            _credential = credential;
            _recordFile = recordFile;
            _warning = warning;
            Token = "claude-task-" + taskId + "-" + NewSecret();
        }

        public ClaudeTaskEgress Mode { get; }

        /// <summary>What the container holds instead of the credential: it means nothing anywhere but at this task's gateway, and only while the task runs.</summary>
        public string Token { get; }

        /// <param name="environment">The task's environment as planned (credential variables included); it is not changed.</param>
        /// <param name="recordFile">Where the task's connection records go (one line each); null for none.</param>
        /// <param name="warning">One line per kind of refused attempt, for the task's live output.</param>
        public static TaskEgress For(string taskId, ClaudeTaskEgress mode, IReadOnlyList<AllowedHost> allowed, IReadOnlyDictionary<string, string> environment, string recordFile, Action<string> warning)
        {
            ModelCredential credential = null;
            foreach (var variable in ModelCredential.Variables)
            {
                if (environment.TryGetValue(variable.Key, out var value) && !string.IsNullOrEmpty(value))
                {
                    credential = new ModelCredential
                    {
                        Variable = variable.Key,
                        Header = variable.Value,
                        Value = variable.Value == "Authorization" ? "Bearer " + value : value,
                        Upstream = environment.TryGetValue(ModelCredential.BaseUrlVariable, out var upstream) && !string.IsNullOrWhiteSpace(upstream)
                            ? upstream.Trim() : ModelCredential.DefaultUpstream,
                    };
                    break;
                }
            }

            return new TaskEgress(taskId, mode, allowed ?? Array.Empty<AllowedHost>(), credential, recordFile, warning);
        }

        /// <summary>Whether the task needs the session's gateway on its engine: by default, and with open egress to keep the credential out.</summary>
        public bool NeedsGateway => Mode == ClaudeTaskEgress.Gateway || (Mode == ClaudeTaskEgress.Open && _credential != null);

        /// <summary>The session's gateway on the task's engine, started if need be; a no-op when the task needs none.</summary>
        /// <remarks>Begun, not awaited: the gateway starts while the task's branch and checkout are made; <see cref="ReadyAsync"/> waits for it.</remarks>
        public void Open(DockerConnection connection, Action<string> verbose, CancellationToken cancel)
        {
            if (NeedsGateway)
            {
                _connection = connection;
                _opening = OpenAsync(verbose, cancel);
            }
        }

        /// <summary>The gateway is up (or the reason it is not, thrown); at once when the task needs none.</summary>
        public Task ReadyAsync() => _opening;

        /// <summary>
        /// The gateway, and with it by default a network holder whose network the container will
        /// share when one is ready or being made: the container then starts without joining a
        /// network, and is admitted at once by the holder's address (else after its start, by its own).
        /// </summary>
        private async Task OpenAsync(Action<string> verbose, CancellationToken cancel)
        {
            _gateway = await EgressGateways.AcquireAsync(_connection, verbose, cancel).ConfigureAwait(false);
            _holder = Mode == ClaudeTaskEgress.Gateway && _gateway.Holders != null ? await _gateway.Holders.TakeAsync(cancel).ConfigureAwait(false) : null;
            if (_holder != null)
            {
                verbose?.Invoke($"Task {_taskId}: its container shares the network of {_holder.Name} ({_holder.Address}) on {_gateway.Network}.");
                await _gateway.AdmitAsync(_taskId, _holder.Address, Token, _allowed, _credential, Record, cancel).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// The container's network, name server and environment: the credential variables and
        /// any endpoint the caller set are replaced by the task's token and the gateway's routes.
        /// </summary>
        public void Shape(HostConfig host, IList<string> environment)
        {
            if (Mode == ClaudeTaskEgress.Open && _gateway == null && _credential != null)
            {
                // A swarm's service with open egress: there is no gateway there to hold the credential.
                return;
            }

            Remove(environment, ModelCredential.Variables.Select(v => v.Key).Concat(new[] { ModelCredential.BaseUrlVariable }));
            if (_credential != null)
            {
                environment.Add(_credential.Variable + "=" + Token);
            }

            switch (Mode)
            {
                case ClaudeTaskEgress.Offline:
                    host.NetworkMode = "none";
                    break;
                case ClaudeTaskEgress.Gateway:
                    if (_holder != null)
                    {
                        // The holder's network, name server (the gateway: it refuses and records every query) and address.
                        host.NetworkMode = "container:" + _holder.Id;
                    }
                    else
                    {
                        host.NetworkMode = _gateway.Network;
                        // Queries reach the gateway, which refuses and records them: no name leaves by DNS.
                        host.DNS = new List<string> { _gateway.Address };
                    }

                    Remove(environment, ProxyVariables.Concat(NoProxyVariables));
                    foreach (var name in ProxyVariables)
                    {
                        environment.Add($"{name}=http://{_gateway.Address}:{GatewayProtocol.ProxyPort}");
                    }

                    foreach (var name in NoProxyVariables)
                    {
                        environment.Add($"{name}={_gateway.Address},localhost,127.0.0.1");
                    }

                    environment.Add($"{ModelCredential.BaseUrlVariable}=http://{_gateway.Address}:{GatewayProtocol.ApiPort}");
                    if (!environment.Any(e => e.StartsWith("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=", StringComparison.Ordinal)))
                    {
                        // Telemetry and update checks would only be refused, one warning each.
                        environment.Add("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1");
                    }

                    break;
                case ClaudeTaskEgress.Open:
                    if (_gateway != null)
                    {
                        environment.Add($"{ModelCredential.BaseUrlVariable}=http://{_gateway.Address}:{GatewayProtocol.ApiPort}");
                        Remove(environment, NoProxyVariables);
                        foreach (var name in NoProxyVariables)
                        {
                            environment.Add($"{name}={_gateway.Address},localhost,127.0.0.1");
                        }
                    }

                    break;
            }
        }

        /// <summary>With open egress, the created container also joins the gateway's network (for the model API); before it starts.</summary>
        public async Task JoinAsync(string containerId, CancellationToken cancel)
        {
            if (Mode == ClaudeTaskEgress.Open && _gateway != null)
            {
                await _connection.Networks.ConnectNetworkAsync(_gateway.Network, new NetworkConnectParameters { Container = containerId }, cancel).ConfigureAwait(false);
            }
        }

        /// <summary>Tells the gateway the started container's address and what it may reach; returns once the gateway has it (before the agent runs).</summary>
        public async Task AdmitAsync(string containerId, CancellationToken cancel)
        {
            if (_gateway == null || _holder != null)
            {
                // None needed, or admitted already by the holder's address.
                return;
            }

            var inspected = await _connection.Containers.InspectContainerAsync(containerId, cancel).ConfigureAwait(false);
            var address = inspected.NetworkSettings?.Networks != null && inspected.NetworkSettings.Networks.TryGetValue(_gateway.Network, out var endpoint) ? endpoint.IPAddress : null;
            if (string.IsNullOrEmpty(address))
            {
                if (inspected.State != null && !inspected.State.Running)
                {
                    // Already ended (an image without a shell, say), and its endpoint with it: nothing to admit; its exit says why.
                    return;
                }

                throw new Common.OrchestratorException(Common.ErrorIds.GatewayFailed, System.Management.Automation.ErrorCategory.ConnectionError,
                    $"The task's container has no address on the gateway's network {_gateway.Network}.", containerId);
            }

            var allowed = Mode == ClaudeTaskEgress.Gateway ? _allowed : Array.Empty<AllowedHost>();
            await _gateway.AdmitAsync(_taskId, address, Token, allowed, _credential, Record, cancel).ConfigureAwait(false);
        }

        /// <summary>The task has ended: its token is refused from now on, and its use of the gateway is handed back.</summary>
        /// <param name="containersGone">Whether every container of the task is confirmed gone: its network holder may then serve another task.</param>
        public async Task CloseAsync(bool containersGone)
        {
            // An opening still under way ends first (its failure was the task's to report), so its use is handed back too.
            await Task.WhenAny(_opening).ConfigureAwait(false);
            var gateway = _gateway;
            _gateway = null;
            if (gateway == null)
            {
                return;
            }

            await gateway.EndAsync(_taskId).ConfigureAwait(false);
            gateway.Holders?.Release(_holder, containersGone);
            _holder = null;
            EgressGateways.Release(_connection, gateway);
        }

        /// <summary>What the result and record say about the task's network.</summary>
        public void ApplyTo(ClaudeTaskResult result)
        {
            result.Egress = Mode;
            lock (_gate)
            {
                result.ConnectionsAllowed = Mode == ClaudeTaskEgress.Offline ? (int?)null : _allowedCount;
                result.ConnectionsRefused = Mode == ClaudeTaskEgress.Offline ? (int?)null : _refusedCount;
            }
        }

        /// <summary>A task's records as written, oldest first.</summary>
        public static IEnumerable<ClaudeTaskConnection> Read(string recordFile) =>
            File.Exists(recordFile)
                ? File.ReadLines(recordFile).Select(ConnectionLine.Parse).Where(r => r != null)
                : Enumerable.Empty<ClaudeTaskConnection>();

        private void Record(ClaudeTaskConnection record)
        {
            string warn = null;
            lock (_gate)
            {
                if (record.Allowed)
                {
                    _allowedCount++;
                }
                else
                {
                    _refusedCount++;
                    // One line per kind of refusal: a tool that retries does not flood the output.
                    if (_warned.Add(record.Kind + " " + record.Host + ":" + record.Port))
                    {
                        warn = $"Task {_taskId}: the egress gateway refused {Describe(record)}: {record.Reason}.";
                    }
                }

                if (_recordFile != null)
                {
                    try
                    {
                        File.AppendAllText(_recordFile, ConnectionLine.Of(record));
                    }
                    catch (IOException)
                    {
                        // The count and the warning still say it; the record directory is bookkeeping.
                    }
                    catch (UnauthorizedAccessException)
                    {
                    }
                }
            }

            if (warn != null)
            {
                _warning?.Invoke(warn);
            }
        }

        private static string Describe(ClaudeTaskConnection record)
        {
            switch (record.Kind)
            {
                case "dns":
                    return $"a DNS query for {record.Host}";
                case "api":
                    return "a model API request";
                default:
                    return $"{(record.Kind == "connect" ? "a connection" : "an HTTP request")} to {record.Host}:{record.Port}";
            }
        }

        private static void Remove(IList<string> environment, IEnumerable<string> names)
        {
            foreach (var name in names.ToList())
            {
                for (var i = environment.Count - 1; i >= 0; i--)
                {
                    if (environment[i].StartsWith(name + "=", StringComparison.Ordinal))
                    {
                        environment.RemoveAt(i);
                    }
                }
            }
        }

        private static string NewSecret()
        {
            var bytes = new byte[24];
            using (var rng = RandomNumberGenerator.Create())
            {
                rng.GetBytes(bytes);
            }

            return BitConverter.ToString(bytes).Replace("-", string.Empty).ToLowerInvariant();
        }
    }
}
