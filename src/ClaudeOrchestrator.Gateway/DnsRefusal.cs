using System;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Gateway
{
    /// <summary>
    /// The tasks' name server: every query is answered REFUSED and recorded. Names a task may
    /// reach are resolved here, by the proxy, after the allow-list; a query from a task would
    /// only be a way to carry data out in the names it asks for.
    /// </summary>
    internal sealed class DnsRefusal
    {
        private readonly Admissions admissions;
        private readonly Output output;

        public DnsRefusal(Admissions admissions, Output output)
        {
            this.admissions = admissions;
            this.output = output;
        }

        public void Start()
        {
            var socket = new UdpClient(AddressFamily.InterNetworkV6);
            socket.Client.DualMode = true;
            socket.Client.Bind(new IPEndPoint(IPAddress.IPv6Any, GatewayProtocol.DnsPort));
            _ = Task.Run(async () =>
            {
                while (true)
                {
                    try
                    {
                        var query = await socket.ReceiveAsync().ConfigureAwait(false);
                        var name = QuestionName(query.Buffer, out var questionEnd);
                        if (name == null)
                        {
                            continue;
                        }

                        var answer = new byte[questionEnd];
                        Array.Copy(query.Buffer, answer, questionEnd);
                        answer[2] = (byte)(0x80 | (query.Buffer[2] & 0x79)); // a response; opcode and RD kept
                        answer[3] = 0x05; // REFUSED
                        answer[4] = 0; answer[5] = 1; // the one question
                        for (var i = 6; i < 12; i++)
                        {
                            answer[i] = 0;
                        }

                        await socket.SendAsync(answer, answer.Length, query.RemoteEndPoint).ConfigureAwait(false);
                        output.Record(new ClaudeTaskConnection
                        {
                            TaskId = admissions.ByAddress(query.RemoteEndPoint.Address)?.TaskId ?? string.Empty,
                            Time = DateTime.UtcNow,
                            Kind = "dns",
                            Host = name,
                            Port = GatewayProtocol.DnsPort,
                            Allowed = false,
                            Reason = "DNS to the outside is refused (the gateway resolves the hosts a task may reach)",
                        });
                    }
                    catch (Exception)
                    {
                        // One bad datagram is its own.
                    }
                }
            });
        }

        /// <summary>The first question's name, and where the question ends; null when the datagram is not a query.</summary>
        private static string QuestionName(byte[] packet, out int end)
        {
            end = 0;
            if (packet.Length < 12 || (packet[2] & 0x80) != 0 || packet[4] != 0 || packet[5] == 0)
            {
                return null;
            }

            var name = new StringBuilder();
            var i = 12;
            while (i < packet.Length && packet[i] != 0)
            {
                var length = packet[i];
                if ((length & 0xc0) != 0 || i + 1 + length > packet.Length)
                {
                    return null;
                }

                if (name.Length > 0)
                {
                    name.Append('.');
                }

                name.Append(Encoding.ASCII.GetString(packet, i + 1, length));
                i += 1 + length;
            }

            end = i + 5; // the terminating zero, type and class
            return end <= packet.Length ? (name.Length == 0 ? "." : name.ToString()) : null;
        }
    }
}
