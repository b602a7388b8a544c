using System;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Engine.Agent
{
    /// <summary>
    /// Demultiplexes the attached stream into whole lines as they arrive (for live display and the
    /// transcript) and the last <see cref="TailChars"/> characters of each stream (for the result):
    /// an agent that prints without end costs disk, not memory. With an event reader, stdout lines
    /// that are Claude Code events are shown and kept as their readable rendering; the transcript
    /// always has the raw lines.
    /// </summary>
    internal sealed class AgentOutputReader
    {
        private const int BufferSize = 64 * 1024;

        // A longer line is shown and recorded in pieces of this size.
        private const int MaxLine = 1024 * 1024;

        /// <summary>How much of each stream the result keeps in memory; the transcript has the rest.</summary>
        public const int TailChars = 256 * 1024;

        private readonly Action<string, AgentStream> _display;
        private readonly Transcript _transcript;
        private readonly ClaudeEventStream _events;
        private readonly StreamText _stdout = new StreamText(AgentStream.StandardOutput);
        private readonly StreamText _stderr = new StreamText(AgentStream.StandardError);

        public AgentOutputReader(Action<string, AgentStream> display, Transcript transcript = null, ClaudeEventStream events = null)
        {
            _display = display;
            _transcript = transcript;
            _events = events;
        }

        /// <summary>
        /// Sees every whole stdout line first; a line it takes is not the agent's output (shown,
        /// kept or recorded). A swarm service's result travels in its log after the agent's output.
        /// </summary>
        public Func<string, bool> Divert { get; set; }

        /// <summary>True when a stream printed more than the result keeps.</summary>
        public bool Truncated => _stdout.Truncated || _stderr.Truncated;

        public string StandardOutput => _stdout.Text;

        public string StandardError => _stderr.Text;

        public async Task PumpAsync(MultiplexedStream stream, CancellationToken cancel)
        {
            var buffer = new byte[BufferSize];
            while (true)
            {
                var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancel).ConfigureAwait(false);
                if (read.EOF)
                {
                    break;
                }

                var target = read.Target == MultiplexedStream.TargetStream.StandardError ? _stderr : _stdout;
                target.Append(buffer, read.Count, OnLine);
                _transcript?.Flush();
            }

            _stdout.Finish(OnLine);
            _stderr.Finish(OnLine);
        }

        /// <param name="ending">What ended the line in the agent's output: "\n", "\r\n", or nothing (a piece of a long line, or the last line).</param>
        private void OnLine(StreamText target, string line, string ending)
        {
            if (Divert != null && target.Stream == AgentStream.StandardOutput && Divert(line))
            {
                return;
            }

            _transcript?.Line(line, target.Stream);
            var rendered = target.Stream == AgentStream.StandardOutput ? _events?.Render(line) : null;
            if (rendered == null)
            {
                target.Keep(line, ending);
                _display(line, target.Stream);
                return;
            }

            foreach (var shown in rendered)
            {
                target.Keep(shown, "\n");
                _display(shown, target.Stream);
            }
        }

        /// <summary>One stream's decoder (multi-byte characters may straddle two reads) and its kept tail.</summary>
        private sealed class StreamText
        {
            private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
            private readonly StringBuilder _tail = new StringBuilder();
            private readonly StringBuilder _line = new StringBuilder();
            private char[] _chars = new char[BufferSize];
            private bool _truncated;

            public StreamText(AgentStream stream)
            {
                Stream = stream;
            }

            public AgentStream Stream { get; }

            public bool Truncated
            {
                get
                {
                    lock (_tail)
                    {
                        return _truncated;
                    }
                }
            }

            public string Text
            {
                get
                {
                    lock (_tail)
                    {
                        return _tail.ToString();
                    }
                }
            }

            /// <summary>Adds to the kept tail: what was shown, exactly as the agent ended it.</summary>
            public void Keep(string text, string ending)
            {
                lock (_tail)
                {
                    _tail.Append(text).Append(ending);
                    // Trimmed at twice the limit, so the copy is paid once per TailChars characters.
                    if (_tail.Length > 2 * TailChars)
                    {
                        _tail.Remove(0, _tail.Length - TailChars);
                        _truncated = true;
                    }
                }
            }

            public void Append(byte[] bytes, int count, Action<StreamText, string, string> onLine)
            {
                var needed = _decoder.GetCharCount(bytes, 0, count, false);
                if (needed > _chars.Length)
                {
                    _chars = new char[needed];
                }

                var chars = _decoder.GetChars(bytes, 0, count, _chars, 0, false);
                for (var i = 0; i < chars; i++)
                {
                    var c = _chars[i];
                    if (c == '\n')
                    {
                        EmitLine(onLine, true);
                    }
                    else
                    {
                        _line.Append(c);
                        if (_line.Length >= MaxLine)
                        {
                            EmitLine(onLine, false);
                        }
                    }
                }
            }

            public void Finish(Action<StreamText, string, string> onLine)
            {
                var tail = _decoder.GetCharCount(Array.Empty<byte>(), 0, 0, true);
                if (tail > 0)
                {
                    var chars = new char[tail];
                    _decoder.GetChars(Array.Empty<byte>(), 0, 0, chars, 0, true);
                    _line.Append(chars);
                }

                if (_line.Length > 0)
                {
                    EmitLine(onLine, false);
                }
            }

            private void EmitLine(Action<StreamText, string, string> onLine, bool newline)
            {
                var length = _line.Length;
                var ending = newline ? "\n" : string.Empty;
                if (newline && length > 0 && _line[length - 1] == '\r')
                {
                    length--;
                    ending = "\r\n";
                }

                var line = _line.ToString(0, length);
                // One endless line must not grow without bound either.
                _line.Clear();
                if (_line.Capacity > 4 * BufferSize)
                {
                    _line.Capacity = BufferSize;
                }

                onLine(this, line, ending);
            }
        }
    }
}
