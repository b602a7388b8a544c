using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Engine.Workspaces
{
    /// <summary>
    /// The parts of a workspace that came back from a swarm service, kept beside the task's record
    /// (tasks/&lt;id&gt;/returned-parts/) from the moment their checksum matched until they are
    /// in the checkout. The service is gone by then, so these files are the only copy of the
    /// agent's work: a session killed before it put them in place leaves them for the sweep,
    /// which restores them (extraction and mirror are idempotent) and then saves the checkout.
    /// </summary>
    internal static class ReturnedParts
    {
        public const string DirectoryName = "returned-parts";
        private const string Extension = ".tgz";

        public static string DirectoryFor(string taskId) => Path.Combine(TaskStore.DirectoryFor(taskId), DirectoryName);

        /// <summary>A received part's file for the target the container saw ("/workspace" is "%2Fworkspace.tgz").</summary>
        public static string PathFor(string directory, string target) => Path.Combine(directory, Uri.EscapeDataString(target) + Extension);

        /// <summary>The targets whose received parts wait to be restored.</summary>
        public static IReadOnlyList<string> Waiting(string taskId)
        {
            var directory = DirectoryFor(taskId);
            if (!Directory.Exists(directory))
            {
                return Array.Empty<string>();
            }

            return Directory.GetFiles(directory, "*" + Extension)
                .Select(f => Uri.UnescapeDataString(Path.GetFileName(f).Substring(0, Path.GetFileName(f).Length - Extension.Length)))
                .ToList();
        }

        /// <summary>The part for <paramref name="target"/> is in place (the received file is gone): the checkout holds it now.</summary>
        public static void MarkRestored(string directory, string target)
        {
            Directory.CreateDirectory(directory);
            Files.TryDelete(Marker(directory, target, LostExtension));
            File.WriteAllText(Marker(directory, target, RestoredExtension), string.Empty);
        }

        /// <summary>The part for <paramref name="target"/> did not come back whole: why, kept for the salvage to say.</summary>
        public static void MarkLost(string directory, string target, string why)
        {
            Directory.CreateDirectory(directory);
            Files.TryDelete(Marker(directory, target, RestoredExtension));
            File.WriteAllText(Marker(directory, target, LostExtension), why);
        }

        public static bool WasRestored(string directory, string target) => File.Exists(Marker(directory, target, RestoredExtension));

        /// <summary>Why the part for <paramref name="target"/> was lost, or null.</summary>
        public static string LostWhy(string directory, string target)
        {
            var file = Marker(directory, target, LostExtension);
            return File.Exists(file) ? File.ReadAllText(file) : null;
        }

        private const string RestoredExtension = ".restored";
        private const string LostExtension = ".lost";

        private static string Marker(string directory, string target, string extension) => Path.Combine(directory, Uri.EscapeDataString(target) + extension);

        /// <summary>Deletes what is left (parts cut short, or the empty directory).</summary>
        public static void Clear(string taskId) => Files.DeleteTree(DirectoryFor(taskId));
    }
}
