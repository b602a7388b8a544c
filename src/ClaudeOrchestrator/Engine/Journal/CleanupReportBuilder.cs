using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace ClaudeOrchestrator.Engine.Journal
{
    /// <summary>Turns journal records into a report. Pure: unit tests feed it records directly.</summary>
    internal static class CleanupReportBuilder
    {
        internal const int SlowestCount = 5;

        // Below this many removals a ratio says nothing.
        internal const int MinimumForRatios = 10;

        private static readonly CleanupReason[] Interruptions =
        {
            CleanupReason.Cancelled, CleanupReason.Signal, CleanupReason.Crash, CleanupReason.ProcessExit, CleanupReason.ModuleRemoved,
        };

        public static ClaudeCleanupReport Build(IEnumerable<ClaudeCleanupRecord> records, DateTime? since)
        {
            var inPeriod = records.Where(r => since == null || r.Time >= since.Value).OrderBy(r => r.Time).ToList();
            // Saved work and usage are journaled beside removals; they are counted, not timed.
            var work = inPeriod.Where(r => r.Work != null).ToList();
            var usage = inPeriod.Where(r => r.Outcome == CleanupRecords.UsageOutcome).ToList();
            var selected = inPeriod.Where(r => r.Work == null && r.Outcome != CleanupRecords.UsageOutcome).ToList();
            var removed = selected.Where(r => r.Outcome != "Failed").ToList();
            var report = new ClaudeCleanupReport
            {
                Since = since,
                FirstRemoval = selected.FirstOrDefault()?.Time,
                LastRemoval = selected.LastOrDefault()?.Time,
                TotalRemovals = removed.Count,
                Failures = selected.Count - removed.Count,
                OrphansFound = removed.Count(r => r.Reason == CleanupReason.OrphanSweep),
                SlowestRemovals = removed.OrderByDescending(r => r.Duration).Take(SlowestCount).ToArray(),
                MedianRemoval = Median(removed.Select(r => r.Duration).ToList()),
                JournalPath = CleanupJournal.CurrentPath,
                WorkSaved = work.Count(r => r.Outcome == "Saved" && r.Work != ClaudeTaskWork.NoChanges),
                WorkSalvaged = work.Count(r => r.Outcome == "Salvaged"),
                WorkNotSaved = work.Count(r => r.Outcome == "NotSaved"),
                WorkLost = work.Count(r => r.Outcome == "Lost"),
                CostUsd = usage.Sum(r => r.CostUsd ?? 0),
                UsageByProject = Totals(usage.GroupBy(r => string.IsNullOrEmpty(r.Project) ? "(none)" : r.Project)).OrderByDescending(t => t.CostUsd).ThenBy(t => t.Name, StringComparer.Ordinal).ToArray(),
                UsagePerDay = Totals(usage.GroupBy(r => r.Time.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))).OrderBy(t => t.Name, StringComparer.Ordinal).ToArray(),
            };

            foreach (var group in removed.GroupBy(r => r.Reason).OrderByDescending(g => g.Count()).ThenBy(g => g.Key))
            {
                report.ByReason.Add(group.Key.ToString(), group.Count());
            }

            foreach (var group in removed.GroupBy(r => string.IsNullOrEmpty(r.Project) ? "(none)" : r.Project)
                         .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
            {
                report.ByProject.Add(group.Key, group.Count());
            }

            foreach (var group in removed.GroupBy(r => r.Time.Date).OrderBy(g => g.Key))
            {
                report.PerDay.Add(group.Key.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), group.Count());
            }

            report.LeakPatterns = LeakPatterns(removed, report.Failures).ToArray();
            if (report.WorkNotSaved > 0)
            {
                report.LeakPatterns = report.LeakPatterns.Concat(new[]
                {
                    $"{report.WorkNotSaved} task(s) could not save their work; their checkouts stay in the state directory and Remove-ClaudeTask or Remove-ClaudeContainer -Orphaned retries.",
                }).ToArray();
            }
            if (report.WorkLost > 0)
            {
                report.LeakPatterns = report.LeakPatterns.Concat(new[]
                {
                    $"{report.WorkLost} task(s) lost their agent's work on the way back from a swarm service (see WorkError in Get-ClaudeTask): check the image's tar, gzip, base64 and sha256sum (Test-ClaudeEngine) and the nodes.",
                }).ToArray();
            }

            return report;
        }

        private static IEnumerable<string> LeakPatterns(IReadOnlyList<ClaudeCleanupRecord> removed, int failures)
        {
            var orphanDays = removed.Where(r => r.Reason == CleanupReason.OrphanSweep).Select(r => r.Time.Date).Distinct().Count();
            if (orphanDays >= 2)
            {
                yield return $"Orphan sweeps found containers on {orphanDays} different days: sessions are dying with tasks running " +
                             "(SIGKILL, crashes, power loss) or an older module version is leaking; check how pwsh sessions end.";
            }

            var interrupted = removed.Count(r => Interruptions.Contains(r.Reason));
            if (removed.Count >= MinimumForRatios && interrupted * 2 > removed.Count)
            {
                yield return $"Interruptions dominate: {interrupted} of {removed.Count} removals followed a cancel, signal, crash or exit " +
                             "rather than a finished task.";
            }

            var timedOut = removed.Count(r => r.Reason == CleanupReason.TimedOut);
            if (removed.Count >= MinimumForRatios && timedOut * 4 > removed.Count)
            {
                yield return $"{timedOut} of {removed.Count} tasks timed out: timeouts may be too short or agents are hanging.";
            }

            if (failures > 0)
            {
                yield return $"{failures} removal(s) failed; the journal's error field says why. Run Remove-ClaudeContainer -All to retry.";
            }
        }

        private static IEnumerable<ClaudeUsageTotal> Totals(IEnumerable<IGrouping<string, ClaudeCleanupRecord>> groups) =>
            groups.Select(g => new ClaudeUsageTotal
            {
                Name = g.Key,
                Tasks = g.Count(),
                CostUsd = g.Sum(r => r.CostUsd ?? 0),
                InputTokens = g.Sum(r => r.InputTokens ?? 0),
                OutputTokens = g.Sum(r => r.OutputTokens ?? 0),
                CacheReadTokens = g.Sum(r => r.CacheReadTokens ?? 0),
                CacheCreationTokens = g.Sum(r => r.CacheCreationTokens ?? 0),
                ConnectionsRefused = g.Sum(r => r.ConnectionsRefused ?? 0),
            });

        private static TimeSpan? Median(List<TimeSpan> durations)
        {
            if (durations.Count == 0)
            {
                return null;
            }

            durations.Sort();
            var middle = durations.Count / 2;
            return durations.Count % 2 == 1
                ? durations[middle]
                : TimeSpan.FromTicks((durations[middle - 1].Ticks + durations[middle].Ticks) / 2);
        }
    }
}
