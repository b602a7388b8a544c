using System;
using System.Collections.Generic;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Egress;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Records;
using ClaudeOrchestrator.Engine.Sandboxing;

namespace ClaudeOrchestrator.Engine.Planning
{
    /// <summary>Everything a task run needs, already validated by the cmdlet.</summary>
    internal sealed class TaskPlan
    {
        public string TaskId { get; set; } = TaskStore.NewId();
        public string ProjectName { get; set; }

        /// <summary>Absolute host path of the project directory, mounted at /workspace.</summary>
        public string ProjectPath { get; set; }

        public string Description { get; set; }
        public string Image { get; set; }

        /// <summary>The engine named by -Engine or the profile (an endpoint URI or a docker context); null for the default.</summary>
        public string Engine { get; set; }

        /// <summary>The endpoint <see cref="Engine"/> resolved to, once the engine was reached; kept in the record and result.</summary>
        public string EngineEndpoint { get; set; }
        public TimeSpan? Timeout { get; set; }

        /// <summary>What runs the agent: a container, or a one-off service on the swarm the engine manages (-Swarm, docker.swarm).</summary>
        public ClaudeTaskBackend Backend { get; set; }

        /// <summary>Swarm placement constraints (docker.placement), e.g. "node.labels.agents==true"; empty for anywhere.</summary>
        public IList<string> Placement { get; set; } = new List<string>();

        /// <summary>Bind-mount or copy the workspace; Auto decides by where the engine runs.</summary>
        public WorkspaceTransfer Workspace { get; set; }

        /// <summary>Auto until the backend's check decides Overlay or Full for a task on a branch.</summary>
        public CheckoutMethod Checkout { get; set; }

        /// <summary>Why the check chose Full where Overlay was asked for or Auto was given; null otherwise.</summary>
        public string CheckoutNote { get; set; }

        /// <summary>Values are secrets as far as the module is concerned: passed, never shown.</summary>
        public IDictionary<string, string> Environment { get; set; } = new Dictionary<string, string>();

        /// <summary>The agent's argv; the description is appended as one more element.</summary>
        public IList<string> AgentCommand { get; set; }

        /// <summary>Limits and hardening of the task container.</summary>
        public Sandbox Sandbox { get; set; } = new Sandbox();

        /// <summary>How the container reaches the network: through the egress gateway unless -Network said otherwise.</summary>
        public ClaudeTaskEgress Egress { get; set; }

        /// <summary>What the gateway lets the agent reach besides the model API (-AllowHost and the profile's docker.allow_hosts).</summary>
        public IReadOnlyList<AllowedHost> AllowedHosts { get; set; } = Array.Empty<AllowedHost>();

        /// <summary>The repository the task branches from; null when it runs in place (-Isolation None).</summary>
        public GitRepository Repository { get; set; }

        /// <summary>The task's branch (without refs/heads/); null when it runs in place.</summary>
        public string Branch { get; set; }

        /// <summary>The runspace that owns the task; module removal flushes by it.</summary>
        public Guid RunspaceId { get; set; }

        /// <summary>For a resumed task on a branch: the branch's commit when the task starts (its base).</summary>
        public string BranchTip { get; set; }

        /// <summary>The task this one continues (Start-ClaudeTask -Resume): its branch and agent state; null for a new task.</summary>
        public ClaudeTask Resumes { get; set; }

        /// <summary>Runs of the agent when the API is rate limited or overloaded: the first and the retries.</summary>
        public int MaxAttempts { get; set; } = ModuleDefaults.MaxAttempts;

        /// <summary>The wait before the first retry; each later one waits twice as long.</summary>
        public TimeSpan RetryDelay { get; set; } = ModuleDefaults.RetryDelay;

        /// <summary>The fan-out's shared limit, lowered while the API pushes back; null for a task on its own.</summary>
        public TaskThrottle Throttle { get; set; }

        /// <summary>The total the tasks of one Start-ClaudeTask may spend (-MaxTotalBudgetUsd, or the profile's agent.max_total_budget_usd); null for none.</summary>
        public double? MaxTotalBudgetUsd { get; set; }

        /// <summary>What the tasks of one Start-ClaudeTask have spent, and whether another may start; null for a task on its own.</summary>
        public FanOutBudget Budget { get; set; }
    }
}
