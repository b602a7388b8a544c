using System;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Journal
{
    internal static class CleanupRecords
    {
        /// <summary>One removal: Outcome Removed, AlreadyGone (it was gone when asked) or Failed (with the error).</summary>
        public static ClaudeCleanupRecord ForRemoval(string name, string id, bool removed, bool wasPresent, TimeSpan duration, string error,
            CleanupReason reason, string taskId, string project) => new ClaudeCleanupRecord
        {
            Time = DateTime.Now,
            Container = name,
            ContainerId = id != null && id.Length > 12 ? id.Substring(0, 12) : id,
            TaskId = taskId,
            Project = project,
            Reason = reason,
            Duration = duration,
            Outcome = !removed ? "Failed" : wasPresent ? "Removed" : "AlreadyGone",
            Error = error,
            ProcessId = SessionIdentity.ProcessId,
            HostName = SessionIdentity.HostName,
        };

        /// <summary>A task's work saved (or not) into its branch: Outcome Saved, Salvaged or NotSaved.</summary>
        public static ClaudeCleanupRecord ForWork(ClaudeTask task, bool saved, ClaudeTaskWork work, string branch, string error, CleanupReason reason) => new ClaudeCleanupRecord
        {
            Time = DateTime.Now,
            TaskId = task.TaskId,
            Project = task.Project,
            Reason = reason,
            Outcome = !saved ? "NotSaved" : work == ClaudeTaskWork.Lost ? "Lost" : work == ClaudeTaskWork.Salvaged ? "Salvaged" : "Saved",
            Work = work,
            Branch = branch ?? task.Branch,
            Error = error,
            ProcessId = SessionIdentity.ProcessId,
            HostName = SessionIdentity.HostName,
        };
    
        public const string UsageOutcome = "Usage";

        /// <summary>What a task's agent spent, once per task run.</summary>
        public static ClaudeCleanupRecord ForUsage(ClaudeTask task) => new ClaudeCleanupRecord
        {
            Time = DateTime.Now,
            TaskId = task.TaskId,
            Project = task.Project,
            Reason = CleanupReason.Finished,
            Outcome = UsageOutcome,
            CostUsd = task.CostUsd,
            InputTokens = task.InputTokens,
            OutputTokens = task.OutputTokens,
            CacheReadTokens = task.CacheReadTokens,
            CacheCreationTokens = task.CacheCreationTokens,
            ConnectionsRefused = task.ConnectionsRefused,
            ProcessId = SessionIdentity.ProcessId,
            HostName = SessionIdentity.HostName,
        };
    }
}
