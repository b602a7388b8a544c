using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ClaudeOrchestrator.Engine.Backends;

namespace ClaudeOrchestrator.Engine.Backends.Swarm
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
    ///
    /// Nothing here trusts an exit status it cannot see: a pipeline reports its last command, and
    /// busybox tar may exit 0 when its compressor cannot run. So the tools are looked for before
    /// anything else, the workspace counts as arrived only when the archive's last entry (a file
    /// holding the nonce) is there after unpacking, and each part printed back is written to a
    /// file first, its tar's status checked, and followed by its SHA-256, which the session
    /// checks before a byte of it is used.
    /// </summary>
    internal static class ServiceScript
    {
        /// <summary>Where the configs with the workspace are mounted, in order of their names.</summary>
        public const string InputDirectory = "/run/claude-orchestrator-in";

        public const string InputPrefix = "in.";

        /// <summary>A tmpfs of the service's own: the arrival proof lands here, and each part is packed here before it is printed.</summary>
        public const string OutputDirectory = "/run/claude-orchestrator-out";

        /// <summary>The archive's last entry (relative to /): its content is the nonce.</summary>
        public const string ArrivalEntry = "run/claude-orchestrator-out/arrived";

        internal const string Marker = "claude-orchestrator-result";

        /// <summary>What the transport needs in the image, beside /bin/sh.</summary>
        public static readonly IReadOnlyList<string> Tools = new[] { "tar", "gzip", "base64", "sha256sum", "cat", "mkdir", "rm" };

        /// <summary>
        /// A shell function: is $1 an executable file in a PATH directory? Not "command -v": a
        /// busybox shell answers for its own applets, while tar runs gzip from PATH (which is how
        /// an image without a gzip link unpacks nothing and says it did).
        /// </summary>
        public const string OnPathFunction = "on_path() ( IFS=:; for d in $PATH; do [ -f \"$d/$1\" ] && [ -x \"$d/$1\" ] && exit 0; done; exit 1 ); ";

        /// <summary>Shell that prints the missing tools, space-separated (nothing when all are there).</summary>
        public static string MissingToolsCheck => OnPathFunction + "for t in " + string.Join(" ", Tools) + "; do on_path \"$t\" || printf '%s ' \"$t\"; done";

        /// <summary>The exit code when the workspace could not be unpacked, or the tools to carry it are missing (nothing ran).</summary>
        public const int UnpackFailed = 125;

        /// <summary>How long an agent has to end after SIGTERM before it, and everything it started, is killed so its work can be printed.</summary>
        public static readonly TimeSpan AgentStopGrace = TimeSpan.FromSeconds(10);

        /// <param name="nonce">Per task; the markers carry it so the agent's own output cannot end the result early by accident.</param>
        /// <param name="unpack">The directories the archive fills (created first: one of them lies in a tmpfs of the sandbox).</param>
        /// <param name="returned">The directories that come back, in the order they are printed.</param>
        /// <param name="stdinFile">The description's path when the agent reads it on stdin; null for /dev/null.</param>
        public static List<string> Arguments(string nonce, IEnumerable<string> unpack, IEnumerable<string> returned, IEnumerable<string> agentArgv, string stdinFile)
        {
            var mark = Marker + " " + nonce;
            var grace = ((int)AgentStopGrace.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            var script =
                "m='" + mark + "'; o=" + OutputDirectory + "; " +
                "n=$(" + MissingToolsCheck + "); " +
                "if [ -n \"$n\" ]; then echo \"$m missing $n\"; exit " + UnpackFailed.ToString(CultureInfo.InvariantCulture) + "; fi; " +
                "mkdir -p " + string.Join(" ", unpack.Select(Quote)) + " 2>/dev/null; " +
                // tar's own status, and then the proof that it got to the archive's last entry.
                "cat " + InputDirectory + "/" + InputPrefix + "* | tar -xzf - -C / || { echo \"$m not-arrived tar\"; exit " + UnpackFailed.ToString(CultureInfo.InvariantCulture) + "; }; " +
                "[ \"$(cat /" + ArrivalEntry + " 2>/dev/null)\" = '" + nonce + "' ] || { echo \"$m not-arrived incomplete\"; exit " + UnpackFailed.ToString(CultureInfo.InvariantCulture) + "; }; " +
                "rm -f /" + ArrivalEntry + "; " +
                "if command -v \"$1\" >/dev/null 2>&1; then " +
                "echo \"$m start\"; " +
                "\"$@\" <" + Quote(stdinFile ?? "/dev/null") + " & a=$!; " +
                // SIGTERM (a removed service, as the engine stops its container) ends the agent, not the script.
                "trap 's=1; kill -TERM $a 2>/dev/null' TERM INT; " +
                "while :; do wait $a; c=$?; [ -n \"$s\" ] && break; kill -0 $a 2>/dev/null || break; done; " +
                // Stopped: the agent has a short while to end, then it is killed, whatever it does with SIGTERM.
                "if [ -n \"$s\" ]; then { sleep " + grace + "; kill -KILL $a 2>/dev/null; } & k=$!; wait $a 2>/dev/null; kill -KILL $k 2>/dev/null; c=143; fi; " +
                "else echo \"" + AgentWatcher.AgentNotFoundMarker + " $1\" >&2; c=127; fi; " +
                "trap '' TERM INT; " +
                // Nothing the agent started may still be writing while its work is packed (kill -1 spares this shell and init).
                "kill -KILL -1 2>/dev/null; " +
                "echo \"$m begin\"; " +
                "for t in " + string.Join(" ", returned.Select(Quote)) + "; do " +
                "f=$o/part; " +
                "if tar -czf \"$f\" -C \"${t%/*}/\" \"${t##*/}\" && h=$(sha256sum < \"$f\"); then " +
                "echo \"$m part $t\"; base64 \"$f\" && echo \"$m sum $t ${h%% *}\" || echo \"$m failed $t\"; " +
                "else echo \"$m failed $t\"; fi; " +
                "rm -f \"$f\"; done; " +
                "echo \"$m end $c\"; exit $c";
            var argv = new List<string> { "-c", script, "claude-orchestrator-service" };
            argv.AddRange(agentArgv);
            return argv;
        }

        private static string Quote(string text) => "'" + text.Replace("'", "'\\''") + "'";
    }
}
