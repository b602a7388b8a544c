using System;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// Demultiplexes the attached stream into whole lines as they arrive (for live display) and
    /// the exact text of each stream (for the result).
    /// </summary>
    internal sealed class AgentOutputReader
    {
        private const int BufferSize = 64 * 1024;

        private readonly Action<string, AgentStream> _onLine;
        private readonly StreamText _stdout = new StreamText(AgentStream.StandardOutput);
        private readonly StreamText _stderr = new StreamText(AgentStream.StandardError);

        public AgentOutputReader(Action<string, AgentStream> onLine)
        {
            _onLine = onLine;
        }

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

            public StreamText(AgentStream stream)
            {
                _stream = stream;
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
                _line.Clear();
                onLine(line, _stream);
            }
        }
    }
}
