using System;
using System.Collections.Generic;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>Stable FullyQualifiedErrorId prefixes; README documents them, scripts match on them.</summary>
    internal static class ErrorIds
    {
        public const string EngineUnreachable = "DockerEngineUnreachable";
        public const string EngineNotFound = "EngineNotFound";
        public const string EngineInitMissing = "EngineInitMissing";
        public const string EngineCheckFailed = "ClaudeEngineCheckFailed";
        public const string EnginePermissionDenied = "DockerEnginePermissionDenied";
        public const string EngineError = "DockerEngineError";

        /// <summary>One part of the module's objects (services, configs, volumes) could not be listed; the rest were served.</summary>
        public const string EngineListIncomplete = "EngineListIncomplete";
        public const string ImageNotFound = "ImageNotFound";
        public const string ProjectPathNotFound = "ProjectPathNotFound";
        public const string ProjectPathNotDirectory = "ProjectPathNotDirectory";
        public const string ProjectNameInvalid = "ProjectNameInvalid";
        public const string ProjectProfileNotFound = "ProjectProfileNotFound";
        public const string ProjectProfileInvalid = "ProjectProfileInvalid";
        public const string ProjectProfileExists = "ProjectProfileExists";
        public const string ProjectPathRefused = "ProjectPathRefused";
        public const string NetworkRefused = "NetworkModeRefused";
        public const string DescriptionEmpty = "DescriptionEmpty";
        public const string DescriptionTooLong = "DescriptionTooLong";
        public const string EnvironmentNameInvalid = "EnvironmentNameInvalid";
        public const string ContainerStartFailed = "ContainerStartFailed";
        public const string TaskFailed = "ClaudeTaskFailed";
        public const string TaskTimedOut = "ClaudeTaskTimedOut";
        public const string TaskCancelled = "ClaudeTaskCancelled";
        public const string ContainerNotManaged = "ContainerNotManaged";
        public const string ContainerNotFound = "ContainerNotFound";
        public const string RemovalFailed = "ContainerRemovalFailed";
        public const string RemovalNeedsForce = "RunningContainerNeedsForce";
        public const string OlderThanInvalid = "OlderThanInvalid";
        public const string GitNotFound = "GitNotFound";
        public const string IsolationUnavailable = "IsolationUnavailable";
        public const string IsolationNoCommits = "IsolationNoCommits";
        public const string IsolationProjectUntracked = "IsolationProjectUntracked";
        public const string IsolationFailed = "IsolationFailed";

        /// <summary>-Checkout Overlay where no overlay can be mounted (an engine elsewhere, a swarm, a kernel or engine that refuses).</summary>
        public const string CheckoutUnavailable = "CheckoutUnavailable";

        /// <summary>-StopAtBudget for a task without a total budget (-MaxTotalBudgetUsd or agent.max_total_budget_usd).</summary>
        public const string BudgetMissing = "BudgetMissing";

        /// <summary>Watch-ClaudeTask without an interactive console to draw in (use -Once).</summary>
        public const string BoardNeedsConsole = "BoardNeedsConsole";
        public const string BoardSinceInvalid = "BoardSinceInvalid";
        public const string BranchNameInvalid = "BranchNameInvalid";
        public const string BranchExists = "BranchExists";
        public const string WorkNotSaved = "WorkNotSaved";
        public const string WorkspaceNotShipped = "WorkspaceNotShipped";

        /// <summary>-Swarm on an engine that is not a swarm manager, or with a bind-mounted workspace.</summary>
        public const string SwarmUnavailable = "SwarmUnavailable";
        public const string VolumeHoldsWork = "WorkspaceVolumeHoldsWork";
        public const string TaskNotFound = "ClaudeTaskNotFound";
        public const string TaskRunning = "ClaudeTaskRunning";
        public const string TaskHasNoBranch = "ClaudeTaskHasNoBranch";
        public const string MergeDirtyTree = "MergeWorkingTreeDirty";
        public const string MergeDetachedHead = "MergeDetachedHead";
        public const string MergeConflict = "MergeConflict";
        public const string MergeFailed = "MergeFailed";
        public const string BranchNotMerged = "TaskBranchNotMerged";
        public const string AgentOptionsUnsupported = "AgentOptionsUnsupported";
        public const string AgentAuthenticationFailed = "AgentAuthenticationFailed";
        public const string AgentRateLimited = "AgentRateLimited";
        public const string AgentOverloaded = "AgentOverloaded";
        public const string AgentMaxTurnsReached = "AgentMaxTurnsReached";
        public const string AgentBudgetExceeded = "AgentBudgetExceeded";
        public const string ResumeUnavailable = "ClaudeTaskCannotResume";
        public const string AllowHostInvalid = "AllowHostInvalid";
        public const string SwarmEgressUnavailable = "SwarmEgressUnavailable";
        public const string GatewayUnavailable = "EgressGatewayUnavailable";
        public const string GatewayFailed = "EgressGatewayFailed";

        /// <summary>
        /// Refusals: what was asked of one task cannot be done (its path, project, profile,
        /// engine name, network, description, image, branch, resume, -Swarm where no swarm is),
        /// said before anything of the task exists. Start-ClaudeTask writes them as non-terminating
        /// errors, one task alone or in a fan-out alike, and goes on with its other input (about_ClaudeOrchestrator_Errors).
        /// </summary>
        private static readonly HashSet<string> Refusals = new HashSet<string>(StringComparer.Ordinal)
        {
            EngineNotFound, ImageNotFound, ProjectPathNotFound, ProjectPathNotDirectory, ProjectNameInvalid, ProjectProfileNotFound,
            ProjectProfileInvalid, ProjectPathRefused, NetworkRefused, DescriptionEmpty, DescriptionTooLong, EnvironmentNameInvalid,
            GitNotFound, IsolationUnavailable, IsolationNoCommits, IsolationProjectUntracked, BranchNameInvalid, BranchExists,
            SwarmUnavailable, TaskNotFound, TaskRunning, ResumeUnavailable, AgentOptionsUnsupported, AllowHostInvalid, SwarmEgressUnavailable,
            GatewayUnavailable, CheckoutUnavailable, BudgetMissing,
        };

        public static bool IsRefusal(string errorId) => errorId != null && Refusals.Contains(errorId);
    }
}
