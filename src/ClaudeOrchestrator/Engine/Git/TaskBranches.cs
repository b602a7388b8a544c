using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Git
{
    /// <summary>What the module does with a finished task's branch in the user's repository: diff, merge, prune.</summary>
    internal static class TaskBranches
    {
        public static void RequireBranch(ClaudeTask task)
        {
            if (string.IsNullOrEmpty(task.Branch) || string.IsNullOrEmpty(task.Repository))
            {
                throw new OrchestratorException(ErrorIds.TaskHasNoBranch, ErrorCategory.InvalidOperation,
                    $"Task {task.TaskId} has no branch: it ran in place (-Isolation None) or never started its agent.", task);
            }

            if (!Directory.Exists(task.Repository))
            {
                throw new OrchestratorException(ErrorIds.TaskHasNoBranch, ErrorCategory.ObjectNotFound,
                    $"The repository of task {task.TaskId} ({task.Repository}) no longer exists.", task);
            }
        }

        /// <summary>The branch's tip now (the user may have added to it), or null when the branch is gone.</summary>
        public static string Tip(ClaudeTask task)
        {
            var tip = GitCli.Run(task.Repository, "rev-parse", "--verify", "-q", "refs/heads/" + task.Branch + "^{commit}");
            return tip.Ok ? tip.Line : null;
        }

        private static string RequireTip(ClaudeTask task) =>
            Tip(task) ?? throw new OrchestratorException(ErrorIds.TaskHasNoBranch, ErrorCategory.ObjectNotFound,
                $"The branch '{task.Branch}' of task {task.TaskId} no longer exists in {task.Repository}.", task);

        public static IReadOnlyList<ClaudeTaskFileChange> Changes(ClaudeTask task)
        {
            RequireBranch(task);
            var tip = RequireTip(task);
            var numstat = GitCli.Check(task.Repository, ErrorIds.TaskHasNoBranch, "diff", "--numstat", "-z", "-M", task.BaseCommit, tip);
            var status = GitCli.Check(task.Repository, ErrorIds.TaskHasNoBranch, "diff", "--name-status", "-z", "-M", task.BaseCommit, tip);
            var counts = ParseNumstat(numstat);
            return ParseNameStatus(status, task.TaskId, counts);
        }

        public static string Patch(ClaudeTask task)
        {
            RequireBranch(task);
            return GitCli.Run(task.Repository, "diff", "--no-color", "-M", task.BaseCommit, RequireTip(task)).Stdout;
        }

        /// <summary>numstat -z: "ins\tdel\tpath\0", or for a rename "ins\tdel\t\0old\0new\0"; binary counts are "-".</summary>
        internal static Dictionary<string, (int?, int?)> ParseNumstat(string text)
        {
            var result = new Dictionary<string, (int?, int?)>(StringComparer.Ordinal);
            var fields = text.Split('\0');
            for (var i = 0; i < fields.Length; i++)
            {
                var parts = fields[i].Split('\t');
                if (parts.Length < 3)
                {
                    continue;
                }

                var path = parts[2];
                if (path.Length == 0 && i + 2 < fields.Length)
                {
                    path = fields[i + 2];
                    i += 2;
                }

                result[path] = (Count(parts[0]), Count(parts[1]));
            }

            return result;
        }

        private static int? Count(string text) =>
            int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : (int?)null;

        internal static List<ClaudeTaskFileChange> ParseNameStatus(string text, string taskId, Dictionary<string, (int?, int?)> counts)
        {
            var changes = new List<ClaudeTaskFileChange>();
            var fields = text.Split('\0');
            for (var i = 0; i + 1 < fields.Length; i++)
            {
                var code = fields[i];
                if (code.Length == 0)
                {
                    continue;
                }

                var change = new ClaudeTaskFileChange { TaskId = taskId, Change = ChangeName(code[0]) };
                if (code[0] == 'R' || code[0] == 'C')
                {
                    change.OldPath = fields[i + 1];
                    change.Path = i + 2 < fields.Length ? fields[i + 2] : fields[i + 1];
                    i += 2;
                }
                else
                {
                    change.Path = fields[i + 1];
                    i++;
                }

                if (counts.TryGetValue(change.Path, out var count))
                {
                    change.Insertions = count.Item1;
                    change.Deletions = count.Item2;
                }

                changes.Add(change);
            }

            return changes;
        }

        private static string ChangeName(char code)
        {
            switch (code)
            {
                case 'A': return "Added";
                case 'D': return "Deleted";
                case 'R': return "Renamed";
                case 'C': return "Copied";
                case 'T': return "TypeChanged";
                default: return "Modified";
            }
        }

        /// <summary>
        /// Merges the branch into the repository's current branch (--no-ff, so the task stays one
        /// unit in history). Refuses a dirty tree or a detached HEAD; a conflict is aborted, so
        /// the repository is as it was. Returns the merge commit.
        /// </summary>
        /// <param name="squash">One commit of the branch's changes, with the task's summary as its message, instead of a merge commit.</param>
        public static string Merge(ClaudeTask task, bool squash = false)
        {
            RequireBranch(task);
            var tip = RequireTip(task);
            var repo = task.Repository;
            var head = GitCli.Run(repo, "symbolic-ref", "-q", "--short", "HEAD");
            if (!head.Ok)
            {
                throw new OrchestratorException(ErrorIds.MergeDetachedHead, ErrorCategory.InvalidOperation,
                    $"{repo} has a detached HEAD; check out the branch to merge task {task.TaskId} into, then run Merge-ClaudeTask again.", task);
            }

            if (head.Line == task.Branch)
            {
                throw new OrchestratorException(ErrorIds.MergeFailed, ErrorCategory.InvalidOperation,
                    $"{repo} has the task's own branch '{task.Branch}' checked out; check out the branch to merge into.", task);
            }

            var dirty = GitCli.Run(repo, "status", "--porcelain=v1", "-z", "--untracked-files=no");
            var count = GitRepository.CountStatusEntries(dirty.Stdout);
            if (!dirty.Ok || count > 0)
            {
                throw new OrchestratorException(ErrorIds.MergeDirtyTree, ErrorCategory.InvalidOperation,
                    $"{repo} has {count} file(s) with uncommitted changes; commit or stash them before merging task {task.TaskId}. Nothing was changed.", task);
            }

            var message = squash
                ? (string.IsNullOrEmpty(task.Summary) ? $"Task {task.TaskId}" : task.Summary) + $"\n\nThe work of task {task.TaskId} (branch {task.Branch}), squashed.\n"
                : $"Merge task {task.TaskId} ({task.Branch})" + (string.IsNullOrEmpty(task.Summary) ? string.Empty : ": " + task.Summary);
            var merge = squash
                ? GitCli.Run(repo, "merge", "--squash", "-q", tip)
                : GitCli.Run(repo, "merge", "--no-ff", "--no-edit", "-m", message, tip);
            if (merge.Ok && squash)
            {
                // Nothing staged: the branch's changes are already in (merged before); no empty commit.
                if (!GitCli.Run(repo, "diff", "--cached", "--quiet").Ok)
                {
                    var commit = GitCli.Run(repo, new[] { "commit", "-q", "-F", "-" }, null, message);
                    if (!commit.Ok)
                    {
                        GitCli.Run(repo, "reset", "-q", "--merge");
                        throw new OrchestratorException(ErrorIds.MergeFailed, ErrorCategory.InvalidOperation,
                            $"git commit of task {task.TaskId}'s squashed changes into '{head.Line}' failed, and the repository is as it was: {GitCli.FirstLines(commit.Stderr + "\n" + commit.Stdout)}", task);
                    }
                }
            }

            if (merge.Ok)
            {
                return GitCli.Run(repo, "rev-parse", "HEAD").Line;
            }

            var conflicted = GitCli.Run(repo, "diff", "--name-only", "--diff-filter=U").Stdout
                .Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
            if (File.Exists(Path.Combine(GitCli.Run(repo, "rev-parse", "--absolute-git-dir").Line, "MERGE_HEAD")))
            {
                GitCli.Run(repo, "merge", "--abort");
            }
            else if (squash)
            {
                // A squash leaves no MERGE_HEAD to abort: back to HEAD, over a tree that was clean.
                GitCli.Run(repo, "reset", "-q", "--merge");
            }

            if (conflicted.Count > 0)
            {
                throw new OrchestratorException(ErrorIds.MergeConflict, ErrorCategory.InvalidResult,
                    $"Task {task.TaskId}'s branch '{task.Branch}' conflicts with '{head.Line}' in {conflicted.Count} file(s) ({string.Join(", ", conflicted.Take(5))}); the merge was aborted and the repository is as it was. Resolve by hand: git merge {task.Branch}.", task);
            }

            throw new OrchestratorException(ErrorIds.MergeFailed, ErrorCategory.InvalidOperation,
                $"git merge of '{task.Branch}' into '{head.Line}' failed: {GitCli.FirstLines(merge.Stderr + "\n" + merge.Stdout)}", task);
        }

        /// <summary>True when another local branch contains the task branch's tip: its work is kept elsewhere.</summary>
        public static bool IsMerged(ClaudeTask task, string tip)
        {
            var own = "refs/heads/" + task.Branch;
            var containing = GitCli.Run(task.Repository, "for-each-ref", "--format=%(refname)", "--contains", tip, "refs/heads/");
            return containing.Ok && containing.Stdout.Split('\n').Select(l => l.Trim()).Any(r => r.Length > 0 && r != own);
        }

        /// <summary>Deletes the branch only if it still points where it did when checked (never a branch moved since).</summary>
        public static bool Delete(ClaudeTask task, string tip) => DeleteIfAt(task.Repository, task.Branch, tip);

        /// <summary>Deletes refs/heads/<paramref name="branch"/> only while it still points at <paramref name="commit"/>.</summary>
        public static bool DeleteIfAt(string repository, string branch, string commit) =>
            GitCli.Run(repository, "update-ref", "-d", "refs/heads/" + branch, commit).Ok;
    }
}
