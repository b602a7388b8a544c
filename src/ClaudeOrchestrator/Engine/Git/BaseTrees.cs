using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Git
{
    /// <summary>
    /// The base trees overlay checkouts share: one per repository and commit, under the state
    /// directory's bases/, written once and then only read (the overlay's lower layer):
    ///
    ///   bases/&lt;repo&gt;-&lt;commit&gt;/tree/          every file of the commit
    ///   bases/&lt;repo&gt;-&lt;commit&gt;/tree/.git/index  its index, stat data and all: seen through the
    ///                                        overlay the files keep their inode and times, so
    ///                                        git status in a task is clean without reading them
    ///   bases/&lt;repo&gt;-&lt;commit&gt;/gitignores     the tree's .gitignore paths (a task's layer starts
    ///                                        with copies, so saving from the layer ignores what
    ///                                        the repository ignores)
    ///
    /// A task references its base by a link in its own directory (base-tree), made before the base
    /// is used and deleted after its layer; the sweep deletes a base no link names once it has not
    /// been used for <see cref="IdleBeforeSweep"/>.
    /// </summary>
    internal static class BaseTrees
    {
        internal const string TreeName = "tree";
        internal const string GitignoresName = "gitignores";
        internal const string ReferenceName = "base-tree";
        private const string StagingPrefix = ".new-";
        private const string TrashPrefix = ".old-";

        // Long enough that tasks started one after another on the same commit share one base.
        internal static readonly TimeSpan IdleBeforeSweep = TimeSpan.FromMinutes(10);

        private const int CheckoutWorkers = 32;

        public static string Root => Path.Combine(ModulePaths.StateDirectory, "bases");

        /// <summary>The base's directory for <paramref name="commit"/> of the repository whose git directory is <paramref name="commonDirectory"/>.</summary>
        public static string DirectoryFor(string commonDirectory, string commit)
        {
            using (var sha = SHA256.Create())
            {
                var repository = sha.ComputeHash(Encoding.UTF8.GetBytes(NativeUnix.RealPath(commonDirectory) ?? commonDirectory));
                return Path.Combine(Root, BitConverter.ToString(repository, 0, 8).Replace("-", string.Empty).ToLowerInvariant() + "-" + commit);
            }
        }

        /// <summary>
        /// The base of <paramref name="commit"/>, written now when no task made it before (by this
        /// or another process: the one whose rename lands first wins, the others delete theirs);
        /// marks it used. Returns its tree directory.
        /// </summary>
        public static string Ensure(string commonDirectory, string objectFormat, string commit)
        {
            var final = DirectoryFor(commonDirectory, commit);
            // Tasks of one fan-out on a new commit wait for one writer instead of each writing the tree.
            lock (Writers.GetOrAdd(final, _ => new object()))
            {
                return EnsureOnce(commonDirectory, objectFormat, commit, final);
            }
        }

        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, object> Writers =
            new System.Collections.Concurrent.ConcurrentDictionary<string, object>(StringComparer.Ordinal);

        private static string EnsureOnce(string commonDirectory, string objectFormat, string commit, string final)
        {
            var tree = Path.Combine(final, TreeName);
            if (Directory.Exists(tree) && File.Exists(Path.Combine(final, GitignoresName)))
            {
                Touch(final);
                return tree;
            }

            Directory.CreateDirectory(Root);
            var staging = Path.Combine(Root, string.Format(CultureInfo.InvariantCulture, "{0}{1}-{2}-{3}", StagingPrefix, SessionIdentity.ProcessId, SessionIdentity.ProcessStartTicks, Guid.NewGuid().ToString("N")));
            try
            {
                Write(staging, commonDirectory, objectFormat, commit);
                try
                {
                    Directory.Move(staging, final);
                }
                catch (IOException) when (Directory.Exists(tree))
                {
                    // Another task wrote the same base first.
                    Files.DeleteTree(staging);
                }
            }
            catch
            {
                Files.DeleteTree(staging);
                throw;
            }

            Touch(final);
            return tree;
        }

        private static void Write(string staging, string commonDirectory, string objectFormat, string commit)
        {
            var tree = Path.Combine(staging, TreeName);
            var dotGit = Path.Combine(tree, ".git");
            Directory.CreateDirectory(dotGit);

            // A throwaway repository borrowing the user's objects: the user's config (filters,
            // sparse checkout, hooks) never applies, as in a full checkout's own .git.
            var scratch = Path.Combine(staging, "scratch.git");
            var init = new List<string> { "init", "-q", "--bare", "--template=" };
            if (objectFormat != null && objectFormat != "sha1")
            {
                init.Add("--object-format=" + objectFormat);
            }

            init.Add(scratch);
            GitCli.Check(staging, ErrorIds.IsolationFailed, init.ToArray());
            File.WriteAllText(Path.Combine(scratch, "objects", "info", "alternates"), Path.Combine(commonDirectory, "objects") + "\n");
            var shallow = Path.Combine(commonDirectory, "shallow");
            if (File.Exists(shallow))
            {
                File.Copy(shallow, Path.Combine(scratch, "shallow"));
            }

            var index = Path.Combine(dotGit, "index");
            var environment = new Dictionary<string, string> { ["GIT_INDEX_FILE"] = index };
            GitCli.Check(staging, ErrorIds.IsolationFailed,
                GitCli.Hardened.Concat(new[] { "--git-dir=" + scratch, "--work-tree=" + tree, "-c", "checkout.workers=" + CheckoutWorkers, "read-tree", "-u", "--reset", commit }),
                environment);
            var gitignores = GitCli.Check(staging, ErrorIds.IsolationFailed,
                GitCli.Hardened.Concat(new[] { "--git-dir=" + scratch, "--work-tree=" + tree, "ls-files", "-z", "--", ":(glob)**/.gitignore" }),
                environment);
            File.WriteAllText(Path.Combine(staging, GitignoresName), gitignores);

            // Nothing ever writes these files again, so no entry can be racily clean: dating the
            // index after its newest file spares every task's first git status from reading them all.
            File.SetLastWriteTimeUtc(index, DateTime.UtcNow.AddSeconds(2));
            Files.DeleteTree(scratch);
        }

        /// <summary>The tree's .gitignore files, relative to the tree.</summary>
        public static IReadOnlyList<string> Gitignores(string tree)
        {
            var list = Path.Combine(Path.GetDirectoryName(tree), GitignoresName);
            return File.Exists(list)
                ? File.ReadAllText(list).Split(new[] { '\0' }, StringSplitOptions.RemoveEmptyEntries)
                : (IReadOnlyList<string>)Array.Empty<string>();
        }

        private static void Touch(string directory)
        {
            try
            {
                Directory.SetLastWriteTimeUtc(directory, DateTime.UtcNow);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
            }
        }

        /// <summary>
        /// Deletes the bases no task directory under <paramref name="taskRoot"/> references that
        /// were last used over <paramref name="idle"/> ago, and staging left by ended processes;
        /// returns the deleted bases' directories. A base is first moved aside and the references
        /// read again, so a task that took one meanwhile gets it back.
        /// </summary>
        public static IReadOnlyList<string> SweepUnused(string taskRoot, TimeSpan idle)
        {
            var deleted = new List<string>();
            if (!Directory.Exists(Root))
            {
                return deleted;
            }

            foreach (var directory in Directory.EnumerateDirectories(Root))
            {
                var name = Path.GetFileName(directory);
                try
                {
                    if (name.StartsWith(TrashPrefix, StringComparison.Ordinal) ||
                        (name.StartsWith(StagingPrefix, StringComparison.Ordinal) && OwnerGone(name.Substring(StagingPrefix.Length))))
                    {
                        Files.DeleteTree(directory);
                        continue;
                    }

                    if (name.StartsWith(".", StringComparison.Ordinal) || DateTime.UtcNow - Directory.GetLastWriteTimeUtc(directory) < idle ||
                        Referenced(taskRoot).Contains(directory))
                    {
                        continue;
                    }

                    var trash = Path.Combine(Root, TrashPrefix + Guid.NewGuid().ToString("N"));
                    Directory.Move(directory, trash);
                    if (Referenced(taskRoot).Contains(directory))
                    {
                        try
                        {
                            Directory.Move(trash, directory);
                            continue;
                        }
                        catch (IOException)
                        {
                            // The task wrote the base again meanwhile.
                        }
                    }

                    Files.DeleteTree(trash);
                    deleted.Add(directory);
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    // Tried again on the next sweep.
                }
            }

            return deleted;
        }

        /// <summary>The bases the task directories under <paramref name="taskRoot"/> reference.</summary>
        internal static HashSet<string> Referenced(string taskRoot)
        {
            var referenced = new HashSet<string>(StringComparer.Ordinal);
            if (!Directory.Exists(taskRoot))
            {
                return referenced;
            }

            foreach (var task in Directory.EnumerateDirectories(taskRoot))
            {
                var target = NativeUnix.ReadLink(Path.Combine(task, ReferenceName));
                if (target != null)
                {
                    referenced.Add(Path.GetDirectoryName(target.TrimEnd(Path.DirectorySeparatorChar)));
                }
            }

            return referenced;
        }

        private static bool OwnerGone(string name) => OwnerLiveness.NamesEndedProcess(name);
    }
}
