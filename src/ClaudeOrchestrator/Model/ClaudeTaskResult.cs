using System;

namespace ClaudeOrchestrator
{
    /// <summary>The one object Start-ClaudeTask emits per task.</summary>
    public sealed class ClaudeTaskResult : IBranchWork, IAgentReport
    {
        public string TaskId { get; set; }
        public string Project { get; set; }
        public string Path { get; set; }
        public string ContainerName { get; set; }
        public string Image { get; set; }

        /// <summary>The endpoint of the engine the task ran on.</summary>
        public string Engine { get; set; }

        /// <summary>Mount: the workspace was bind-mounted; Copy: copied to the engine's machine and back.</summary>
        public WorkspaceTransfer Workspace { get; set; }

        /// <summary>For a task on its own branch: how its private working tree was made (Overlay: a shared base tree under the task's own layer; Full: every file written). Null for a task in place.</summary>
        public CheckoutMethod? Checkout { get; set; }

        /// <summary>On a swarm: the node (host name) the task's service ran on.</summary>
        public string Node { get; set; }

        public ClaudeTaskStatus Status { get; set; }

        /// <summary>The agent's exit code; null when it never finished (timed out, cancelled).</summary>
        public int? ExitCode { get; set; }

        public DateTime StartTime { get; set; }
        public DateTime EndTime { get; set; }
        public TimeSpan Duration => EndTime - StartTime;

        /// <summary>What the agent wrote to stdout: all of it, or its last 256 Ki characters (see OutputTruncated and TranscriptPath).</summary>
        public string Output { get; set; }

        /// <summary>What the agent wrote to stderr, kept like Output.</summary>
        public string ErrorOutput { get; set; }

        /// <summary>True when Output or ErrorOutput holds only the end; the transcript has everything.</summary>
        public bool OutputTruncated { get; set; }

        /// <summary>The task's complete output with timestamps (Receive-ClaudeTask reads it).</summary>
        public string TranscriptPath { get; set; }

        /// <summary>How the work was kept: InPlace, NoChanges, AgentCommits, ModuleCommit or NotSaved.</summary>
        public ClaudeTaskWork Work { get; set; }

        /// <summary>How the task's container reached the network (Gateway by default).</summary>
        public ClaudeTaskEgress? Egress { get; set; }

        /// <summary>Connection attempts its egress gateway let through (Receive-ClaudeTask -Network lists them).</summary>
        public int? ConnectionsAllowed { get; set; }

        /// <summary>Connection attempts its egress gateway refused.</summary>
        public int? ConnectionsRefused { get; set; }

        /// <summary>The task's branch in the project's repository; null for a task run in place.</summary>
        public string Branch { get; set; }

        public string BaseCommit { get; set; }
        public string HeadCommit { get; set; }

        /// <summary>Commits on the branch since BaseCommit (the agent's and the module's).</summary>
        public int Commits { get; set; }

        public int FilesChanged { get; set; }
        public int Insertions { get; set; }
        public int Deletions { get; set; }

        /// <summary>Claude Code's session id (for -Resume); null when the agent reported none.</summary>
        public string SessionId { get; set; }

        string IAgentReport.AgentSessionId { get => SessionId; set => SessionId = value; }

        /// <summary>The model the agent used, as it reported it.</summary>
        public string Model { get; set; }

        /// <summary>Agent turns (API round trips), as the agent counted them.</summary>
        public int? Turns { get; set; }

        /// <summary>What the agent reported spending, in US dollars, over all attempts.</summary>
        public double? CostUsd { get; set; }

        /// <summary>True when part of CostUsd is the module's estimate: a run that ended without reporting its cost (stopped, timed out, crashed) is priced from its tokens at the model's list price.</summary>
        public bool CostEstimated { get; set; }

        public long? InputTokens { get; set; }
        public long? OutputTokens { get; set; }
        public long? CacheReadTokens { get; set; }
        public long? CacheCreationTokens { get; set; }

        /// <summary>Why the agent said it failed, when it said; null otherwise.</summary>
        public ClaudeAgentErrorKind? ErrorKind { get; set; }

        /// <summary>How many times the agent ran: more than one when the API was rate limited or overloaded.</summary>
        public int Attempts { get; set; }

        /// <summary>The task whose session this one continued (Start-ClaudeTask -Resume); null for a new task.</summary>
        public string ResumedFrom { get; set; }

        /// <summary>The agent's final answer (Claude Code's result); null when it gave none.</summary>
        public string ResultText { get; set; }

        /// <summary>Why the task did not succeed, in words; null when it did.</summary>
        public string Reason { get; set; }

        public override string ToString() => $"{Project} {Status} ({ContainerName})";
    }
}
