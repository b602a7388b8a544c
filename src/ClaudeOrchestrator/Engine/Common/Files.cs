using System;
using System.IO;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>File operations the module needs in several places, each safe against what an agent may leave behind.</summary>
    internal static class Files
    {
        /// <summary>Puts a file written aside in place of <paramref name="target"/> by a rename: a reader sees the old whole file or the new one.</summary>
        public static void MoveReplacing(string temporary, string target)
        {
            if (File.Exists(target))
            {
                File.Replace(temporary, target, null);
            }
            else
            {
                File.Move(temporary, target);
            }
        }

        /// <summary>Deletes a file; one that is gone or cannot be deleted now is left to a later sweep.</summary>
        public static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
            }
        }

        /// <summary>
        /// An overlay's work directory: the kernel leaves an empty "work" in it, owned by root and
        /// unreadable, that only a non-recursive delete can remove as another user.
        /// </summary>
        public static void DeleteOverlayWork(string path)
        {
            try
            {
                var inner = Path.Combine(path, "work");
                if (Directory.Exists(inner))
                {
                    Directory.Delete(inner, false);
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
            }

            DeleteTree(path);
        }

        /// <summary>
        /// Recursive delete that never follows a link out of the tree (the agent may have planted
        /// links to anywhere) and gets past read-only files and directories the agent left.
        /// </summary>
        public static void DeleteTree(string path)
        {
            var info = new DirectoryInfo(path);
            if (!info.Exists)
            {
                return;
            }

            if ((info.Attributes & FileAttributes.ReparsePoint) != 0)
            {
                NativeUnix.Unlink(path);
                return;
            }

            try
            {
                // .NET deletes links inside the tree as links, never following them; only a tree
                // the agent made read-only needs the slow path below.
                Directory.Delete(path, true);
                return;
            }
            catch (Exception e) when (e is UnauthorizedAccessException || e is IOException)
            {
            }

            NativeUnix.TryChmod(path, Convert.ToInt32("700", 8));
            foreach (var entry in info.EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo directory && (directory.Attributes & FileAttributes.ReparsePoint) == 0)
                {
                    DeleteTree(directory.FullName);
                }
                else
                {
                    entry.Attributes = FileAttributes.Normal;
                    NativeUnix.Unlink(entry.FullName);
                }
            }

            Directory.Delete(path, false);
        }
    }
}
