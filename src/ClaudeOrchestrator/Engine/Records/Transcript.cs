using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Records
{
    /// <summary>
    /// A task's complete output on disk, one line per agent line: "&lt;UTC time&gt; &lt;out|err|mod&gt; &lt;text&gt;".
    /// The agent may print without end; memory holds only a tail, the file holds everything.
    /// Lines are buffered and appended at each flush (after every chunk the agent sends), with the
    /// file open only for that moment: a running task holds no file descriptor for its transcript,
    /// so hundreds of tasks cost one descriptor each (their attach connection).
    /// </summary>
    internal sealed class Transcript : IDisposable
    {
        public const string Out = "out";
        public const string Err = "err";
        public const string Module = "mod";

        // Written out early when a chunk brings this much, so one huge chunk cannot grow the buffer without bound.
        private const int FlushAt = 64 * 1024;

        private static readonly Encoding Utf8 = new UTF8Encoding(false);

        private readonly object _gate = new object();
        private StringBuilder _pending = new StringBuilder();
        private bool _closed;

        private Transcript(string path)
        {
            Path = path;
        }

        public string Path { get; }

        public static Transcript Open(string path)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path));
            // Created now, so a record's transcript always exists (and an unwritable one fails the start).
            new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete).Dispose();
            return new Transcript(path);
        }

        public void Line(string text, AgentStream stream) => Write(stream == AgentStream.StandardError ? Err : Out, text);

        public void Note(string text)
        {
            Write(Module, text);
            Flush();
        }

        private void Write(string kind, string text)
        {
            lock (_gate)
            {
                if (_closed)
                {
                    return;
                }

                _pending.Append(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture))
                    .Append(' ').Append(kind).Append(' ').Append(text).Append('\n');
                if (_pending.Length >= FlushAt)
                {
                    FlushLocked();
                }
            }
        }

        /// <summary>Called after each chunk the agent sent, so a killed session loses at most the chunk in flight.</summary>
        public void Flush()
        {
            lock (_gate)
            {
                FlushLocked();
            }
        }

        private void FlushLocked()
        {
            if (_pending.Length == 0)
            {
                return;
            }

            try
            {
                var bytes = Utf8.GetBytes(_pending.ToString());
                using (var file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
                {
                    file.Write(bytes, 0, bytes.Length);
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // A full disk must not fail the task: the tail in memory still has the end.
            }

            // A buffer that grew for one big chunk is not kept for the rest of the task.
            if (_pending.Capacity > 2 * FlushAt)
            {
                _pending = new StringBuilder();
            }
            else
            {
                _pending.Clear();
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                FlushLocked();
                _closed = true;
            }
        }

        /// <summary>The transcript's lines, parsed; lines not in the format come back whole as output.</summary>
        public static IEnumerable<ClaudeTranscriptLine> Read(string path, string taskId)
        {
            if (!File.Exists(path))
            {
                yield break;
            }

            using (var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete), new UTF8Encoding(false)))
            {
                string line;
                while ((line = reader.ReadLine()) != null)
                {
                    yield return Parse(line, taskId);
                }
            }
        }

        internal static ClaudeTranscriptLine Parse(string line, string taskId)
        {
            var first = line.IndexOf(' ');
            var second = first < 0 ? -1 : line.IndexOf(' ', first + 1);
            if (second > 0 && DateTime.TryParse(line.Substring(0, first), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
            {
                var kind = line.Substring(first + 1, second - first - 1);
                if (kind == Out || kind == Err || kind == Module)
                {
                    return new ClaudeTranscriptLine
                    {
                        TaskId = taskId,
                        Time = time.ToLocalTime(),
                        Stream = kind == Out ? "Output" : kind == Err ? "Error" : "Module",
                        Text = line.Substring(second + 1),
                    };
                }
            }

            return new ClaudeTranscriptLine { TaskId = taskId, Stream = "Output", Text = line };
        }
    }
}
