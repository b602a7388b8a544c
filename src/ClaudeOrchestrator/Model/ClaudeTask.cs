using System;

namespace ClaudeOrchestrator
{
    /// <summary>
    /// A task as this machine remembers it (Get-ClaudeTask): kept in the state directory from the
    /// moment it starts, with its branch, diff stats and transcript, until Remove-ClaudeTask prunes it.
    /// </summary>
    public sealed class ClaudeTask : IBranchWork, IAgentReport
    {
        public string TaskId { get; set; }
        public string Project { get; set; }
        public string Path { get; set; }

        /// <summary>The first line of the description, shortened.</summary>
        public string Summary { get; set; }

        public ClaudeTaskStatus Status { get; set; }
        public ClaudeTaskWork Work { get; set; }

        /// <summary>How the task's container reached the network (Gateway by default).</summary>
        public ClaudeTaskEgress? Egress { get; set; }

        /// <summary>Connection attempts its egress gateway let through (Receive-ClaudeTask -Network lists them).</summary>
        public int? ConnectionsAllowed { get; set; }

        /// <summary>Connection attempts its egress gateway refused.</summary>
        public int? ConnectionsRefused { get; set; }
        public DateTime StartTime { get; set; }
        public DateTime? EndTime { get; set; }
        public TimeSpan? Duration => EndTime.HasValue ? EndTime.Value - StartTime : (TimeSpan?)null;

        /// <summary>Top of the repository the task branched from; null for a task run in place.</summary>
        public string Repository { get; set; }

        /// <summary>The repository's git directory (objects and refs), where the branch lives.</summary>
        public string GitDirectory { get; set; }

        public string Branch { get; set; }
        public string BaseCommit { get; set; }
        public string HeadCommit { get; set; }
        public int Commits { get; set; }
        public int FilesChanged { get; set; }
        public int Insertions { get; set; }
        public int Deletions { get; set; }

        /// <summary>The merge commit Merge-ClaudeTask made, once it has.</summary>
        public string MergeCommit { get; set; }

        public string TranscriptPath { get; set; }
        public string ContainerName { get; set; }

        /// <summary>The endpoint of the engine the task ran on; the salvage sweep of that engine alone may save its work.</summary>
        public string Engine { get; set; }
        public string Image { get; set; }
        public int? ExitCode { get; set; }
        public string Reason { get; set; }

        /// <summary>Why the work is not in the branch yet (Work NotSaved: the sweep retries), or what was lost (Work Lost); null otherwise.</summary>
        public string WorkError { get; set; }

        /// <summary>Claude Code's session id (for -Resume); null when the agent reported none. (SessionId is the module session that ran the task.)</summary>
        public string AgentSessionId { get; set; }

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

        /// <summary>The agent's final answer, when it gave one.</summary>
        public string ResultText { get; set; }

        /// <summary>The agent's own state (its session transcripts) for -Resume; null once pruned or for a task without record.</summary>
        public string AgentStatePath { get; set; }

        /// <summary>Mount: the container bind-mounted the workspace; Copy: it was copied to the engine and back (a remote engine).</summary>
        public WorkspaceTransfer Workspace { get; set; }

        /// <summary>For a task on its own branch: Overlay (a shared base tree under the task's own layer) or Full (every file written). Null for a task in place.</summary>
        public CheckoutMethod? Checkout { get; set; }

        /// <summary>A container on an engine, or a one-off service on a swarm.</summary>
        public ClaudeTaskBackend Backend { get; set; }

        /// <summary>
        /// True once a container or service that runs the agent was created for the task; false
        /// before. Until then nothing of the agent's can be in its checkout: a sweep after the
        /// session died deletes that checkout (and a branch still at its base) instead of saving
        /// it. Null in records of module versions that did not keep it (taken as launched).
        /// </summary>
        public bool? AgentLaunched { get; set; }

        /// <summary>The private checkout while it exists (running, or kept because saving failed).</summary>
        public string CheckoutPath { get; set; }

        public int OwnerPid { get; set; }
        public string OwnerHost { get; set; }
        public string OwnerStart { get; set; }
        public string SessionId { get; set; }

        public override string ToString() => $"{TaskId} {Project} {Status}";
    }
}
