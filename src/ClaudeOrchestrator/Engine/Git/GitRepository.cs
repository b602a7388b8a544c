using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Git
{
    /// <summary>
    /// What isolation needs to know about the repository a project lives in, read before any
    /// container exists so every refusal comes first.
    /// </summary>
    internal sealed class GitRepository
    {
        /// <summary>The working tree's top directory.</summary>
        public string TopLevel { get; private set; }

        /// <summary>The directory holding objects and refs (a linked worktree's common directory).</summary>
        public string CommonDirectory { get; private set; }

        public string ObjectsDirectory => System.IO.Path.Combine(CommonDirectory, "objects");

        /// <summary>The project's path inside the repository, '/'-separated, empty at the top.</summary>
        public string Prefix { get; private set; }

        public string HeadCommit { get; private set; }

        /// <summary>The checked-out branch (refs/heads/...), or null on a detached HEAD.</summary>
        public string HeadBranch { get; private set; }

        public string ObjectFormat { get; private set; } = "sha1";

        /// <summary>
        /// How many files of the working tree differ from HEAD (tracked or not). Counted in the
        /// background: it reads every file's status, the one step of a task's start that grows with
        /// the repository, and only a warning needs it.
        /// </summary>
        public System.Threading.Tasks.Task<int> DirtyFiles { get; private set; } = System.Threading.Tasks.Task.FromResult(0);

        /// <summary>Paths of submodules recorded in the starting commit.</summary>
        public IReadOnlyList<string> Submodules { get; private set; } = Array.Empty<string>();

        /// <summary>
        /// The directory of the repository containing <paramref name="path"/>, found without git
        /// (so a machine without git can still tell whether isolation would need it), or null.
        /// </summary>
        public static string FindMarker(string path)
        {
            for (var dir = new DirectoryInfo(path); dir != null; dir = dir.Parent)
            {
                var marker = System.IO.Path.Combine(dir.FullName, ".git");
                if (Directory.Exists(marker) || File.Exists(marker))
                {
                    return dir.FullName;
                }
            }

            return null;
        }

        /// <summary>Reads the repository; throws a clear error for every state a task cannot start from.</summary>
        public static GitRepository Inspect(string projectPath)
        {
            GitCli.Require();
            var where = GitCli.Run(projectPath, "rev-parse", "--show-toplevel", "--git-common-dir", "--show-prefix");
            if (!where.Ok)
            {
                throw new OrchestratorException(ErrorIds.IsolationUnavailable, ErrorCategory.InvalidOperation,
                    $"{projectPath} looks like part of a git repository, but git cannot read it: {GitCli.FirstLines(where.Stderr)} Use -Isolation None to run the task in place.", projectPath);
            }

            var lines = where.Stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            var repo = new GitRepository
            {
                TopLevel = System.IO.Path.GetFullPath(lines[0]),
                CommonDirectory = System.IO.Path.GetFullPath(System.IO.Path.Combine(projectPath, lines[1])),
                Prefix = lines.Count > 2 ? lines[2].TrimEnd('/') : string.Empty,
            };

            var head = GitCli.Run(repo.TopLevel, "rev-parse", "--verify", "-q", "HEAD^{commit}");
            if (!head.Ok)
            {
                throw new OrchestratorException(ErrorIds.IsolationNoCommits, ErrorCategory.InvalidOperation,
                    $"The repository {repo.TopLevel} has no commits yet, so a task has nothing to branch from. Make a first commit, or run the task in place with -Isolation None.", repo.TopLevel);
            }

            repo.HeadCommit = head.Line;
            var branch = GitCli.Run(repo.TopLevel, "symbolic-ref", "-q", "HEAD");
            repo.HeadBranch = branch.Ok ? branch.Line : null;
            var format = GitCli.Run(repo.TopLevel, "rev-parse", "--show-object-format");
            if (format.Ok && format.Line.Length > 0)
            {
                repo.ObjectFormat = format.Line;
            }

            if (File.Exists(System.IO.Path.Combine(repo.ObjectsDirectory, "info", "alternates")))
            {
                // The container sees one object store; borrowed objects would be missing inside it.
                throw new OrchestratorException(ErrorIds.IsolationUnavailable, ErrorCategory.InvalidOperation,
                    $"The repository {repo.TopLevel} borrows objects from another repository (objects/info/alternates, as clone --shared or --reference make). " +
                    "Make it self-contained with 'git repack -a -d' and remove the alternates file, or run the task in place with -Isolation None.", repo.TopLevel);
            }

            if (repo.Prefix.Length > 0)
            {
                var tracked = GitCli.Run(repo.TopLevel, "ls-tree", "-d", "--name-only", "HEAD", "--", repo.Prefix);
                if (!tracked.Ok || tracked.Line.Length == 0)
                {
                    throw new OrchestratorException(ErrorIds.IsolationProjectUntracked, ErrorCategory.InvalidOperation,
                        $"{projectPath} lies inside the repository {repo.TopLevel} but has no committed files, so a checkout of HEAD would not contain it. " +
                        "Commit it first, or run the task in place with -Isolation None.", projectPath);
                }
            }

            repo.DirtyFiles = CountDirty(repo.TopLevel);

            // git checks out a submodule only where .gitmodules maps it: without that file there is
            // none to warn about, and the whole tree need not be listed.
            var tree = GitCli.Run(repo.TopLevel, "cat-file", "-e", "HEAD:.gitmodules").Ok
                ? GitCli.Run(repo.TopLevel, "ls-tree", "-r", "-z", "--full-tree", "HEAD")
                : null;
            if (tree != null && tree.Ok)
            {
                repo.Submodules = tree.Stdout.Split('\0')
                    .Where(e => e.StartsWith("160000 ", StringComparison.Ordinal))
                    .Select(e => e.Substring(e.IndexOf('\t') + 1))
                    .ToList();
            }

            return repo;
        }

        // A fan-out over one repository starts its tasks within moments: they share one count.
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (System.Threading.Tasks.Task<int> Count, DateTime Started)> DirtyCounts =
            new System.Collections.Concurrent.ConcurrentDictionary<string, (System.Threading.Tasks.Task<int>, DateTime)>(StringComparer.Ordinal);

        private static readonly TimeSpan DirtyCountShared = TimeSpan.FromSeconds(5);

        private static System.Threading.Tasks.Task<int> CountDirty(string topLevel) =>
            DirtyCounts.AddOrUpdate(topLevel, Start, (_, previous) => DateTime.UtcNow - previous.Started < DirtyCountShared ? previous : Start(topLevel)).Count;

        private static (System.Threading.Tasks.Task<int>, DateTime) Start(string topLevel) =>
            (System.Threading.Tasks.Task.Run(() =>
            {
                var status = GitCli.Run(topLevel, "status", "--porcelain=v1", "-z", "--untracked-files=normal", "--ignore-submodules=all");
                return status.Ok ? CountStatusEntries(status.Stdout) : 0;
            }), DateTime.UtcNow);

        /// <summary>Entries of `git status --porcelain -z`; a rename carries its source as one more NUL-terminated field.</summary>
        internal static int CountStatusEntries(string porcelain)
        {
            var fields = porcelain.Split(new[] { '\0' }, StringSplitOptions.None);
            var count = 0;
            for (var i = 0; i < fields.Length; i++)
            {
                var field = fields[i];
                if (field.Length < 3)
                {
                    continue;
                }

                count++;
                if (field[0] == 'R' || field[0] == 'C')
                {
                    i++;
                }
            }

            return count;
        }

        public bool HasBranch(string branch) => GitCli.Run(TopLevel, "show-ref", "--verify", "-q", "refs/heads/" + branch).Ok;

        /// <summary>The commit the branch points at; null when there is no such branch.</summary>
        public string BranchTip(string branch)
        {
            var tip = GitCli.Run(TopLevel, "rev-parse", "--verify", "-q", "refs/heads/" + branch + "^{commit}");
            return tip.Ok ? tip.Line : null;
        }

        /// <summary>Refuses a branch name git would not accept, or one that exists or collides with an existing ref.</summary>
        public void CheckNewBranch(string branch)
        {
            var valid = GitCli.Run(TopLevel, "check-ref-format", "--branch", branch);
            if (!valid.Ok || branch.StartsWith("-", StringComparison.Ordinal))
            {
                throw new OrchestratorException(ErrorIds.BranchNameInvalid, ErrorCategory.InvalidArgument,
                    $"'{branch}' is not a valid branch name (git check-ref-format). Choose another -Branch or -BranchPrefix.", branch);
            }

            // One listing answers both: the branch itself, and refs/heads/a blocking refs/heads/a/b
            // and the other way round.
            var refs = GitCli.Run(TopLevel, "for-each-ref", "--format=%(refname)", "refs/heads/");
            var wanted = "refs/heads/" + branch;
            if (refs.Stdout.Split('\n').Any(l => l.Trim() == wanted))
            {
                throw new OrchestratorException(ErrorIds.BranchExists, ErrorCategory.ResourceExists,
                    $"The branch '{branch}' already exists in {TopLevel}; a task starts a branch of its own. Choose another name, or delete the branch first.", branch);
            }

            var blocking = refs.Stdout.Split('\n').Select(l => l.Trim()).FirstOrDefault(r => r.Length > 0 &&
                (wanted.StartsWith(r + "/", StringComparison.Ordinal) || r.StartsWith(wanted + "/", StringComparison.Ordinal)));
            if (blocking != null)
            {
                throw new OrchestratorException(ErrorIds.BranchExists, ErrorCategory.ResourceExists,
                    $"The branch '{branch}' cannot be created in {TopLevel}: the existing branch '{blocking.Substring("refs/heads/".Length)}' occupies its path. Choose another -Branch or -BranchPrefix.", branch);
            }
        }
    }
}
