using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// What a task's service runs in place of the container's watcher. A service has no attach,
    /// no archive API and no volume this machine can reach on whichever node it lands, so the
    /// workspace arrives in configs (unpacked into the service's tmpfs mounts before the agent
    /// starts) and leaves in the service's own log: after the agent ends, for whatever reason
    /// (its exit, the SIGTERM of a removed service on timeout or Ctrl+C), the script prints each
    /// returned part as base64 of a gzip'd tar between marker lines that carry a per-task nonce.
    /// The removed service's container keeps running for its stop grace period, and the log
    /// stream the session already follows delivers those lines.
    /// </summary>
    internal static class ServiceScript
    {
        /// <summary>Where the configs with the workspace are mounted, in order of their names.</summary>
        public const string InputDirectory = "/run/claude-orchestrator-in";

        public const string InputPrefix = "in.";

        internal const string Marker = "claude-orchestrator-result";

        /// <summary>The exit code when the workspace could not be unpacked (nothing ran).</summary>
        public const int UnpackFailed = 125;

        /// <param name="nonce">Per task; the markers carry it so the agent's own output cannot end the result early by accident.</param>
        /// <param name="unpack">The directories the archive fills (created first: one of them lies in a tmpfs of the sandbox).</param>
        /// <param name="returned">The directories that come back, in the order they are printed.</param>
        /// <param name="stdinFile">The description's path when the agent reads it on stdin; null for /dev/null.</param>
        public static List<string> Arguments(string nonce, IEnumerable<string> unpack, IEnumerable<string> returned, IEnumerable<string> agentArgv, string stdinFile)
        {
            var mark = Marker + " " + nonce;
            var script =
                "mkdir -p " + string.Join(" ", unpack.Select(Quote)) + " 2>/dev/null; " +
                "if [ -e " + InputDirectory + "/" + InputPrefix + "000 ]; then cat " + InputDirectory + "/" + InputPrefix + "* | tar -xzf - -C / || " +
                "{ echo 'claude-orchestrator: the workspace could not be unpacked in the service' >&2; exit " + UnpackFailed.ToString(CultureInfo.InvariantCulture) + "; }; fi; " +
                "if command -v \"$1\" >/dev/null 2>&1; then " +
                "\"$@\" <" + Quote(stdinFile ?? "/dev/null") + " & a=$!; " +
                // SIGTERM (a removed service, as the engine stops its container) ends the agent, not the script.
                "trap 'kill -TERM $a 2>/dev/null' TERM INT; " +
                "while :; do wait $a; c=$?; kill -0 $a 2>/dev/null || break; done; " +
                "else echo \"" + AgentWatcher.AgentNotFoundMarker + " $1\" >&2; c=127; fi; " +
                "trap '' TERM INT; " +
                "echo '" + mark + " begin'; " +
                "for t in " + string.Join(" ", returned.Select(Quote)) + "; do " +
                "echo \"" + mark + " part $t\"; " +
                "tar -czf - -C \"${t%/*}/\" \"${t##*/}\" | base64 || echo \"" + mark + " failed $t\"; done; " +
                "echo \"" + mark + " end $c\"; exit $c";
            var argv = new List<string> { "-c", script, "claude-orchestrator-service" };
            argv.AddRange(agentArgv);
            return argv;
        }

        private static string Quote(string text) => "'" + text.Replace("'", "'\\''") + "'";
    }

    /// <summary>
    /// Reads the result a service prints after its agent (see <see cref="ServiceScript"/>) out of
    /// the log's stdout lines: each part decoded into a temporary file as it arrives, so a large
    /// workspace costs disk, not memory. Lines before the first marker are the agent's own.
    /// </summary>
    internal sealed class ServiceResult : IDisposable
    {
        private readonly string _mark;
        private readonly Dictionary<string, FileStream> _parts = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        private readonly HashSet<string> _failed = new HashSet<string>(StringComparer.Ordinal);
        private readonly TaskCompletionSource<int> _ended = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        private FileStream _current;
        private bool _begun;
        private string _broken;

        public ServiceResult(string nonce)
        {
            _mark = ServiceScript.Marker + " " + nonce + " ";
        }

        /// <summary>Completes with the agent's exit code once the whole result has been read.</summary>
        public Task<int> Ended => _ended.Task;

        /// <summary>True once the agent ended and the script began printing the result.</summary>
        public bool Begun => _begun;

        /// <summary>For <see cref="AgentOutputReader.Divert"/>: takes the result's lines, leaves the agent's.</summary>
        public bool Take(string line)
        {
            if (line.StartsWith(_mark, StringComparison.Ordinal))
            {
                var words = line.Substring(_mark.Length).Split(new[] { ' ' }, 2);
                switch (words[0])
                {
                    case "begin":
                        _begun = true;
                        break;
                    case "part" when words.Length == 2:
                        _current = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose);
                        _parts[words[1]] = _current;
                        break;
                    case "failed" when words.Length == 2:
                        _failed.Add(words[1]);
                        _current = null;
                        break;
                    case "end":
                        _current = null;
                        _ended.TrySetResult(words.Length == 2 && int.TryParse(words[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var code) ? code : -1);
                        break;
                }

                return true;
            }

            if (_current == null)
            {
                return _begun && !_ended.Task.IsCompleted;
            }

            try
            {
                var bytes = Convert.FromBase64String(line.Trim());
                _current.Write(bytes, 0, bytes.Length);
            }
            catch (FormatException)
            {
                _broken = _broken ?? "a line of the result was not base64";
                _current = null;
            }

            return true;
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
            while (!_begun && began.Elapsed < beginWait && !logEnded.IsCompleted && !cancel.IsCancellationRequested)
            {
                await Task.WhenAny(Ended, Task.Delay(100, cancel)).ConfigureAwait(false);
            }

            if (_begun && !cancel.IsCancellationRequested)
            {
                await Task.WhenAny(Ended, logEnded, Task.Delay(grace, cancel)).ConfigureAwait(false);
            }
        }

        /// <summary>The decompressed tar of the part the container saw at <paramref name="target"/>; throws with the reason when it did not arrive whole.</summary>
        public Stream Open(string target)
        {
            if (_broken != null)
            {
                throw new InvalidDataException(_broken + ".");
            }

            if (_failed.Contains(target))
            {
                throw new InvalidDataException($"the service could not pack {target}.");
            }

            if (!_ended.Task.IsCompleted || !_parts.TryGetValue(target, out var part))
            {
                throw new InvalidDataException($"the service's log ended before {target} was printed whole.");
            }

            part.Position = 0;
            return new System.IO.Compression.GZipStream(part, System.IO.Compression.CompressionMode.Decompress, leaveOpen: true);
        }

        public void Dispose()
        {
            foreach (var part in _parts.Values)
            {
                part.Dispose();
            }
        }
    }
}
