using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Workspaces;

namespace ClaudeOrchestrator.Engine.Backends.Swarm
{
    /// <summary>
    /// Reads what a service's script (see <see cref="ServiceScript"/>) says about its transport
    /// and prints back after its agent, out of the log's stdout lines. Each part is decoded into a
    /// file beside the task's record as it arrives (a large workspace costs disk, not memory), and
    /// becomes a received part (see <see cref="ReturnedParts"/>) only when its SHA-256 matches the
    /// one the script printed after it. Lines before the first marker are the agent's own.
    /// </summary>
    internal sealed class ServiceResult : IDisposable
    {
        private readonly string _mark;
        private readonly string _directory;
        private readonly Dictionary<string, string> _problems = new Dictionary<string, string>(StringComparer.Ordinal);
        private readonly HashSet<string> _received = new HashSet<string>(StringComparer.Ordinal);
        private readonly TaskCompletionSource<int> _ended = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<bool> _transportFailed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private Part _current;

        /// <param name="directory">Where received parts are kept until they are restored (<see cref="ReturnedParts.DirectoryFor"/>).</param>
        public ServiceResult(string nonce, string directory)
        {
            _mark = ServiceScript.Marker + " " + nonce + " ";
            _directory = directory;
        }

        /// <summary>Completes with the agent's exit code once the whole result has been read.</summary>
        public Task<int> Ended => _ended.Task;

        /// <summary>Completes when the script said it could not carry the workspace in: it exits without running the agent.</summary>
        public Task TransportFailed => _transportFailed.Task;

        /// <summary>True once the workspace arrived whole and the agent was started.</summary>
        public bool Started { get; private set; }

        /// <summary>True once the agent ended and the script began printing the result.</summary>
        public bool Begun { get; private set; }

        /// <summary>The tools the image lacks for the transport (space-separated), when it said so.</summary>
        public string MissingTools { get; private set; }

        /// <summary>Why the workspace did not arrive whole ("tar": its unpack failed; "incomplete": it stopped short), when it did not.</summary>
        public string NotArrived { get; private set; }

        private sealed class Part
        {
            public string Target;
            public string Partial;
            public FileStream File;
            public IncrementalHash Hash;
        }

        /// <summary>For <see cref="AgentOutputReader.Divert"/>: takes the result's lines, leaves the agent's.</summary>
        public bool Take(string line)
        {
            if (line.StartsWith(_mark, StringComparison.Ordinal))
            {
                var words = line.Substring(_mark.Length).Split(new[] { ' ' }, 2);
                var rest = words.Length == 2 ? words[1] : string.Empty;
                switch (words[0])
                {
                    case "missing":
                        MissingTools = rest.Trim();
                        _transportFailed.TrySetResult(true);
                        break;
                    case "not-arrived":
                        NotArrived = rest.Length == 0 ? "incomplete" : rest;
                        _transportFailed.TrySetResult(true);
                        break;
                    case "start":
                        Started = true;
                        break;
                    case "begin":
                        Begun = true;
                        break;
                    case "part" when rest.Length > 0:
                        Close(null);
                        _current = Open(rest);
                        break;
                    case "sum" when rest.Length > 0:
                        var space = rest.LastIndexOf(' ');
                        if (_current != null && space > 0 && rest.Substring(0, space) == _current.Target)
                        {
                            Close(rest.Substring(space + 1));
                        }

                        break;
                    case "failed" when rest.Length > 0:
                        if (_current != null && _current.Target == rest)
                        {
                            Close(null);
                        }

                        _problems[rest] = $"the service could not pack {rest}";
                        break;
                    case "end":
                        Close(null);
                        _ended.TrySetResult(int.TryParse(rest, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code) ? code : -1);
                        break;
                }

                return true;
            }

            if (_current == null)
            {
                return Begun && !_ended.Task.IsCompleted;
            }

            try
            {
                var bytes = Convert.FromBase64String(line.Trim());
                _current.File.Write(bytes, 0, bytes.Length);
                _current.Hash.AppendData(bytes, 0, bytes.Length);
            }
            catch (FormatException)
            {
                var target = _current.Target;
                Close(null);
                _problems[target] = $"a line of {target} in the service's log was not base64";
            }

            return true;
        }

