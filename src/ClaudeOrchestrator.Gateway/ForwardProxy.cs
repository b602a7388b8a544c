using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Gateway
{
    /// <summary>
    /// HTTP_PROXY and HTTPS_PROXY of every task: CONNECT for HTTPS (the tunnel carries the TLS of
    /// the task and the host, never opened here, so no image needs a new CA) and plain HTTP by
    /// absolute URI. A host passes when it is on the task's allow-list and, for a name, when
    /// every address it is followed to is outside loopback, link-local, private networks and the
    /// engine's host.
    /// </summary>
    internal sealed class ForwardProxy : GatewayRoute
    {
        private static readonly TimeSpan ResolveLimit = TimeSpan.FromSeconds(10);

        public ForwardProxy(Admissions admissions, Output output) : base(admissions, output)
        {
        }

        protected override async Task HandleAsync(NetworkStream stream, HttpHead head, Admission admission)
        {
            var tunnel = string.Equals(head.Method, "CONNECT", StringComparison.OrdinalIgnoreCase);
            var record = new ClaudeTaskConnection { TaskId = admission?.TaskId ?? string.Empty, Time = DateTime.UtcNow, Kind = tunnel ? "connect" : "http" };
            string host;
            int port;
            string path = null;
            if (tunnel)
            {
                if (!SplitHostPort(head.Target, 443, out host, out port))
                {
                    await RefuseAsync(stream, record, head.Target, 0, 400, "Bad Request", "not a host:port to connect to").ConfigureAwait(false);
                    return;
                }
            }
            else if (Uri.TryCreate(head.Target, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp)
            {
                host = uri.IdnHost;
                port = uri.Port;
                path = uri.PathAndQuery;
            }
            else
            {
                await RefuseAsync(stream, record, head.Target, 0, 400, "Bad Request", "not a proxy request (HTTPS goes by CONNECT, HTTP by an absolute http:// URI)").ConfigureAwait(false);
                return;
            }

            record.Host = host;
            record.Port = port;
            var (addresses, refusal) = await DecideAsync(admission, host, port).ConfigureAwait(false);
            if (refusal != null)
            {
                await RefuseAsync(stream, record, host, port, 403, "Forbidden", refusal).ConfigureAwait(false);
                return;
            }

            using (var far = new TcpClient(AddressFamily.InterNetworkV6) { NoDelay = true })
            {
                far.Client.DualMode = true;
                string failure = null;
                foreach (var address in addresses)
                {
                    try
                    {
                        using (var limit = new CancellationTokenSource(ConnectLimit))
                        {
                            await far.ConnectAsync(address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address, port, limit.Token).ConfigureAwait(false);
                        }

                        failure = null;
                        break;
                    }
                    catch (Exception e)
                    {
                        failure = e is OperationCanceledException ? "no answer within 15 s" : e.Message;
                    }
                }

                if (failure != null || !far.Connected)
                {
                    record.Allowed = true;
                    record.Reason = "allowed; the host could not be reached: " + failure;
                    Output.Record(record);
                    await WriteAsync(stream, HttpHead.Response(502, "Bad Gateway", $"The gateway could not reach {host}:{port}: {failure}")).ConfigureAwait(false);
                    return;
                }

                var farStream = far.GetStream();
                var forwardedHead = 0;
                if (tunnel)
                {
                    await WriteAsync(stream, System.Text.Encoding.ASCII.GetBytes("HTTP/1.1 200 Connection established\r\n\r\n")).ConfigureAwait(false);
                }
                else
                {
                    head.Target = path;
                    head.Remove("Connection", "Keep-Alive");
                    if (head.Header("Host") == null)
                    {
                        head.Headers.Add(new KeyValuePair<string, string>("Host", port == 80 ? host : host + ":" + port.ToString(CultureInfo.InvariantCulture)));
                    }

                    // One request per connection: the next may be for another host.
                    head.Headers.Add(new KeyValuePair<string, string>("Connection", "close"));
                    var bytes = head.Serialize();
                    forwardedHead = bytes.Length;
                    await WriteAsync(farStream, bytes).ConfigureAwait(false);
                }

                if (head.Rest.Length > 0)
                {
                    await WriteAsync(farStream, head.Rest).ConfigureAwait(false);
                }

                var (sent, received) = await Relay.RunAsync(stream, farStream, () => far.Client.Shutdown(SocketShutdown.Send)).ConfigureAwait(false);
                record.Allowed = true;
                record.Reason = "on the allow-list";
                record.BytesSent = sent + head.Rest.Length + forwardedHead;
                record.BytesReceived = received;
                Output.Record(record);
            }
        }

        /// <summary>The addresses a connection may go to, or why it may not.</summary>
        private async Task<(IReadOnlyList<IPAddress> Addresses, string Refusal)> DecideAsync(Admission admission, string host, int port)
        {
            if (admission == null)
            {
                return (null, "the connection does not come from a task this gateway serves");
            }

            var entry = admission.Allowed.FirstOrDefault(e => e.Matches(host, port));
            if (entry == null)
            {
                return (null, $"{FormatHost(host)}:{port} is not on the task's allow-list");
            }

            if (entry.Address != null)
            {
                // A single address named on its own is taken as meant (a build server at 10.1.2.3).
                return (new[] { entry.Address }, null);
            }

            IPAddress[] resolved;
            try
            {
                using (var limit = new CancellationTokenSource(ResolveLimit))
                {
                    resolved = await Dns.GetHostAddressesAsync(host, limit.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                return (null, $"{host} does not resolve ({(e is OperationCanceledException ? "no answer within 10 s" : e.Message)})");
            }

            var problems = new List<string>();
            var usable = new List<IPAddress>();
            foreach (var address in resolved)
            {
                var why = AddressRules.RefusedForName(address) ?? (Admissions.IsEngineHost(address) ? "it is an address of the engine's host" : null);
                if (why == null)
                {
                    usable.Add(address);
                }
                else
                {
                    problems.Add($"{address}: {why}");
                }
            }

            // One bad address refuses the name: a name that also points inside is not followed at all.
            if (problems.Count > 0 || usable.Count == 0)
            {
                return (null, $"{host} resolves to {(problems.Count > 0 ? string.Join("; ", problems) : "no address")}");
            }

            return (usable, null);
        }

        private async Task RefuseAsync(NetworkStream stream, ClaudeTaskConnection record, string host, int port, int status, string phrase, string reason)
        {
            record.Host = host;
            record.Port = port;
            record.Allowed = false;
            record.Reason = reason;
            Output.Record(record);
            await WriteAsync(stream, HttpHead.Response(status, phrase, "Refused by the task's egress gateway: " + reason)).ConfigureAwait(false);
        }

        private static string FormatHost(string host) => host.IndexOf(':') >= 0 ? "[" + host + "]" : host;

        private static bool SplitHostPort(string target, int defaultPort, out string host, out int port)
        {
            host = target;
            port = defaultPort;
            if (string.IsNullOrEmpty(target))
            {
                return false;
            }

            var close = target.LastIndexOf(']');
            var colon = target.LastIndexOf(':');
            if (colon > close)
            {
                host = target.Substring(0, colon);
                if (!int.TryParse(target.Substring(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port < 1 || port > 65535)
                {
                    return false;
                }
            }

            host = host.TrimStart('[').TrimEnd(']');
            return host.Length > 0;
        }
    }
}
