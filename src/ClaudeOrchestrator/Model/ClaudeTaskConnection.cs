using System;

namespace ClaudeOrchestrator
{
    /// <summary>One connection attempt of a task's agent, as its egress gateway saw it (Receive-ClaudeTask -Network).</summary>
    public sealed class ClaudeTaskConnection
    {
        public string TaskId { get; set; }

        public DateTime Time { get; set; }

        /// <summary>connect (HTTPS through the proxy), http (plain HTTP through the proxy), api (the model API route), dns (a name query).</summary>
        public string Kind { get; set; }

        public string Host { get; set; }

        public int Port { get; set; }

        public bool Allowed { get; set; }

        /// <summary>Why it was allowed or refused.</summary>
        public string Reason { get; set; }

        /// <summary>Bytes the agent sent through.</summary>
        public long BytesSent { get; set; }

        /// <summary>Bytes the agent received back.</summary>
        public long BytesReceived { get; set; }

        public override string ToString() => $"{(Allowed ? "allowed" : "refused")} {Kind} {Host}:{Port}";
    }
}
