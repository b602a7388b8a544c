using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace ClaudeOrchestrator.Gateway
{
    /// <summary>
    /// A port of the gateway that speaks HTTP: it reads a connection's request head, knows which
    /// admitted task (if any) the connection comes from, and writes records.
    /// </summary>
    internal abstract class GatewayRoute
    {
        protected static readonly TimeSpan ConnectLimit = TimeSpan.FromSeconds(15);

        protected GatewayRoute(Admissions admissions, Output output)
        {
            Admissions = admissions;
            Output = output;
        }

        protected Admissions Admissions { get; }

        protected Output Output { get; }

        public async Task HandleAsync(TcpClient client)
        {
            var stream = client.GetStream();
            var head = await HttpHead.ReadAsync(stream, CancellationToken.None).ConfigureAwait(false);
            if (head != null)
            {
                var from = ((IPEndPoint)client.Client.RemoteEndPoint).Address;
                await HandleAsync(stream, head, Admissions.ByAddress(from)).ConfigureAwait(false);
            }
        }

        /// <param name="task">The live task the connection comes from; null when none.</param>
        protected abstract Task HandleAsync(NetworkStream stream, HttpHead head, Admission task);

        protected static Task WriteAsync(Stream stream, byte[] bytes) => stream.WriteAsync(bytes, 0, bytes.Length);
    }
}
