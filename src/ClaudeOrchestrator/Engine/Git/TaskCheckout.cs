using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using System.Text.RegularExpressions;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// A task's private checkout of a repository, under the task's state directory:
    ///
    ///   checkout/         the working tree the container mounts at /workspace, with its own .git
    ///                     whose objects/info/alternates is the relative "../../../base-objects":
    ///                     in the container that is /base-objects (the repository's object store,
    ///                     mounted read-only), on the host the base-objects link beside checkout/.
    ///                     Nothing in it names a host path, and no object is copied.
    ///   base-objects      symbolic link to the repository's objects directory (host side only)
    ///   host.git          the module's own bare repository for saving: its config, hooks and
    ///                     index are the module's, so nothing the agent wrote into checkout/.git
    ///                     (config, hooks, filters, fsmonitor) ever runs on the host.
    ///
    /// The branch is created in the user's repository at the start (pinning the base commit) and
    /// moved to the saved work at the end by a push, so the user's working tree, index and current
    /// branch are never touched.
    /// </summary>
    internal sealed class TaskCheckout
    {
        public const string ContainerObjectsPath = "/base-objects";
        internal const string AlternatesEntry = "../../../base-objects";
        private const string CheckoutName = "checkout";
        private const string LinkName = "base-objects";
        private const string HostRepositoryName = "host.git";
        private const string HostIndexName = "host.index";

        // git's parallel checkout; below its threshold (100 files) it checks out sequentially anyway.
        private const int CheckoutWorkers = 32;

        private static readonly Regex ShortStat = new Regex(@"(\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?", RegexOptions.CultureInvariant);

        /// <param name="ownsBranch">False for a task that continues another's branch (-Resume): the branch is never its to delete.</param>
        public TaskCheckout(string taskDirectory, string repository, string commonDirectory, string branch, string baseCommit, string taskId, bool ownsBranch = true)
        {
            OwnsBranch = ownsBranch;
            TaskDirectory = taskDirectory;
            Repository = repository;
            CommonDirectory = commonDirectory;
            Branch = branch;
            BaseCommit = baseCommit;
            TaskId = taskId;
        }

        public string TaskDirectory { get; }
        public string Repository { get; }
        public string CommonDirectory { get; }
        public string Branch { get; }
        public string BaseCommit { get; }
        public string TaskId { get; }
        public bool OwnsBranch { get; }

        public string CheckoutDirectory => Path.Combine(TaskDirectory, CheckoutName);
        public string ObjectsDirectory => Path.Combine(CommonDirectory, "objects");

        public static bool Exists(string taskDirectory) => Directory.Exists(Path.Combine(taskDirectory, CheckoutName));

        public static string AuthorName(string taskId) => "Claude task " + taskId;

        public static string AuthorEmail(string taskId) => taskId + "@claude-orchestrator.invalid";

        /// <summary>Creates the branch in the user's repository and the checkout; on any failure leaves neither.</summary>
        public static TaskCheckout Create(GitRepository repo, string taskDirectory, string branch, string taskId)
        {
            var checkout = new TaskCheckout(taskDirectory, repo.TopLevel, repo.CommonDirectory, branch, repo.HeadCommit, taskId);
            var zero = new string('0', repo.HeadCommit.Length);
            // Create-only (old value all zeros): two tasks can never claim one branch.
            var created = GitCli.Run(repo.TopLevel, "update-ref", "-m", "claude-orchestrator: task " + taskId, "refs/heads/" + branch, repo.HeadCommit, zero);
            if (!created.Ok)
            {
                throw new OrchestratorException(ErrorIds.BranchExists, ErrorCategory.ResourceExists,
                    $"The branch '{branch}' could not be created in {repo.TopLevel}: {GitCli.FirstLines(created.Stderr)}", branch);
            }

            HaltPoint.Reached(HaltPoint.Steps.BranchCreated);
            try
            {
                checkout.Populate(repo);
            }
            catch
            {
                checkout.DeleteFiles();
                checkout.DeleteBranchAtBase();
                throw;
            }

            return checkout;
        }

        /// <summary>
        /// A checkout of an existing task branch at <paramref name="tip"/>, for a task that continues
        /// another (-Resume): the branch is shared, so nothing here ever deletes it.
        /// </summary>
        public static TaskCheckout Continue(GitRepository repo, string taskDirectory, string branch, string tip, string taskId)
        {
            var checkout = new TaskCheckout(taskDirectory, repo.TopLevel, repo.CommonDirectory, branch, tip, taskId, ownsBranch: false);
            try
            {
                checkout.Populate(repo);
            }
            catch
            {
                checkout.DeleteFiles();
                throw;
            }

            return checkout;
        }

        private void Populate(GitRepository repo)
        {
            Directory.CreateDirectory(TaskDirectory);
            NativeUnix.Symlink(ObjectsDirectory, Path.Combine(TaskDirectory, LinkName));
            var work = CheckoutDirectory;
            Directory.CreateDirectory(work);
            var init = new List<string> { "init", "-q" };
            if (repo.ObjectFormat != "sha1")
            {
                init.Add("--object-format=" + repo.ObjectFormat);
            }

            init.Add(".");
            GitCli.Check(work, ErrorIds.IsolationFailed, init.ToArray());
            var dotGit = Path.Combine(work, ".git");
            File.WriteAllText(Path.Combine(dotGit, "objects", "info", "alternates"), AlternatesEntry + "\n");
            CopyShallow(Path.Combine(dotGit, "shallow"));
            // Commits inside the container need an identity; this one says whose work it is.
            GitCli.Check(work, ErrorIds.IsolationFailed, "config", "user.name", AuthorName(TaskId));
            GitCli.Check(work, ErrorIds.IsolationFailed, "config", "user.email", AuthorEmail(TaskId));
            GitCli.Check(work, ErrorIds.IsolationFailed, "update-ref", "refs/heads/" + Branch, BaseCommit);
            GitCli.Check(work, ErrorIds.IsolationFailed, "symbolic-ref", "HEAD", "refs/heads/" + Branch);
            // Writing the working files is the whole cost of a checkout; creating them from many
            // processes at once is several times faster where file creation is slow (measured:
            // 10,000 files in 9.5 s with one worker, 0.4 s with 32, on the bench machine).
            GitCli.Check(work, ErrorIds.IsolationFailed, Hardened("-c", "checkout.workers=" + CheckoutWorkers, "read-tree", "-u", "--reset", BaseCommit));
            HaltPoint.Reached(HaltPoint.Steps.CheckoutWritten);

            MakeHostRepository(repo.ObjectFormat);
        }

        private string HostRepository => Path.Combine(TaskDirectory, HostRepositoryName);

        /// <summary>The module's own bare repository for saving, borrowing the checkout's and the repository's objects.</summary>
        private void MakeHostRepository(string objectFormat)
        {
            var host = HostRepository;
            var init = new List<string> { "init", "-q", "--bare" };
            if (objectFormat != null && objectFormat != "sha1")
            {
                init.Add("--object-format=" + objectFormat);
            }

            init.Add(HostRepositoryName);
            GitCli.Check(TaskDirectory, ErrorIds.IsolationFailed, init.ToArray());
            HaltPoint.Reached(HaltPoint.Steps.HostRepositoryStarted);
            File.WriteAllText(Path.Combine(host, "objects", "info", "alternates"),
                Path.Combine(CheckoutDirectory, ".git", "objects") + "\n" + ObjectsDirectory + "\n");
            CopyShallow(Path.Combine(host, "shallow"));
            // Written last: a host.git without it was cut short while being made.
            File.WriteAllText(Path.Combine(host, HostReadyName), BaseCommit + "\n");
        }

        private const string HostReadyName = "claude-orchestrator-ready";

        /// <summary>
        /// host.git as saving needs it: one cut short while being made (a kill, a full disk) is
        /// made again. It holds nothing of its own but commits of a save, which reach the branch
        /// by the push, so remaking it loses nothing.
        /// </summary>
        private void EnsureHostRepository()
        {
            var host = HostRepository;
            if (File.Exists(Path.Combine(host, HostReadyName)) && File.Exists(Path.Combine(host, "HEAD")))
            {
                return;
            }

            DeleteTree(host);
            MakeHostRepository(ObjectFormatOf(CommonDirectory));
        }

        private static string ObjectFormatOf(string gitDirectory)
        {
            var format = GitCli.Run(gitDirectory, "--git-dir=" + gitDirectory, "rev-parse", "--show-object-format");
            return format.Ok && format.Line.Length > 0 ? format.Line : "sha1";
        }

        /// <summary>
        /// For a sweep, whose task's session is provably dead: the locks that session's git left
        /// where only the module's own git runs (the save's index, host.git), and the task
        /// branch's own ref lock in the user's repository once it is older than any git command
        /// holds one. Nothing else of the user's repository is touched.
        /// </summary>
        internal void RemoveStaleLocks()
        {
            foreach (var file in new[] { Path.Combine(TaskDirectory, HostIndexName + ".lock") }
                         .Concat(Directory.Exists(HostRepository) ? Directory.EnumerateFiles(HostRepository, "*.lock", SearchOption.AllDirectories) : Enumerable.Empty<string>()))
            {
                ShippedWorkspace.TryDelete(file);
            }

            var branchLock = Path.Combine(CommonDirectory, "refs", "heads", Branch.Replace('/', Path.DirectorySeparatorChar) + ".lock");
            if (File.Exists(branchLock) && DateTime.UtcNow - File.GetLastWriteTimeUtc(branchLock) > StaleRefLock)
            {
                ShippedWorkspace.TryDelete(branchLock);
            }
        }

        // git holds a ref lock for the moment of one update; an old one was left by a killed process.
        private static readonly TimeSpan StaleRefLock = TimeSpan.FromSeconds(10);

        /// <summary>
        /// The base commit and every object of its tree as one pack (pack and index files, in
        /// the task directory), for a checkout that travels to another machine without the
        /// repository's object store behind it. The caller deletes the files.
        /// </summary>
        internal IReadOnlyList<string> PackBaseTree()
        {
            var directory = Path.Combine(TaskDirectory, "ship-pack");
            DeleteTree(directory);
            Directory.CreateDirectory(directory);
            var objects = GitCli.Check(CheckoutDirectory, ErrorIds.IsolationFailed, Hardened("rev-list", "--objects", "--no-object-names", "-n", "1", BaseCommit));
            var packed = GitCli.Run(CheckoutDirectory, Hardened("pack-objects", "-q", Path.Combine(directory, "pack")), null, objects + "\n");
            if (!packed.Ok)
            {
                throw new OrchestratorException(ErrorIds.IsolationFailed, ErrorCategory.WriteError, "git pack-objects failed: " + GitCli.FirstLines(packed.Stderr));
            }

            return Directory.GetFiles(directory, "pack-*");
        }

        /// <summary>
        /// After the checkout came back from another machine: its alternates and shallow files
        /// are this machine's again (the travelling copy named neither the same way).
        /// </summary>
        internal void RestoreHostFiles()
        {
            var dotGit = Path.Combine(CheckoutDirectory, ".git");
            if (!IsPlainDirectory(dotGit))
            {
                return;
            }

            Directory.CreateDirectory(Path.Combine(dotGit, "objects", "info"));
            File.WriteAllText(Path.Combine(dotGit, "objects", "info", "alternates"), AlternatesEntry + "\n");
            var shallow = Path.Combine(dotGit, "shallow");
            if (File.Exists(shallow) || Directory.Exists(shallow))
            {
                NativeUnix.Unlink(shallow);
            }

            CopyShallow(shallow);
        }

        private void CopyShallow(string target)
        {
            var shallow = Path.Combine(CommonDirectory, "shallow");
            if (File.Exists(shallow))
            {
                File.Copy(shallow, target, true);
            }
        }

        /// <summary>Commits what the agent left uncommitted onto its own commits and moves the branch there.</summary>
        internal WorkSave Save(ClaudeTaskStatus status, bool salvage)
        {
            var host = HostRepository;
            var save = new WorkSave { Branch = Branch, BaseCommit = BaseCommit };
            try
            {
                EnsureHostRepository();
                var agentHead = AgentHead();
                var parent = agentHead != null && IsCommit(host, agentHead) ? agentHead : BaseCommit;
                if (agentHead != null && parent != agentHead)
                {
                    save.Note = "the checkout's HEAD did not name a readable commit; the work was saved on top of the base commit";
                }

                var env = new Dictionary<string, string>
                {
                    ["GIT_INDEX_FILE"] = Path.Combine(TaskDirectory, HostIndexName),
                    ["GIT_AUTHOR_NAME"] = AuthorName(TaskId),
                    ["GIT_AUTHOR_EMAIL"] = AuthorEmail(TaskId),
                    ["GIT_COMMITTER_NAME"] = AuthorName(TaskId),
                    ["GIT_COMMITTER_EMAIL"] = AuthorEmail(TaskId),
                };
                var tree = Path.Combine(TaskDirectory, CheckoutName);
                GitCli.Check(TaskDirectory, ErrorIds.WorkNotSaved, HostArgs(host, tree, "read-tree", parent), env);
                GitCli.Check(TaskDirectory, ErrorIds.WorkNotSaved, HostArgs(host, tree, "add", "-A", "--ignore-errors", "--", "."), env);
                var written = GitCli.Check(TaskDirectory, ErrorIds.WorkNotSaved, HostArgs(host, tree, "write-tree"), env);
                var parentTree = GitCli.Check(TaskDirectory, ErrorIds.WorkNotSaved, HostArgs(host, null, "rev-parse", parent + "^{tree}"), env);
                var head = parent;
                if (!string.Equals(written, parentTree, StringComparison.Ordinal))
                {
                    var message = $"Work left uncommitted by task {TaskId} ({status}{(salvage ? ", salvaged after its session died" : string.Empty)})\n\nSaved by claude-orchestrator.\n";
                    var commit = GitCli.Run(TaskDirectory, HostArgs(host, null, "commit-tree", written, "-p", parent, "-F", "-"), env, message);
                    if (!commit.Ok)
                    {
                        throw new OrchestratorException(ErrorIds.WorkNotSaved, ErrorCategory.WriteError, "git commit-tree failed: " + GitCli.FirstLines(commit.Stderr));
                    }

                    head = commit.Line;
                    save.Work = salvage ? ClaudeTaskWork.Salvaged : ClaudeTaskWork.ModuleCommit;
                }
                else
                {
                    save.Work = parent == BaseCommit ? ClaudeTaskWork.NoChanges : salvage ? ClaudeTaskWork.Salvaged : ClaudeTaskWork.AgentCommits;
                }

                var tip = BranchTip();
                if (head != BaseCommit && tip != head)
                {
                    if (tip != null && tip != BaseCommit && TreeOf(host, tip) == written && (head == parent || ParentOf(host, tip) == parent))
                    {
                        // An earlier save of this very work reached the branch before its record was
                        // written (a kill in between): that commit is the save.
                        head = tip;
                    }
                    else
                    {
                        // Into the user's repository by its own receive-pack: its locking, its hooks.
                        // The lease: the branch moves only from where the task left it (or from
                        // nothing, when it was deleted meanwhile), never from a commit someone else put there.
                        var push = GitCli.Run(TaskDirectory, HostArgs(host, null, "push", "-q", "--no-verify",
                            "--force-with-lease=refs/heads/" + Branch + ":" + (tip == null ? string.Empty : BaseCommit), CommonDirectory, head + ":refs/heads/" + Branch));
                        if (!push.Ok)
                        {
                            throw new OrchestratorException(ErrorIds.WorkNotSaved, ErrorCategory.WriteError, tip != null && tip != BaseCommit
                                ? $"the branch '{Branch}' in {Repository} moved since the task began (it is at {tip.Substring(0, 12)}, not {BaseCommit.Substring(0, 12)}); the work stays in the checkout, to be saved by hand"
                                : $"the branch '{Branch}' could not be updated in {Repository}: {GitCli.FirstLines(push.Stderr)}");
                        }
                    }
                }

                HaltPoint.Reached(HaltPoint.Steps.BranchMoved);
                save.HeadCommit = head;
                Measure(host, save);
                save.Saved = true;
            }
            catch (Exception e)
            {
                save.Saved = false;
                save.Work = ClaudeTaskWork.NotSaved;
                save.Error = e is OrchestratorException ? e.Message : e.GetType().Name + ": " + e.Message;
            }

            return save;
        }

        private void Measure(string host, WorkSave save)
        {
            if (save.HeadCommit == BaseCommit)
            {
                return;
            }

            var count = GitCli.Run(TaskDirectory, HostArgs(host, null, "rev-list", "--count", BaseCommit + ".." + save.HeadCommit));
            if (count.Ok && int.TryParse(count.Line, NumberStyles.Integer, CultureInfo.InvariantCulture, out var commits))
            {
                save.Commits = commits;
            }

            var stat = GitCli.Run(TaskDirectory, HostArgs(host, null, "diff", "--shortstat", BaseCommit, save.HeadCommit));
            ParseShortStat(stat.Stdout, save);
        }

        internal static void ParseShortStat(string text, WorkSave save)
        {
            var match = ShortStat.Match(text ?? string.Empty);
            if (!match.Success)
            {
                return;
            }

            save.FilesChanged = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            save.Insertions = match.Groups[2].Success ? int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
            save.Deletions = match.Groups[3].Success ? int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture) : 0;
        }

        /// <summary>The task branch's commit in the user's repository now, or null when it is gone.</summary>
        private string BranchTip()
        {
            var tip = GitCli.Run(TaskDirectory, "--git-dir=" + CommonDirectory, "rev-parse", "--verify", "-q", "refs/heads/" + Branch + "^{commit}");
            return tip.Ok && IsObjectName(tip.Line) ? tip.Line : null;
        }

        private string TreeOf(string host, string commit) => GitCli.Run(TaskDirectory, HostArgs(host, null, "rev-parse", commit + "^{tree}")).Line;

        private string ParentOf(string host, string commit) => GitCli.Run(TaskDirectory, HostArgs(host, null, "rev-parse", commit + "^")).Line;

        private bool IsCommit(string host, string sha) =>
            GitCli.Run(TaskDirectory, HostArgs(host, null, "cat-file", "-t", sha)).Line == "commit";

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

        private static string[] HostArgs(string hostRepository, string workTree, params string[] command)
        {
            var args = new List<string> { "--git-dir=" + hostRepository };
            if (workTree != null)
            {
                args.Add("--work-tree=" + workTree);
            }

            args.AddRange(Hardened(command));
            return args.ToArray();
        }

        private static string[] Hardened(params string[] command) => GitCli.Hardened.Concat(command).ToArray();

        /// <summary>Deletes the task's branch while it is still at the base commit (nothing was saved onto it).</summary>
        public void DeleteBranchAtBase()
        {
            if (OwnsBranch)
            {
                TaskBranches.DeleteIfAt(Repository, Branch, BaseCommit);
            }
        }

        /// <summary>Deletes the checkout and the module's helpers; the task's record and transcript stay.</summary>
        public void DeleteFiles()
        {
            foreach (var helper in new[] { LinkName, HostIndexName })
            {
                var path = Path.Combine(TaskDirectory, helper);
                try
                {
                    // The link itself, never what it points to.
                    if (File.Exists(path) || Directory.Exists(path))
                    {
                        NativeUnix.Unlink(path);
                    }
                }
                catch (IOException)
                {
                }
            }

            foreach (var directory in new[] { CheckoutName, HostRepositoryName, "ship-pack" })
            {
                DeleteTree(Path.Combine(TaskDirectory, directory));
                if (directory == CheckoutName)
                {
                    HaltPoint.Reached(HaltPoint.Steps.CheckoutPartlyDeleted);
                }
            }
        }

        /// <summary>
        /// Recursive delete that never follows a link out of the tree (the agent may have planted
        /// links to anywhere) and gets past read-only files and directories the agent left.
        /// </summary>
        internal static void DeleteTree(string path)
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

    /// <summary>The branch outcome a task's result and its record both carry.</summary>
    internal interface IBranchWork
    {
        ClaudeTaskWork Work { get; set; }
        string Branch { get; set; }
        string HeadCommit { get; set; }
        int Commits { get; set; }
        int FilesChanged { get; set; }
        int Insertions { get; set; }
        int Deletions { get; set; }
    }

    /// <summary>How a task's work ended up in its branch.</summary>
    internal sealed class WorkSave
    {
        /// <summary>Copies the outcome; a failed save keeps the target's branch (it still exists, unmoved).</summary>
        public void ApplyTo(IBranchWork target)
        {
            target.Work = Work;
            target.Branch = Saved ? Branch : target.Branch;
            target.HeadCommit = HeadCommit ?? target.HeadCommit;
            target.Commits = Commits;
            target.FilesChanged = FilesChanged;
            target.Insertions = Insertions;
            target.Deletions = Deletions;
        }

        public bool Saved { get; set; }
        public ClaudeTaskWork Work { get; set; }
        public string Branch { get; set; }
        public string BaseCommit { get; set; }
        public string HeadCommit { get; set; }
        public int Commits { get; set; }
        public int FilesChanged { get; set; }
        public int Insertions { get; set; }
        public int Deletions { get; set; }

        /// <summary>Why the work could not be saved; null when it was.</summary>
        public string Error { get; set; }

        /// <summary>Something the user should know although the work was saved.</summary>
        public string Note { get; set; }
    }
}
