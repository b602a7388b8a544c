using System.Collections.Generic;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// The in-container half of "nothing left behind when pwsh dies". The container's stdin stays
    /// attached to this process for the whole task (StdinOnce); when the connection drops because
    /// the process died, was killed or lost the engine, the engine closes stdin, this watcher sees
    /// EOF and kills the agent, and AutoRemove deletes the container. No socket inside the
    /// container, no reaper: the engine does the last step itself.
    /// </summary>
    internal static class AgentWatcher
    {
        // fd 3 keeps the attached stdin for the watcher; the agent gets /dev/null so it can never
        // consume the EOF signal. After "exec" $$ is the agent itself.
        internal const string Script =
            "exec 3<&0 </dev/null; { while read -r _; do :; done <&3; kill -KILL $$; } & exec \"$@\" 3<&-";

        internal const string Shell = "/bin/sh";

        /// <summary>The shell's arguments: the watcher script, then the agent's argv verbatim.</summary>
        public static List<string> Arguments(IEnumerable<string> agentArgv)
        {
            var argv = new List<string> { "-c", Script, "claude-orchestrator-watch" };
            argv.AddRange(agentArgv);
            return argv;
        }
    }
}
