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

        /// <summary>A task with a checkout nobody is running any more: interrupted, or ended without its work saved.</summary>
        public static bool NeedsSalvage(ClaudeTask task) =>
            task.CheckoutPath != null && TaskCheckout.Exists(TaskStore.DirectoryFor(task.TaskId)) && !TaskSession.IsActive(task.TaskId) &&
            (task.Status == ClaudeTaskStatus.Interrupted || (task.Status != ClaudeTaskStatus.Running && task.Work == ClaudeTaskWork.NotSaved));

        /// <summary>
        /// A checkout whose work is already in the branch (the record no longer names it) but
        /// whose deletion was cut short, by a kill during the delete.
        /// </summary>
        public static bool HasLeftoverCheckout(ClaudeTask task) =>
            task.CheckoutPath == null && task.Status != ClaudeTaskStatus.Running &&
            !TaskSession.IsActive(task.TaskId) && TaskCheckout.Exists(TaskStore.DirectoryFor(task.TaskId));

        /// <summary>What a salvage of <paramref name="task"/> does, in the words -WhatIf and -Confirm show.</summary>
        public static string Describe(ClaudeTask task) =>
            $"task {task.TaskId} ({task.Project}): commit its checkout to branch {task.Branch}, then delete the checkout";

        /// <summary>What the sweep on import does with the task records, read once: salvage, then leftovers.</summary>
        public static async Task SweepAsync(DockerConnection connection, CancellationToken cancel)
        {
            var tasks = TaskStore.All();
            await SalvageAsync(connection, tasks.Where(NeedsSalvage).ToList(), cancel).ConfigureAwait(false);
            DeleteLeftoverCheckouts(tasks.Where(HasLeftoverCheckout));
        }

        /// <summary>
        /// Salvages those of <paramref name="candidates"/> whose container <paramref name="connection"/>'s
        /// engine no longer lists; returns the records as saved (Work Salvaged, or NotSaved with the reason).
        /// </summary>
        public static async Task<IReadOnlyList<ClaudeTask>> SalvageAsync(DockerConnection connection, IReadOnlyCollection<ClaudeTask> candidates, CancellationToken cancel)
        {
            // Another engine's list says nothing about a task that ran there: its container may be running still.
            candidates = candidates.Where(t => RanOn(t, connection)).ToList();
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

        /// <summary>Whether <paramref name="task"/> ran on <paramref name="connection"/>'s engine; a record from before engines were recorded means the default one.</summary>
        internal static bool RanOn(ClaudeTask task, DockerConnection connection)
        {
            if (task.Engine == null)
            {
                try
                {
                    return DockerConnection.Current() == connection;
                }
                catch (OrchestratorException)
                {
                    return false;
                }
            }

            return EngineEndpoints.Normalize(task.Engine) == EngineEndpoints.Normalize(connection.Endpoint);
        }

        public static void DeleteLeftoverCheckouts(IEnumerable<ClaudeTask> tasks)
        {
            foreach (var task in tasks)
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

                var checkout = new TaskCheckout(directory, current.Repository, current.GitDirectory, current.Branch, current.BaseCommit, current.TaskId, ownsBranch: current.ResumedFrom == null);
                using (var transcript = OpenTranscript(current))
                {
                    TaskSession.KeepWork(checkout, current, current.Status, salvage: true, containerGone: true, dropEmptyBranch: false,
                        CleanupReason.OrphanSweep, note => transcript?.Note(note));
                }

                current.EndTime = current.EndTime ?? DateTime.Now;
                if (current.Status == ClaudeTaskStatus.Interrupted && current.Reason == null)
                {
                    current.Reason = "The task's session died while it ran (killed, or the machine stopped).";
                }

                TaskStore.Save(current);
                return current;
            }
        }

        private static Transcript OpenTranscript(ClaudeTask task)
        {
            try
            {
                return Transcript.Open(task.TranscriptPath ?? TaskStore.TranscriptFor(task.TaskId));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}
