using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// A task's complete output on disk, one line per agent line: "&lt;UTC time&gt; &lt;out|err|mod&gt; &lt;text&gt;".
    /// The agent may print without end; memory holds only a tail, the file holds everything.
    /// </summary>
    internal sealed class Transcript : IDisposable
    {
        public const string Out = "out";
        public const string Err = "err";
        public const string Module = "mod";

        private readonly object _gate = new object();
        private StreamWriter _writer;

        private Transcript(string path, StreamWriter writer)
        {
            Path = path;
            _writer = writer;
        }

        public string Path { get; }

        public static Transcript Open(string path)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path));
            var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 64 * 1024);
            return new Transcript(path, new StreamWriter(file, new UTF8Encoding(false), 64 * 1024) { NewLine = "\n" });
        }

        public void Line(string text, AgentStream stream) => Write(stream == AgentStream.StandardError ? Err : Out, text);

        public void Note(string text) => Write(Module, text);

        private void Write(string kind, string text)
        {
            lock (_gate)
            {
                if (_writer == null)
                {
                    return;
                }

                try
                {
                    _writer.Write(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
                    _writer.Write(' ');
                    _writer.Write(kind);
                    _writer.Write(' ');
                    _writer.WriteLine(text);
                }
                catch (IOException)
                {
                    // A full disk must not fail the task: the tail in memory still has the end.
                }
            }
        }

        /// <summary>Called after each chunk the agent sent, so a killed session loses at most the chunk in flight.</summary>
        public void Flush()
        {
            lock (_gate)
            {
                try
                {
                    _writer?.Flush();
                }
                catch (IOException)
                {
                }
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                try
                {
                    _writer?.Dispose();
                }
                catch (IOException)
                {
                }

                _writer = null;
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