        private Part Open(string target)
        {
            Directory.CreateDirectory(_directory);
            var partial = ReturnedParts.PathFor(_directory, target) + ".partial";
            return new Part
            {
                Target = target,
                Partial = partial,
                File = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 81920),
                Hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
            };
        }

        /// <summary>Ends the part being read: with the script's checksum it becomes a received part when the bytes match, else it is dropped.</summary>
        private void Close(string expected)
        {
            var part = _current;
            _current = null;
            if (part == null)
            {
                return;
            }

            string actual;
            using (part.Hash)
            {
                part.File.Flush(true);
                part.File.Dispose();
                actual = Hex(part.Hash.GetHashAndReset());
            }

            if (expected != null && string.Equals(actual, expected.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                var received = ReturnedParts.PathFor(_directory, part.Target);
                Files.TryDelete(received);
                File.Move(part.Partial, received);
                _received.Add(part.Target);
                _problems.Remove(part.Target);
                return;
            }

            Files.TryDelete(part.Partial);
            if (!_problems.ContainsKey(part.Target))
            {
                _problems[part.Target] = expected == null
                    ? $"the service's log ended before {part.Target} was printed whole"
                    : $"{part.Target} came back damaged (its SHA-256 does not match the one the service printed)";
            }
        }

        internal static string Hex(byte[] bytes)
        {
            var text = new char[bytes.Length * 2];
            for (var i = 0; i < bytes.Length; i++)
            {
                text[2 * i] = "0123456789abcdef"[bytes[i] >> 4];
                text[2 * i + 1] = "0123456789abcdef"[bytes[i] & 15];
            }

            return new string(text);
        }

        /// <summary>
        /// After the service was removed: the node's engine stops its container with SIGTERM, and
        /// the script begins printing the work at once (within <paramref name="beginWait"/>) and
        /// ends within the stop grace period; a task that never ran prints nothing. Returns when
        /// the result is whole, or when it will not be.
        /// </summary>
        /// <param name="logEnded">The log stream's pump: once it is over, nothing more can arrive.</param>
        public async Task AwaitAfterStopAsync(TimeSpan beginWait, TimeSpan grace, Task logEnded, CancellationToken cancel = default)
        {
            var began = System.Diagnostics.Stopwatch.StartNew();
            // An agent that ignores SIGTERM is killed after its grace: the result begins only then. Asked
            // each time round: a sweep's log reader may see the agent's start only after the removal.
            TimeSpan Wait() => beginWait + (Started ? ServiceScript.AgentStopGrace : TimeSpan.Zero);
            while (!Begun && began.Elapsed < Wait() && !logEnded.IsCompleted && !cancel.IsCancellationRequested && !_transportFailed.Task.IsCompleted)
            {
                await Task.WhenAny(Ended, Task.Delay(100, cancel)).ConfigureAwait(false);
            }

            if (Begun && !cancel.IsCancellationRequested)
            {
                await Task.WhenAny(Ended, logEnded, Task.Delay(grace, cancel)).ConfigureAwait(false);
            }
        }

        /// <summary>The received part the container saw at <paramref name="target"/> (a gzip'd tar whose checksum matched); throws with the reason when it did not arrive whole.</summary>
        public string Received(string target)
        {
            if (_received.Contains(target))
            {
                return ReturnedParts.PathFor(_directory, target);
            }

            if (_problems.TryGetValue(target, out var problem))
            {
                throw new InvalidDataException(problem + ".");
            }

            throw new InvalidDataException(Begun
                ? $"the service's log ended before {target} was printed whole."
                : "the service printed no result (it ended, or was stopped, before its script could print the agent's work).");
        }

        /// <summary>Drops a part still being read; received parts stay for the restore.</summary>
        public void Dispose()
        {
            var part = _current;
            _current = null;
            if (part != null)
            {
                part.File.Dispose();
                part.Hash.Dispose();
                Files.TryDelete(part.Partial);
            }
        }
    }
}
