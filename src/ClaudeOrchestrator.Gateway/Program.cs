using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Gateway
{
    /// <summary>
    /// The egress gateway of one session on one engine. It sits on the session's internal network
    /// (where the tasks are, with no route out) and on the engine's bridge (the way out), and lets
    /// through only what the task that asks may reach: a forward proxy (HTTPS by CONNECT, plain
    /// HTTP by absolute URI), the model API route (where the per-task token is swapped for the
    /// real credential, which only this process holds), and a DNS server that refuses every
    /// query. Every attempt is one record line on stdout. It takes its orders on stdin and ends
    /// when stdin closes, so it never outlives the session that started it.
    /// </summary>
    internal static class Program
    {
        public static async Task<int> Main(string[] args)
        {
            if (args.Length == 1 && args[0] == "hold")
            {
                return await Holds.HoldAsync().ConfigureAwait(false);
            }

            var output = new Output(Console.OpenStandardOutput());
            var admissions = new Admissions();
            var proxy = new ForwardProxy(admissions, output);
            var api = new ModelApiRoute(admissions, output);
            var dns = new DnsRefusal(admissions, output);
            var raw = new RawRefusal(admissions, output);
            try
            {
                Listen(GatewayProtocol.ProxyPort, proxy.HandleAsync);
                Listen(GatewayProtocol.ApiPort, api.HandleAsync);
                dns.Start();
            }
            catch (SocketException e)
            {
                Console.Error.WriteLine("The gateway cannot listen: " + e.Message);
                return 2;
            }

            // Orders are read only once every port listens: the module's first admission is answered after that.
            await Control.RunAsync(Console.OpenStandardInput(), admissions, raw, output).ConfigureAwait(false);
            return 0;
        }

        private static void Listen(int port, Func<TcpClient, Task> handle)
        {
            var listener = new TcpListener(IPAddress.IPv6Any, port);
            listener.Server.DualMode = true;
            listener.Start(512);
            _ = Task.Run(async () =>
            {
                while (true)
                {
                    var client = await listener.AcceptTcpClientAsync().ConfigureAwait(false);
                    _ = Task.Run(async () =>
                    {
                        using (client)
                        {
                            try
                            {
                                client.NoDelay = true;
                                await handle(client).ConfigureAwait(false);
                            }
                            catch (Exception)
                            {
                                // One connection's failure is its own; the record (if any) was written.
                            }
                        }
                    });
                }
            });
        }
    }

    /// <summary>Lines to the module, whole and in order from any thread.</summary>
    internal sealed class Output
    {
        private readonly Stream stream;
        private readonly object gate = new object();

        public Output(Stream stream) => this.stream = stream;

        public void Send(string line)
        {
            var bytes = Encoding.UTF8.GetBytes(line);
            lock (gate)
            {
                stream.Write(bytes, 0, bytes.Length);
                stream.Flush();
            }
        }

        public void Record(ClaudeTaskConnection record) => Send(ConnectionLine.Of(record));
    }

    /// <summary>The orders of the module, one line each, until stdin closes.</summary>
    internal static class Control
    {
        public static async Task RunAsync(Stream input, Admissions admissions, RawRefusal raw, Output output)
        {
            using (var reader = new StreamReader(input, new UTF8Encoding(false)))
            {
                string line;
                while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) != null)
                {
                    var f = GatewayProtocol.Fields(line);
                    try
                    {
                        switch (f[0])
                        {
                            case GatewayProtocol.Admit when f.Length >= 8:
                                admissions.Admit(f[1], IPAddress.Parse(f[2]), f[3], f[4], Credential.From(f[5], f[6], f[7]));
                                output.Send(GatewayProtocol.Line(GatewayProtocol.Admitted, f[1]));
                                break;
                            case GatewayProtocol.End when f.Length >= 2:
                                admissions.End(f[1]);
                                break;
                            case GatewayProtocol.Route when f.Length >= 3:
                                try
                                {
                                    output.Send(GatewayProtocol.Line(GatewayProtocol.Routing, raw.Start(IPAddress.Parse(f[1]), IPAddress.Parse(f[2]))));
                                }
                                catch (InvalidOperationException e)
                                {
                                    output.Send(GatewayProtocol.Line(GatewayProtocol.Problem, f[0] + ": " + e.Message));
                                }

                                break;
                            case GatewayProtocol.Deny when f.Length >= 2:
                                admissions.DenyAddress(IPAddress.Parse(f[1]));
                                break;
                            default:
                                output.Send(GatewayProtocol.Line(GatewayProtocol.Problem, "unknown order " + f[0]));
                                break;
                        }
                    }
                    catch (Exception e) when (e is FormatException || e is UriFormatException || e is ArgumentException)
                    {
                        output.Send(GatewayProtocol.Line(GatewayProtocol.Problem, f[0] + ": " + e.Message));
                    }
                }
            }
        }
    }
}
