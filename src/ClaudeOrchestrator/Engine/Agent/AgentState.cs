using System.IO;
using System.Linq;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Agent
{
    /// <summary>
    /// The agent's own state directory of a task (Claude Code's CLAUDE_CONFIG_DIR: its session
    /// transcripts, settings it wrote): kept in the state directory so that -Resume finds the
    /// session after the container and its tmpfs home are gone.
    /// </summary>
    internal static class AgentState
    {
        /// <summary>
        /// Creates the directory; for a resumed task, a copy of the earlier task's, so each record
        /// owns its own. The agent must write it: for a numeric -User other than the caller, the
        /// tree is given to that uid where the caller may (root); otherwise it stays the caller's.
        /// </summary>
        public static void Prepare(string directory, string copyFrom, string containerUser)
        {
            Directory.CreateDirectory(directory);
            NativeUnix.TryChmod(directory, System.Convert.ToInt32("700", 8));
            if (copyFrom != null && Directory.Exists(copyFrom))
            {
                Copy(new DirectoryInfo(copyFrom), directory);
            }

            if (NativeUnix.IsUnix && containerUser != null && containerUser != NativeUnix.CallerUserSpec() && TryParseIds(containerUser, out var uid, out var gid))
            {
                foreach (var entry in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Prepend(directory))
                {
                    NativeUnix.TryChown(entry, uid, gid);
                }
            }
        }

        private static bool TryParseIds(string user, out uint uid, out uint gid)
        {
            var parts = user.Split(':');
            gid = 0;
            return uint.TryParse(parts[0], out uid) && (parts.Length == 1 ? (gid = uid) == uid : parts.Length == 2 && uint.TryParse(parts[1], out gid));
        }

        /// <summary>True when the directory holds the session's transcript (Claude Code names it by the session id).</summary>
        public static bool HasSession(string directory, string sessionId)
        {
            if (string.IsNullOrEmpty(directory) || string.IsNullOrEmpty(sessionId) || !Directory.Exists(directory))
            {
                return false;
            }

            var projects = Path.Combine(directory, "projects");
            return Directory.Exists(projects) &&
                   Directory.EnumerateFiles(projects, sessionId + ".jsonl", SearchOption.AllDirectories).GetEnumerator().MoveNext();
        }

        // Links are not followed: the agent wrote this directory and may have planted them.
        private static void Copy(DirectoryInfo source, string target)
        {
            Directory.CreateDirectory(target);
            foreach (var entry in source.EnumerateFileSystemInfos())
            {
                if ((entry.Attributes & FileAttributes.ReparsePoint) != 0)
                {
                    continue;
                }

                var destination = Path.Combine(target, entry.Name);
                if (entry is DirectoryInfo directory)
                {
                    Copy(directory, destination);
                }
                else
                {
                    File.Copy(entry.FullName, destination, true);
                }
            }
        }
    }
}
