using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// The work of a session that died outright (SIGKILL, power loss) is still in its checkout:
    /// once the task's container is gone, this saves it into the branch and only then deletes the
    /// checkout. A checkout whose save failed earlier is retried the same way. Nothing here ever
    /// deletes a branch.
    /// </summary>
    internal static class TaskSalvager
    {
        private const string LockName = "salvage.lock";

        /// <summary>Tasks with a checkout nobody is running any more: interrupted, or ended without their work saved.</summary>
        public static IReadOnlyList<ClaudeTask> Candidates() =>
            TaskStore.All().Where(NeedsSalvage).ToList();

        public static bool NeedsSalvage(ClaudeTask task) =>
            task.CheckoutPath != null && TaskCheckout.Exists(TaskStore.DirectoryFor(task.TaskId)) && !TaskSession.IsActive(task.TaskId) &&
            (task.Status == ClaudeTaskStatus.Interrupted || (task.Status != ClaudeTaskStatus.Running && task.Work == ClaudeTaskWork.NotSaved));

        /// <summary>
        /// Salvages the candidates <paramref name="which"/> selects whose container <paramref name="connection"/>'s
        /// engine no longer lists; returns the records as saved (Work Salvaged, or NotSaved with the reason).
        /// </summary>
        public static async Task<IReadOnlyList<ClaudeTask>> SalvageAsync(DockerConnection connection, Func<ClaudeTask, bool> which, CancellationToken cancel)
        {
            var candidates = Candidates().Where(which ?? (_ => true)).ToList();
            if (candidates.Count == 0)
            {
                return Array.Empty<ClaudeTask>();
            }

            // A container still there may still be writing: its work is saved on a later sweep.
            var containers = await ContainerQuery.ListAsync(connection, ContainerScope.All, ContainerFilter.None, cancel).ConfigureAwait(false);
            var busy = new HashSet<string>(containers.Select(c => c.TaskId).Where(t => t != null), StringComparer.Ordinal);
            var salvaged = new List<ClaudeTask>();
            foreach (var task in candidates.Where(t => !busy.Contains(t.TaskId)))
            {
                cancel.ThrowIfCancellationRequested();
                var saved = Salvage(task);
                if (saved != null)
                {
                    salvaged.Add(saved);
                }
            }

            return salvaged;
        }

        /// <summary>
        /// A checkout whose work is already in the branch (the record no longer names it) but
        /// whose deletion was cut short, by a kill during the delete, goes now.
        /// </summary>
        public static IReadOnlyList<ClaudeTask> LeftoverCheckouts() =>
            TaskStore.All().Where(t => t.CheckoutPath == null && t.Status != ClaudeTaskStatus.Running &&
                                       !TaskSession.IsActive(t.TaskId) && TaskCheckout.Exists(TaskStore.DirectoryFor(t.TaskId))).ToList();

        public static void DeleteLeftoverCheckouts(IEnumerable<ClaudeTask> tasks = null)
        {
            foreach (var task in tasks ?? LeftoverCheckouts())
            {
                try
                {
                    new TaskCheckout(TaskStore.DirectoryFor(task.TaskId), task.Repository, task.GitDirectory ?? string.Empty, task.Branch, task.BaseCommit, task.TaskId).DeleteFiles();
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    // Tried again on the next sweep.
                }
            }
        }

        /// <summary>Saves one task's checkout; null when another process is doing it right now.</summary>
        internal static ClaudeTask Salvage(ClaudeTask task)
        {
            var directory = TaskStore.DirectoryFor(task.TaskId);
            FileStream claim;
            try
            {
                claim = new FileStream(Path.Combine(directory, LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException)
            {
                return null;
            }

            using (claim)
            {
                // Read again under the claim: another process may have finished it a moment ago.
                var current = TaskStore.Load(task.TaskId);
                if (current == null || !NeedsSalvage(current))
                {
                    return null;
                }

                var checkout = new TaskCheckout(directory, current.Repository, current.GitDirectory, current.Branch, current.BaseCommit, current.TaskId);
                var save = checkout.Save(current.Status, salvage: true);
                if (save.Saved)
                {
                    checkout.DeleteFiles();
                }

                TaskSession.Apply(current, save, checkoutKept: !save.Saved);
                current.EndTime = current.EndTime ?? DateTime.Now;
                if (current.Status == ClaudeTaskStatus.Interrupted && current.Reason == null)
                {
                    current.Reason = "The task's session died while it ran (killed, or the machine stopped).";
                }

                TaskStore.Save(current);
                AppendTranscriptNote(current, save);
                CleanupJournal.Append(CleanupRecords.ForWork(current, save, CleanupReason.OrphanSweep));
                return current;
            }
        }

        private static void AppendTranscriptNote(ClaudeTask task, WorkSave save)
        {
            try
            {
                using (var transcript = Transcript.Open(task.TranscriptPath ?? TaskStore.TranscriptFor(task.TaskId)))
                {
                    transcript.Note(save.Saved
                        ? $"work salvaged after the session died: branch {save.Branch} at {save.HeadCommit}, {save.FilesChanged} file(s) +{save.Insertions} -{save.Deletions}"
                        : $"salvage failed: {save.Error}");
                }
            }
            catch (IOException)
            {
            }
        }
    }
}
