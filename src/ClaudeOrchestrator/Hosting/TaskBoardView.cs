using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace ClaudeOrchestrator.Hosting
{
    /// <summary>
    /// Draws Watch-ClaudeTask's board as lines that fit a window: a summary line, a header and a
    /// row per task, columns dropped and the last one shortened as the window narrows, rows cut
    /// with a line that counts the rest. With colour, each status wears its own.
    /// </summary>
    internal static class TaskBoardView
    {
        private const string Reset = "\u001b[0m";

        private sealed class Column
        {
            public Column(string name, int width, int keep, Func<ClaudeTaskBoardRow, string> value, bool right = false)
            {
                Name = name;
                Width = width;
                Keep = keep;
                Value = value;
                Right = right;
            }

            public string Name { get; }
            public int Width { get; }

            /// <summary>How long the column stays as the window narrows: the lowest goes first; 0 never goes.</summary>
            public int Keep { get; }
            public Func<ClaudeTaskBoardRow, string> Value { get; }
            public bool Right { get; }
        }

        // Room kept for the activity before a column is dropped.
        private const int ActivityRoom = 12;

        private static readonly Column[] Columns =
        {
            new Column("ID", 10, 0, r => r.TaskId),
            new Column("PROJECT", 16, 3, r => r.Project),
            new Column("BRANCH", 26, 1, r => r.Branch ?? "(in place)"),
            new Column("STATUS", 11, 0, r => r.Status.ToString()),
            new Column("ELAPSED", 8, 0, r => Elapsed(r.Elapsed), right: true),
            new Column("TURN", 5, 4, r => r.Turns?.ToString(CultureInfo.InvariantCulture) ?? "-", right: true),
            new Column("COST", 9, 5, r => Cost(r), right: true),
            new Column("FILES", 5, 2, r => r.FilesChanged?.ToString(CultureInfo.InvariantCulture) ?? "-", right: true),
        };

        /// <summary>The columns a window of <paramref name="width"/> characters shows: the least kept go first until the rest and some activity fit.</summary>
        private static List<Column> ColumnsFor(int width)
        {
            var shown = Columns.ToList();
            foreach (var drop in Columns.Where(c => c.Keep > 0).OrderBy(c => c.Keep))
            {
                if (shown.Sum(c => c.Width + 1) + ActivityRoom <= width)
                {
                    break;
                }

                shown.Remove(drop);
            }

            return shown;
        }

        /// <summary>The board's lines for a window of <paramref name="width"/> by <paramref name="height"/>; none longer than width - 1 characters of text.</summary>
        public static IReadOnlyList<string> Render(IReadOnlyList<ClaudeTaskBoardRow> rows, int width, int height, bool colour, DateTime now, TimeSpan since)
        {
            width = Math.Max(20, width - 1);
            height = Math.Max(4, height - 1);
            var shown = ColumnsFor(width);
            var fixedWidth = shown.Sum(c => c.Width + 1);
            var activityWidth = Math.Max(0, width - fixedWidth);

            var lines = new List<string>();
            var running = rows.Count(r => r.Status == ClaudeTaskStatus.Running);
            var spent = rows.Sum(r => r.CostUsd ?? 0);
            var estimated = rows.Any(r => r.CostEstimated);
            lines.Add(Fit(string.Format(CultureInfo.InvariantCulture,
                "Claude tasks · {0} running · {1} ended in the last {2} · {3}${4:0.0000} · {5:HH:mm:ss} · q leaves",
                running, rows.Count - running, Since(since), estimated ? "~" : string.Empty, spent, now), width));
            var header = new StringBuilder();
            foreach (var column in shown)
            {
                header.Append(Cell(column.Name, column.Width, column.Right)).Append(' ');
            }

            if (activityWidth > 0)
            {
                header.Append("ACTIVITY");
            }

            lines.Add(Fit(header.ToString(), width));
            var room = height - lines.Count;
            var visible = rows.Count > room ? room - 1 : rows.Count;
            foreach (var row in rows.Take(Math.Max(0, visible)))
            {
                var line = new StringBuilder();
                foreach (var column in shown)
                {
                    var cell = Cell(column.Value(row) ?? string.Empty, column.Width, column.Right);
                    line.Append(colour && column.Name == "STATUS" ? Colour(row.Status) + cell + Reset : cell).Append(' ');
                }

                if (activityWidth > 0)
                {
                    line.Append(Fit(row.Activity ?? string.Empty, activityWidth));
                }

                lines.Add(line.ToString());
            }

            if (rows.Count > visible)
            {
                lines.Add(Fit($"... and {rows.Count - visible} more (a larger window, or -Status, -Project, -Id)", width));
            }

            if (rows.Count == 0)
            {
                lines.Add(Fit("No task running, none ended in the last " + Since(since) + ".", width));
            }

            return lines;
        }

        internal static string Elapsed(TimeSpan span) =>
            span.TotalHours >= 1
                ? string.Format(CultureInfo.InvariantCulture, "{0}:{1:mm\\:ss}", (int)span.TotalHours, span)
                : span.ToString("mm\\:ss", CultureInfo.InvariantCulture);

        private static string Cost(ClaudeTaskBoardRow row) =>
            row.CostUsd.HasValue ? (row.CostEstimated ? "~$" : "$") + row.CostUsd.Value.ToString("0.0000", CultureInfo.InvariantCulture) : "-";

        private static string Since(TimeSpan since) =>
            since.TotalHours >= 1 && since.Minutes == 0 ? $"{(int)since.TotalHours}h" : $"{(int)since.TotalMinutes}m";

        private static string Colour(ClaudeTaskStatus status)
        {
            switch (status)
            {
                case ClaudeTaskStatus.Succeeded: return "\u001b[32m";
                case ClaudeTaskStatus.Running: return "\u001b[36m";
                case ClaudeTaskStatus.Failed:
                case ClaudeTaskStatus.Interrupted: return "\u001b[31m";
                case ClaudeTaskStatus.TimedOut:
                case ClaudeTaskStatus.Cancelled: return "\u001b[33m";
                default: return "\u001b[90m";
            }
        }

        private static string Cell(string text, int width, bool right)
        {
            var fitted = Fit(text, width);
            return right ? fitted.PadLeft(width) : fitted.PadRight(width);
        }

        private static string Fit(string text, int width)
        {
            text = text.Replace('\n', ' ').Replace('\r', ' ').Replace('\u001b', ' ');
            return text.Length <= width ? text : width <= 1 ? text.Substring(0, width) : text.Substring(0, width - 1) + "…";
        }
    }
}
