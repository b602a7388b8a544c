using System;
using System.Globalization;
using System.Linq;

namespace ClaudeOrchestrator.Engine.Egress
{
    /// <summary>
    /// What the module and its egress gateway say to each other over the gateway's attached
    /// stdin and stdout: one line per message, tab-separated. Both sides compile this file. The
    /// credential travels only this way, so it is in no variable, label or inspect field of any
    /// container; the gateway ends when its stdin closes (the session is gone).
    /// </summary>
    internal static class GatewayProtocol
    {
        // Module to gateway.
        public const string Admit = "admit";           // task id, address, token, allow-list (comma-separated), credential header, its value, the model API's URL
        public const string End = "end";               // task id
        public const string Deny = "deny";             // an address of the engine's host
        public const string Route = "route";           // the tasks' router address, the gateway's own address there: answer for it, refuse what is sent through it

        // Gateway to module.
        public const string Admitted = "admitted";     // task id
        public const string Connection = "connection"; // see ConnectionLine
        public const string Routing = "routing";       // the interface it answers on (to route)
        public const string Problem = "problem";       // the order, then text

        public const int ProxyPort = 3128;
        public const int ApiPort = 8080;
        public const int DnsPort = 53;

        public static string Line(params string[] fields) =>
            string.Join("\t", fields.Select(f => (f ?? string.Empty).Replace('\t', ' ').Replace('\r', ' ').Replace('\n', ' '))) + "\n";

        public static string[] Fields(string line) => (line ?? string.Empty).TrimEnd('\r', '\n').Split('\t');
    }

    /// <summary>A connection attempt (<see cref="ClaudeTaskConnection"/>) as one line of the gateway's output and of a task's record.</summary>
    internal static class ConnectionLine
    {
        public static string Of(ClaudeTaskConnection record) => GatewayProtocol.Line(
            GatewayProtocol.Connection, record.TaskId, record.Time.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture), record.Kind, record.Host,
            record.Port.ToString(CultureInfo.InvariantCulture), record.Allowed ? "allowed" : "refused", record.Reason,
            record.BytesSent.ToString(CultureInfo.InvariantCulture), record.BytesReceived.ToString(CultureInfo.InvariantCulture));

        /// <summary>A record from its line (with or without the leading message name); null when it is not one.</summary>
        public static ClaudeTaskConnection Parse(string line)
        {
            var f = GatewayProtocol.Fields(line);
            var i = f.Length > 0 && f[0] == GatewayProtocol.Connection ? 1 : 0;
            if (f.Length - i < 9 ||
                !DateTime.TryParse(f[i + 1], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time) ||
                !int.TryParse(f[i + 4], NumberStyles.Integer, CultureInfo.InvariantCulture, out var port))
            {
                return null;
            }

            long.TryParse(f[i + 7], NumberStyles.Integer, CultureInfo.InvariantCulture, out var sent);
            long.TryParse(f[i + 8], NumberStyles.Integer, CultureInfo.InvariantCulture, out var received);
            return new ClaudeTaskConnection
            {
                TaskId = f[i],
                Time = time.ToLocalTime(),
                Kind = f[i + 2],
                Host = f[i + 3],
                Port = port,
                Allowed = f[i + 5] == "allowed",
                Reason = f[i + 6],
                BytesSent = sent,
                BytesReceived = received,
            };
        }
    }
}
