using System;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// Demultiplexes the attached stream into whole lines as they arrive (for live display and the
    /// transcript) and the last <see cref="TailChars"/> characters of each stream (for the result):
    /// an agent that prints without end costs disk, not memory.
    /// </summary>
    internal sealed class AgentOutputReader
    {
        private const int BufferSize = 64 * 1024;

        // A longer line is shown and recorded in pieces of this size.
        private const int MaxLine = 1024 * 1024;

        /// <summary>How much of each stream the result keeps in memory; the transcript has the rest.</summary>
        public const int TailChars = 256 * 1024;

        private readonly Action<string, AgentStream> _onLine;
        private readonly Transcript _transcript;
        private readonly StreamText _stdout = new StreamText(AgentStream.StandardOutput);
        private readonly StreamText _stderr = new StreamText(AgentStream.StandardError);

        public AgentOutputReader(Action<string, AgentStream> onLine, Transcript transcript = null)
        {
            _transcript = transcript;
            _onLine = transcript == null
                ? onLine
                : (line, stream) =>
                {
                    transcript.Line(line, stream);
                    onLine(line, stream);
                };
        }

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
                target.Append(buffer, read.Count, _onLine);
                _transcript?.Flush();
            }

            _stdout.Finish(_onLine);
            _stderr.Finish(_onLine);
        }

        /// <summary>One stream's decoder: multi-byte characters may straddle two reads.</summary>
        private sealed class StreamText
        {
            private readonly AgentStream _stream;
            private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
            private readonly StringBuilder _all = new StringBuilder();
            private readonly StringBuilder _line = new StringBuilder();
            private char[] _chars = new char[BufferSize];
            private bool _truncated;

            public StreamText(AgentStream stream)
            {
                _stream = stream;
            }

            public bool Truncated
            {
                get
                {
                    lock (_all)
                    {
                        return _truncated;
                    }
                }
            }

            public string Text
            {
                get
                {
                    lock (_all)
                    {
                        return _all.ToString();
                    }
                }
            }

            public void Append(byte[] bytes, int count, Action<string, AgentStream> onLine)
            {
                var needed = _decoder.GetCharCount(bytes, 0, count, false);
                if (needed > _chars.Length)
                {
                    _chars = new char[needed];
                }

                var chars = _decoder.GetChars(bytes, 0, count, _chars, 0, false);
                lock (_all)
                {
                    _all.Append(_chars, 0, chars);
                    // Trimmed at twice the limit, so the copy is paid once per TailChars characters.
                    if (_all.Length > 2 * TailChars)
                    {
                        _all.Remove(0, _all.Length - TailChars);
                        _truncated = true;
                    }
                }

                for (var i = 0; i < chars; i++)
                {
                    var c = _chars[i];
                    if (c == '\n')
                    {
                        EmitLine(onLine);
                    }
                    else
                    {
                        _line.Append(c);
                        if (_line.Length >= MaxLine)
                        {
                            EmitLine(onLine);
                        }
                    }
                }
            }

            public void Finish(Action<string, AgentStream> onLine)
            {
                var tail = _decoder.GetCharCount(Array.Empty<byte>(), 0, 0, true);
                if (tail > 0)
                {
                    var chars = new char[tail];
                    _decoder.GetChars(Array.Empty<byte>(), 0, 0, chars, 0, true);
                    lock (_all)
                    {
                        _all.Append(chars);
                    }

                    _line.Append(chars);
                }

                if (_line.Length > 0)
                {
                    EmitLine(onLine);
                }
            }

            private void EmitLine(Action<string, AgentStream> onLine)
            {
                var length = _line.Length;
                if (length > 0 && _line[length - 1] == '\r')
                {
                    length--;
                }

                var line = _line.ToString(0, length);
                // One endless line must not grow without bound either.
                _line.Clear();
                if (_line.Capacity > 4 * BufferSize)
                {
                    _line.Capacity = BufferSize;
                }
                onLine(line, _stream);
            }
        }
    }
}
