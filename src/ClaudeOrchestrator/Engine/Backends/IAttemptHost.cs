using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Engine.Backends
{
    /// <summary>What a backend needs from the task whose attempt it runs; the task's session provides it.</summary>
    internal interface IAttemptHost
    {
        /// <summary>The task's record (the backend names its container or service in it).</summary>
        ClaudeTask Record { get; }

        /// <summary>The task's transcript; null for a task without record.</summary>
        Transcript Transcript { get; }

        /// <summary>The private checkout; null for a task in place.</summary>
        TaskCheckout Checkout { get; }

        /// <summary>The agent's state directory (its sessions, for -Resume); null for a task without record.</summary>
        string AgentStateDirectory { get; }

        /// <summary>Where parts of the agent's work that came back wait until they are in the checkout (beside the record, so a sweep finds them).</summary>
        string ReturnedPartsDirectory { get; }

        /// <summary>Set once the agent has started: a task that never ran leaves no branch behind.</summary>
        bool AgentStarted { get; set; }

        /// <summary>Who stopped the attempt's container or service, when a flush did (signal, crash, module removal).</summary>
        CleanupReason? StopReason { get; set; }

        /// <summary>Written into the record before the first container or service that runs the agent is created.</summary>
        void MarkLaunched();

        /// <summary>The agent's work did not come back from where it ran: nothing of it may be saved, and the outcome says Lost.</summary>
        void Lost(string why);
    }
}
