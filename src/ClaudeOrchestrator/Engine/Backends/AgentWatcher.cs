using System;
using System.Collections.Generic;
using System.Globalization;

namespace ClaudeOrchestrator.Engine.Backends
{
    /// <summary>
    /// The in-container half of "nothing left behind when pwsh dies". The container is started
    /// before the module attaches to it, so the watcher first waits a bounded time for the module
    /// to announce itself (one line on stdin, written right after attaching); a container whose
    /// session died between start and attach ends itself when that line never comes. From then on
    /// stdin stays attached to this process for the whole task (StdinOnce): when the connection
    /// drops because the process died, was killed or lost the engine, the engine closes stdin,
    /// the watcher sees EOF and kills the agent, and AutoRemove deletes the container. No socket
    /// inside the container, no reaper: the engine does the last step itself.
    /// </summary>
    internal static class AgentWatcher
    {
        /// <summary>
        /// How long a started container waits for its session to attach. Attaching takes
        /// milliseconds; the bound is for an engine under heavy load, and it is also how long a
        /// container started by a session killed before it could attach outlives that session.
        /// </summary>
        internal static readonly TimeSpan AnnounceDeadline = TimeSpan.FromSeconds(15);

        /// <summary>What the module writes on stdin once it is attached.</summary>
        internal static readonly byte[] Announcement = { (byte)'\n' };

        


        // POSIX sh only (dash, busybox ash, bash): no "read -t", so the deadline is a background
        // sleeper that kills the shell unless the announcement arrives first. fd 3 keeps the
        // attached stdin for the watcher; the agent gets /dev/null so it can never consume the
        // EOF signal. The agent is exec'd only after the announcement, so none of its output can
        // precede the attach. After "exec" $$ is the agent itself.
        internal static readonly string Script =
            "exec 3<&0 </dev/null; " +
            "{ sleep " + AnnounceDeadline.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "; " +
            "echo 'claude-orchestrator: no session attached in time; ending the task' >&2; kill -KILL $$ 2>/dev/null; } & " +
            "deadline=$!; " +
            "read -r _ <&3 || kill -KILL $$; " +
            "kill -KILL $deadline 2>/dev/null; " +
            "{ while read -r _; do :; done <&3; kill -KILL $$ 2>/dev/null; } & " +
            "command -v \"$1\" >/dev/null 2>&1 || { echo \"" + AgentNotFoundMarker + " $1\" >&2; exit 127; }; " +
            "exec \"$@\" 3<&-";

        /// <summary>What the watcher prints when the agent command is not in the image.</summary>
        internal const string AgentNotFoundMarker = "claude-orchestrator: no such agent command in the image:";

        /// <summary>
        /// The shell's arguments: the watcher script, then the agent's argv verbatim. With
        /// <paramref name="stdinFile"/> (a path in the container) the agent reads that file on
        /// stdin instead of /dev/null.
        /// </summary>
        public static List<string> Arguments(IEnumerable<string> agentArgv, string stdinFile = null)
        {
            var script = stdinFile == null ? Script : Script.Replace("exec \"$@\" 3<&-", $"exec \"$@\" <'{stdinFile}' 3<&-");
            var argv = new List<string> { "-c", script, "claude-orchestrator-watch" };
            argv.AddRange(agentArgv);
            return argv;
        }
    }
}
