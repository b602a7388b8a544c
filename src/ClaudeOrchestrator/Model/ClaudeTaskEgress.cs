namespace ClaudeOrchestrator
{
    /// <summary>How a task's container reaches the network.</summary>
    public enum ClaudeTaskEgress
    {
        /// <summary>The default: no route out; the egress gateway forwards the model API and the allowed hosts, refuses the rest, and records every attempt.</summary>
        Gateway,

        /// <summary>-Network none: no network at all.</summary>
        Offline,

        /// <summary>-Network bridge or a named network: open egress, nothing refused or recorded (the model API still goes through the gateway, so the key stays out).</summary>
        Open,
    }
}
