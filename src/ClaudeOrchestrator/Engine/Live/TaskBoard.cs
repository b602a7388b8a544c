using System;
using System.Collections.Generic;
using System.Linq;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Engine.Live
{
    /// <summary>
    /// The rows of Watch-ClaudeTask: every task of this machine that runs now (its record, with
    /// the live figures its session publishes) and every one that ended since a moment; running
    /// ones first, oldest first, then ended ones, last ended first.
    /// </summary>
    internal static class TaskBoard
    {
        public static IReadOnlyList<ClaudeTaskBoardRow> Rows(DateTime sinceUtc)
        {
            var now = DateTime.Now;
            var live = LiveBoard.ReadAll().ToDictionary(t => t.TaskId, StringComparer.Ordinal);
            var rows = new List<ClaudeTaskBoardRow>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var record in TaskStore.WrittenSince(sinceUtc, live.Keys))
            {
                seen.Add(record.TaskId);
                live.TryGetValue(record.TaskId, out var state);
                if (state == null && record.Status != ClaudeTaskStatus.Running &&
                    (record.EndTime ?? record.StartTime).ToUniversalTime() < sinceUtc)
                {
                    continue;
                }

                rows.Add(state != null && record.Status == ClaudeTaskStatus.Running ? Running(state, record, now) : Ended(record, now));
            }

            // Running tasks whose record is not written yet (still starting) or was never kept.
            foreach (var state in live.Values.Where(s => !seen.Contains(s.TaskId)))
            {
                rows.Add(Running(state, null, now));
            }

            return rows
                .OrderBy(r => r.Status == ClaudeTaskStatus.Running ? 0 : 1)
                .ThenBy(r => r.Status == ClaudeTaskStatus.Running ? r.StartTime.Ticks : -(r.EndTime ?? r.StartTime).Ticks)
                .ToList();
        }

        private static ClaudeTaskBoardRow Running(LiveTaskState state, ClaudeTask record, DateTime now)
        {
            var start = record?.StartTime ?? state.StartTime.ToLocalTime();
            return new ClaudeTaskBoardRow
            {
                TaskId = state.TaskId,
                Project = record?.Project ?? state.Project,
                Branch = record?.Branch ?? state.Branch,
                Status = ClaudeTaskStatus.Running,
                Activity = state.Phase == nameof(LivePhase.Working)
                    ? (state.Tool ?? (state.Turns.HasValue ? "thinking" : "starting the agent")) + (state.Attempt > 1 ? $" (attempt {state.Attempt})" : string.Empty)
                    : state.Phase,
                StartTime = start,
                Elapsed = Positive(now - start),
                Turns = state.Turns,
                CostUsd = state.CostUsd,
                CostEstimated = state.CostEstimated && state.CostUsd.HasValue,
                FilesChanged = state.FilesChanged,
                InputTokens = state.InputTokens,
                OutputTokens = state.OutputTokens,
                Summary = record?.Summary,
            };
        }

        private static ClaudeTaskBoardRow Ended(ClaudeTask record, DateTime now) => new ClaudeTaskBoardRow
        {
            TaskId = record.TaskId,
            Project = record.Project,
            Branch = record.Branch,
            Status = record.Status,
            Activity = record.Status == ClaudeTaskStatus.Running ? "Running" : record.Work.ToString(),
            StartTime = record.StartTime,
            EndTime = record.EndTime,
            Elapsed = Positive((record.EndTime ?? now) - record.StartTime),
            Turns = record.Turns,
            CostUsd = record.CostUsd,
            CostEstimated = record.CostEstimated,
            FilesChanged = record.Branch != null ? record.FilesChanged : (int?)null,
            InputTokens = record.InputTokens,
            OutputTokens = record.OutputTokens,
            Summary = record.Summary,
        };

        private static TimeSpan Positive(TimeSpan span) => span < TimeSpan.Zero ? TimeSpan.Zero : span;
    }
}
