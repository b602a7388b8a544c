using System;

namespace ClaudeOrchestrator
{
    /// <summary>A per-project profile (~/.claude-projects/&lt;name&gt;.yaml), as Get-ClaudeProject reports it.</summary>
    public sealed class ClaudeProject
    {
        /// <summary>The name Start-ClaudeTask -Project takes: the profile's file name without extension.</summary>
        public string Name { get; set; }

        /// <summary>The project directory, resolved (absolute).</summary>
        public string Path { get; set; }

        public string Image { get; set; }

        /// <summary>The engine its tasks run on: a docker context name or an endpoint URI; null for the default.</summary>
        public string Engine { get; set; }

        /// <summary>How the workspace reaches the container (docker.workspace: auto, mount or copy); null for Auto.</summary>
        public WorkspaceTransfer? Workspace { get; set; }

        /// <summary>checkout: how a task on a branch gets its working tree (auto, overlay, full).</summary>
        public CheckoutMethod? Checkout { get; set; }

        /// <summary>True: tasks run as one-off services on the swarm the engine manages (docker.swarm).</summary>
        public bool? Swarm { get; set; }

        /// <summary>Swarm placement constraints for its tasks (docker.placement), e.g. node.role==worker.</summary>
        public string[] Placement { get; set; }

        /// <summary>True: bind mounts get the shared SELinux label (docker.selinux_relabel).</summary>
        public bool? SELinuxRelabel { get; set; }

        /// <summary>As written in the profile, e.g. 4g.</summary>
        public string Memory { get; set; }

        public double? Cpus { get; set; }
        public string Network { get; set; }

        /// <summary>Hosts the egress gateway lets the agent reach (docker.allow_hosts), besides the model API.</summary>
        public string[] AllowHosts { get; set; }

        /// <summary>Names of variables passed from the caller's environment to the agent.</summary>
        public string[] Environment { get; set; } = Array.Empty<string>();

        public TimeSpan? Timeout { get; set; }

        /// <summary>branch (default in a repository) or none; null when the profile does not say.</summary>
        public ClaudeTaskIsolation? Isolation { get; set; }

        /// <summary>Prefix of task branches, default "claude/".</summary>
        public string BranchPrefix { get; set; }

        /// <summary>Claude Code options from the profile's agent: section (model, max_turns, ...); explicit parameters win.</summary>
        public string Model { get; set; }
        public int? MaxTurns { get; set; }
        public double? MaxBudgetUsd { get; set; }

        /// <summary>What all tasks of one Start-ClaudeTask may spend together (agent.max_total_budget_usd); -MaxTotalBudgetUsd wins.</summary>
        public double? MaxTotalBudgetUsd { get; set; }
        public string[] AllowedTools { get; set; }
        public string[] DisallowedTools { get; set; }
        public string AppendSystemPrompt { get; set; }
        public string ProfileFile { get; set; }
        public bool IsValid => Problem == null;

        /// <summary>What is wrong with the profile, naming the field; null when it is usable.</summary>
        public string Problem { get; set; }

        public override string ToString() => Name;
    }
}
