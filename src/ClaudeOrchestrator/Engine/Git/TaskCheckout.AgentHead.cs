using System;
using System.IO;
using System.Linq;

namespace ClaudeOrchestrator.Engine.Git
{
    /// <summary>What the agent left in the checkout's .git, read as plain files and never trusted: its HEAD, its refs.</summary>
    internal sealed partial class TaskCheckout
    {
        /// <summary>
        /// The commit the checkout's HEAD names, read as plain files: running git against a .git
        /// the agent could rewrite would run whatever its config says. Null when unreadable.
        /// </summary>
        internal string AgentHead()
        {
            var dotGit = Path.Combine(CheckoutDirectory, ".git");
            if (!IsPlainDirectory(dotGit))
            {
                return null;
            }

            var head = ReadSmall(Path.Combine(dotGit, "HEAD"));
            for (var depth = 0; head != null && depth < 5; depth++)
            {
                if (!head.StartsWith("ref: ", StringComparison.Ordinal))
                {
                    return IsObjectName(head) ? head : null;
                }

                var name = head.Substring(5).Trim();
                if (!name.StartsWith("refs/", StringComparison.Ordinal) || name.Contains(".."))
                {
                    return null;
                }

                head = ReadSmall(Path.Combine(dotGit, name.Replace('/', Path.DirectorySeparatorChar))) ?? PackedRef(dotGit, name);
            }

            return null;
        }

        private static string PackedRef(string dotGit, string name)
        {
            var packed = Path.Combine(dotGit, "packed-refs");
            if (!File.Exists(packed) || !IsPlainFile(packed))
            {
                return null;
            }

            foreach (var line in File.ReadLines(packed))
            {
                var space = line.IndexOf(' ');
                if (space > 0 && !line.StartsWith("#", StringComparison.Ordinal) && line.Substring(space + 1) == name)
                {
                    return line.Substring(0, space);
                }
            }

            return null;
        }

        private static string ReadSmall(string path)
        {
            if (!File.Exists(path) || !IsPlainFile(path) || new FileInfo(path).Length > 4096)
            {
                return null;
            }

            return File.ReadAllText(path).Trim();
        }

        private static bool IsObjectName(string text) =>
            (text.Length == 40 || text.Length == 64) && text.All(c => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));

        private static bool IsPlainDirectory(string path) =>
            Directory.Exists(path) && (new DirectoryInfo(path).Attributes & FileAttributes.ReparsePoint) == 0;

        private static bool IsPlainFile(string path) => (new FileInfo(path).Attributes & FileAttributes.ReparsePoint) == 0;
    }
}
