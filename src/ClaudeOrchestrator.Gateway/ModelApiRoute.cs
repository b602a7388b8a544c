using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Gateway
{
    /// <summary>
    /// The agent's ANTHROPIC_BASE_URL. A request carries its task's token where the API key or
    /// bearer token would be; the gateway checks it against the task the connection comes from,
    /// puts the session's real credential on the request instead and sends it on to the model
    /// API (over TLS when that is https). The real credential exists only in this process.
    /// </summary>
    internal sealed class ModelApiRoute : GatewayRoute
    {
        public ModelApiRoute(Admissions admissions, Output output) : base(admissions, output)
        {
        }

        protected override async Task HandleAsync(NetworkStream stream, HttpHead head, Admission known)
        {
            var current = known?.Credential;
            var record = new ClaudeTaskConnection
            {
                TaskId = known?.TaskId ?? string.Empty,
                Time = DateTime.UtcNow,
                Kind = "api",
                Host = current?.Upstream.Host ?? "model API",
                Port = current?.Upstream.Port ?? 0,
            };

            var token = head.Header("x-api-key");
            var authorization = head.Header("Authorization");
            if (string.IsNullOrEmpty(token) && authorization != null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                token = authorization.Substring(7).Trim();
            }

            var owner = Admissions.ByToken(token);
            string refusal = null;
            if (string.IsNullOrEmpty(token))
            {
                refusal = "the request carries no task token";
            }
            else if (owner == null)
            {
                refusal = "the request carries a token no task was given";
            }
            else if (owner.Ended)
            {
                refusal = $"the token is task {owner.TaskId}'s, which has ended";
            }
            else if (known == null || known.TaskId != owner.TaskId)
            {
                refusal = $"the token is task {owner.TaskId}'s and the request comes from elsewhere";
            }
            else if (current == null)
            {
                refusal = "the task's session has no credential for the model API (set ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN)";
            }

            if (refusal != null)
            {
                record.Reason = refusal;
                Output.Record(record);
                var body = "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"Refused by the task's egress gateway: " + refusal.Replace("\"", "'") + "\"}}";
                await WriteAsync(stream, HttpHead.Response(401, "Unauthorized", body, "application/json")).ConfigureAwait(false);
                return;
            }

            var upstream = current.Upstream;
            head.Target = upstream.AbsolutePath.TrimEnd('/') + (head.Target.StartsWith("/", StringComparison.Ordinal) ? head.Target : "/" + head.Target);
            head.Remove("Host", "x-api-key", "Authorization", "Connection", "Keep-Alive");
            head.Headers.Insert(0, new KeyValuePair<string, string>("Host", upstream.IsDefaultPort ? upstream.Host : upstream.Host + ":" + upstream.Port.ToString(CultureInfo.InvariantCulture)));
            head.Headers.Add(new KeyValuePair<string, string>(current.Header, current.Value));
            head.Headers.Add(new KeyValuePair<string, string>("Connection", "close"));

            using (var far = new TcpClient { NoDelay = true })
            {
                try
                {
                    using (var limit = new CancellationTokenSource(ConnectLimit))
                    {
                        await far.ConnectAsync(upstream.DnsSafeHost, upstream.Port, limit.Token).ConfigureAwait(false);
                    }
                }
                catch (Exception e)
                {
                    record.Allowed = true;
                    record.Reason = "model API; it could not be reached: " + (e is OperationCanceledException ? "no answer within 15 s" : e.Message);
                    Output.Record(record);
                    await WriteAsync(stream, HttpHead.Response(502, "Bad Gateway", "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"The egress gateway could not reach the model API.\"}}", "application/json")).ConfigureAwait(false);
                    return;
                }

                Stream farStream = far.GetStream();
                if (upstream.Scheme == Uri.UriSchemeHttps)
                {
                    var tls = new SslStream(farStream, false);
                    await tls.AuthenticateAsClientAsync(upstream.DnsSafeHost).ConfigureAwait(false);
                    farStream = tls;
                }

                using (farStream)
                {
                    var forwarded = head.Serialize();
                    await WriteAsync(farStream, forwarded).ConfigureAwait(false);
                    if (head.Rest.Length > 0)
                    {
                        await WriteAsync(farStream, head.Rest).ConfigureAwait(false);
                    }

                    // TLS cannot be half-closed without ending it: the answer ends the exchange.
                    var (sent, received) = await Relay.RunAsync(stream, farStream, upstream.Scheme == Uri.UriSchemeHttps ? (Action)null : () => far.Client.Shutdown(SocketShutdown.Send)).ConfigureAwait(false);
                    record.Allowed = true;
                    record.Reason = "model API";
                    // The head counts without the credential's header: what the agent sent, not what the gateway added.
                    record.BytesSent = sent + head.Rest.Length + forwarded.Length - current.Header.Length - current.Value.Length - 4;
                    record.BytesReceived = received;
                    Output.Record(record);
                }
            }
        }

        private static Task Write(Stream stream, byte[] bytes) => stream.WriteAsync(bytes, 0, bytes.Length);
    }
}
