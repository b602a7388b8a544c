using System;

namespace ClaudeOrchestrator.Engine
{
    internal static class CleanupRecords
    {
        public static ClaudeCleanupRecord For(RemovalOutcome outcome, CleanupReason reason, string taskId, string project) => new ClaudeCleanupRecord
        {
            Time = DateTime.Now,
            Container = outcome.Name,
            ContainerId = outcome.Id != null && outcome.Id.Length > 12 ? outcome.Id.Substring(0, 12) : outcome.Id,
            TaskId = taskId,
            Project = project,
            Reason = reason,
            Duration = outcome.Duration,
            Outcome = !outcome.Removed ? "Failed" : outcome.WasPresent ? "Removed" : "AlreadyGone",
            Error = outcome.Error?.Message,
            ProcessId = SessionIdentity.ProcessId,
            HostName = SessionIdentity.HostName,
        };

        /// <summary>A task's work saved (or not) into its branch: Outcome Saved, Salvaged or NotSaved.</summary>
        public static ClaudeCleanupRecord ForWork(ClaudeTask task, WorkSave save, CleanupReason reason) => new ClaudeCleanupRecord
        {
            Time = DateTime.Now,
            TaskId = task.TaskId,
            Project = task.Project,
            Reason = reason,
            Outcome = !save.Saved ? "NotSaved" : save.Work == ClaudeTaskWork.Lost ? "Lost" : save.Work == ClaudeTaskWork.Salvaged ? "Salvaged" : "Saved",
            Work = save.Work,
            Branch = save.Branch ?? task.Branch,
            Error = save.Error,
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
            ProcessId = SessionIdentity.ProcessId,
            HostName = SessionIdentity.HostName,
        };
    }
}
