using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Text;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Live;
using ClaudeOrchestrator.Hosting;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// A live board of this machine's tasks, drawn in place in the console: every task running in
    /// any session and every one that ended within -Since. q, Escape or Ctrl+C leaves it; it
    /// only reads, and never touches a task. -Once writes the rows as objects instead.
    /// </summary>
    [Cmdlet(VerbsCommon.Watch, "ClaudeTask")]
    [OutputType(typeof(ClaudeTaskBoardRow))]
    public sealed class WatchClaudeTaskCommand : ClaudeCmdletBase
    {
        // Enter the alternate screen and hide the cursor; leave both as they were.
        private const string EnterScreen = "\u001b[?1049h\u001b[?25l";
        private const string LeaveScreen = "\u001b[0m\u001b[?25h\u001b[?1049l";

        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("TaskId")]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(TaskIdCompleter))]
        public string[] Id { get; set; }

        [Parameter]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(ProjectNameCompleter))]
        public string[] Project { get; set; }

        [Parameter]
        public ClaudeTaskStatus[] Status { get; set; }

        /// <summary>Ended tasks are shown for this long after they ended (default 15 minutes).</summary>
        [Parameter]
        [TimeSpanArgument]
        public TimeSpan Since { get; set; } = TimeSpan.FromMinutes(15);

        /// <summary>Writes the board's rows once, as objects, instead of drawing it.</summary>
        [Parameter]
        public SwitchParameter Once { get; set; }

        private readonly List<string> _ids = new List<string>();

        protected override void BeginProcessing()
        {
            if (Since <= TimeSpan.Zero)
            {
                ThrowTerminatingError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(Since), Since, "-Since must be positive."),
                    ErrorIds.BoardSinceInvalid, ErrorCategory.InvalidArgument, Since));
            }
        }

        protected override void ProcessRecord()
        {
            if (Id != null)
            {
                _ids.AddRange(Id);
            }
        }

        protected override void EndProcessing()
        {
            if (Once)
            {
                foreach (var row in Rows())
                {
                    WriteObject(row);
                }

                return;
            }

            var ui = Host?.UI;
            var raw = ui?.RawUI;
            if (!IsConsole(raw))
            {
                ThrowTerminatingError(new ErrorRecord(
                    new PSInvalidOperationException("Watch-ClaudeTask draws its board in an interactive console, and this host has none (its output or input is redirected, or the host draws no console). Use Watch-ClaudeTask -Once for the rows as objects, or Get-ClaudeTask."),
                    ErrorIds.BoardNeedsConsole, ErrorCategory.InvalidOperation, Host?.Name));
            }

            var colour = ui.SupportsVirtualTerminal;
            var origin = raw.WindowPosition;
            if (colour)
            {
                ui.Write(EnterScreen);
            }

            try
            {
                while (!CancelToken.IsCancellationRequested)
                {
                    var size = raw.WindowSize;
                    var lines = TaskBoardView.Render(Rows().ToList(), size.Width, size.Height, colour, DateTime.Now, Since);
                    Draw(ui, raw, lines, size, colour, origin);
                    if (WaitForLeave(raw, TimeSpan.FromSeconds(1)))
                    {
                        break;
                    }
                }
            }
            finally
            {
                if (colour)
                {
                    ui.Write(LeaveScreen);
                }
                else
                {
                    raw.CursorPosition = new Coordinates(0, Math.Min(origin.Y + raw.WindowSize.Height - 1, raw.BufferSize.Height - 1));
                    ui.WriteLine();
                }
            }
        }

        private IEnumerable<ClaudeTaskBoardRow> Rows()
        {
            var ids = _ids.Count == 0 ? null : _ids.Select(i => new WildcardPattern(i, WildcardOptions.IgnoreCase)).ToList();
            var projects = Project?.Select(p => new WildcardPattern(p, WildcardOptions.IgnoreCase)).ToList();
            return TaskBoard.Rows(DateTime.UtcNow - Since).Where(r =>
                (ids == null || ids.Any(p => p.IsMatch(r.TaskId))) &&
                (projects == null || projects.Any(p => p.IsMatch(r.Project ?? string.Empty))) &&
                (Status == null || Status.Contains(r.Status)));
        }

        /// <summary>One frame over the last: with escape sequences from the window's top, else by moving the cursor to where the board began; never past the window's last line, so nothing scrolls.</summary>
        private static void Draw(PSHostUserInterface ui, PSHostRawUserInterface raw, IReadOnlyList<string> lines, Size size, bool colour, Coordinates origin)
        {
            var frame = new StringBuilder();
            if (colour)
            {
                frame.Append("\u001b[H");
                for (var i = 0; i < lines.Count; i++)
                {
                    frame.Append(lines[i]).Append("\u001b[K");
                    if (i < lines.Count - 1)
                    {
                        frame.Append("\r\n");
                    }
                }

                frame.Append("\u001b[J");
                ui.Write(frame.ToString());
                return;
            }

            raw.CursorPosition = origin;
            var width = Math.Max(1, size.Width - 1);
            for (var i = 0; i < size.Height - 1; i++)
            {
                var line = i < lines.Count ? lines[i] : string.Empty;
                frame.Append(line.PadRight(width));
                if (i < size.Height - 2)
                {
                    frame.Append('\n');
                }
            }

            ui.Write(frame.ToString());
        }

        /// <summary>Waits up to <paramref name="wait"/>; true when q or Escape was pressed (Ctrl+C cancels the cmdlet).</summary>
        private bool WaitForLeave(PSHostRawUserInterface raw, TimeSpan wait)
        {
            var deadline = DateTime.UtcNow + wait;
            while (DateTime.UtcNow < deadline)
            {
                while (raw.KeyAvailable)
                {
                    var key = raw.ReadKey(ReadKeyOptions.NoEcho | ReadKeyOptions.IncludeKeyDown);
                    if (key.KeyDown && (key.Character == 'q' || key.Character == 'Q' || key.VirtualKeyCode == 27))
                    {
                        return true;
                    }
                }

                if (CancelToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(100)))
                {
                    return false;
                }
            }

            return false;
        }

        /// <summary>A console the board can be drawn in and keys read from.</summary>
        private static bool IsConsole(PSHostRawUserInterface raw)
        {
            if (raw == null || Console.IsOutputRedirected || Console.IsInputRedirected)
            {
                return false;
            }

            try
            {
                var size = raw.WindowSize;
                _ = raw.KeyAvailable;
                return size.Width > 0 && size.Height > 0;
            }
            catch (Exception e) when (e is NotImplementedException || e is NotSupportedException || e is InvalidOperationException || e is System.IO.IOException || e is HostException)
            {
                return false;
            }
        }
    }
}
