using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace ClaudeOrchestrator.Gateway
{
    /// <summary>A request's line and headers as read off a connection, and the bytes read past them.</summary>
    internal sealed class HttpHead
    {
        private const int MaxHead = 64 * 1024;

        public string Method { get; private set; }

        public string Target { get; set; }

        public List<KeyValuePair<string, string>> Headers { get; } = new List<KeyValuePair<string, string>>();

        /// <summary>Bytes after the head (the start of a body).</summary>
        public byte[] Rest { get; private set; } = Array.Empty<byte>();

        /// <summary>The head, or null when the peer closed or sent something that is not one.</summary>
        public static async Task<HttpHead> ReadAsync(Stream stream, CancellationToken cancel)
        {
            var buffer = new byte[8192];
            var received = new MemoryStream();
            while (received.Length < MaxHead)
            {
                var read = await stream.ReadAsync(buffer, 0, buffer.Length, cancel).ConfigureAwait(false);
                if (read == 0)
                {
                    return null;
                }

                received.Write(buffer, 0, read);
                var bytes = received.GetBuffer();
                var end = IndexOfEnd(bytes, (int)received.Length);
                if (end >= 0)
                {
                    var head = Parse(Encoding.ASCII.GetString(bytes, 0, end));
                    if (head != null)
                    {
                        head.Rest = bytes.Skip(end + 4).Take((int)received.Length - end - 4).ToArray();
                    }

                    return head;
                }
            }

            return null;
        }

        public string Header(string name) =>
            Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

        public void Remove(params string[] names) =>
            Headers.RemoveAll(h => names.Any(n => string.Equals(n, h.Key, StringComparison.OrdinalIgnoreCase)) ||
                                   h.Key.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase));

        public byte[] Serialize()
        {
            var text = new StringBuilder();
            text.Append(Method).Append(' ').Append(Target).Append(" HTTP/1.1\r\n");
            foreach (var header in Headers)
            {
                text.Append(header.Key).Append(": ").Append(header.Value).Append("\r\n");
            }

            text.Append("\r\n");
            return Encoding.ASCII.GetBytes(text.ToString());
        }

        public static byte[] Response(int status, string reason, string body, string contentType = "text/plain; charset=utf-8")
        {
            var content = Encoding.UTF8.GetBytes(body + (contentType.StartsWith("text/", StringComparison.Ordinal) ? "\n" : string.Empty));
            var head = Encoding.ASCII.GetBytes(
                $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n");
            return head.Concat(content).ToArray();
        }

        private static HttpHead Parse(string text)
        {
            var lines = text.Split(new[] { "\r\n" }, StringSplitOptions.None);
            var request = lines[0].Split(' ');
            if (request.Length != 3 || !request[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
            {
                return null;
            }

            var head = new HttpHead { Method = request[0], Target = request[1] };
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':');
                if (colon > 0)
                {
                    head.Headers.Add(new KeyValuePair<string, string>(line.Substring(0, colon).Trim(), line.Substring(colon + 1).Trim()));
                }
            }

            return head;
        }

        private static int IndexOfEnd(byte[] bytes, int length)
        {
            for (var i = 0; i + 3 < length; i++)
            {
                if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n')
                {
                    return i;
                }
            }

            return -1;
        }
    }

    /// <summary>Bytes both ways between a task and where it was let through, counted.</summary>
    internal static class Relay
    {
        /// <summary>
        /// Until the far side is done: a task that stops sending half-closes the far side and
        /// still reads its answer; the far side closing ends the exchange.
        /// </summary>
        public static async Task<(long Sent, long Received)> RunAsync(Stream task, Stream far, Action closeFarSend)
        {
            long sent = 0, received = 0;
            var up = Task.Run(async () =>
            {
                var buffer = new byte[16384];
                int read;
                try
                {
                    while ((read = await task.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false)) > 0)
                    {
                        await far.WriteAsync(buffer, 0, read).ConfigureAwait(false);
                        await far.FlushAsync().ConfigureAwait(false);
                        Interlocked.Add(ref sent, read);
                    }

                    closeFarSend?.Invoke();
                }
                catch (Exception)
                {
                    // The exchange is over either way.
                }
            });
            var down = Task.Run(async () =>
            {
                var buffer = new byte[16384];
                int read;
                try
                {
                    while ((read = await far.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false)) > 0)
                    {
                        await task.WriteAsync(buffer, 0, read).ConfigureAwait(false);
                        await task.FlushAsync().ConfigureAwait(false);
                        Interlocked.Add(ref received, read);
                    }
                }
                catch (Exception)
                {
                    // The exchange is over either way.
                }
            });
            await down.ConfigureAwait(false);
            return (Interlocked.Read(ref sent), Interlocked.Read(ref received));
        }
    }
}
