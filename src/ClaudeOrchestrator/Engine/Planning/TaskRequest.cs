using System;
using System.Collections;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Planning
{
    /// <summary>
    /// What Start-ClaudeTask was asked, before it is merged with the project's profile and the
    /// defaults: null (or unset) where the parameter was not given, so that a profile's value can
    /// take its place. The planner turns it into a <see cref="TaskPlan"/> or a refusal.
    /// </summary>
    internal sealed class TaskRequest
    {
        /// <summary>-Path as given (resolved by the caller's provider); null with -Project or -Resume.</summary>
        public string Path { get; set; }

        /// <summary>The profile to run with: -Project, or a profile piped in.</summary>
        public string ProfileName { get; set; }

        /// <summary>-Project was given: without a profile of that name it names a directory under the projects root.</summary>
        public bool ByProjectName { get; set; }

        /// <summary>-Resume's task id; null for a new task.</summary>
        public string ResumeTaskId { get; set; }

        public string Description { get; set; }
        public string Model { get; set; }
        public int? MaxTurns { get; set; }
        public double? MaxBudgetUsd { get; set; }
        public double? MaxTotalBudgetUsd { get; set; }
        public string[] AllowedTools { get; set; }
        public string[] DisallowedTools { get; set; }
        public string AppendSystemPrompt { get; set; }
        public string Image { get; set; }
        public string Engine { get; set; }
        public WorkspaceTransfer? Workspace { get; set; }
        public CheckoutMethod? Checkout { get; set; }
        public bool? Swarm { get; set; }
        public bool SELinuxRelabel { get; set; }
        public TimeSpan? Timeout { get; set; }
        public IDictionary Environment { get; set; }
        public string[] AgentCommand { get; set; }
        public string Memory { get; set; }
        public double? Cpus { get; set; }
        public long? PidsLimit { get; set; }
        public string Network { get; set; }

        /// <summary>-AllowHost: hosts the egress gateway lets the agent reach besides the model API.</summary>
        public string[] AllowHost { get; set; }
        public string User { get; set; }
        public ClaudeTaskIsolation? Isolation { get; set; }
        public string BranchPrefix { get; set; }
        public string Branch { get; set; }
        public int MaxAttempts { get; set; } = ModuleDefaults.MaxAttempts;
        public TimeSpan RetryDelay { get; set; } = ModuleDefaults.RetryDelay;

        /// <summary>The runspace that owns the task (module removal flushes by it).</summary>
        public Guid RunspaceId { get; set; }

        /// <summary>The caller's current directory: a profile's relative paths are relative to it.</summary>
        public string CurrentDirectory { get; set; }
    }
}
