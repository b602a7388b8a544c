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
        private static readonly TimeSpan ClaimWait = TimeSpan.FromSeconds(60);
        private static readonly TimeSpan ClaimPoll = TimeSpan.FromMilliseconds(50);

        /// <summary>A task with a checkout nobody is running any more: interrupted, or ended without its work saved.</summary>
        public static bool NeedsSalvage(ClaudeTask task) =>
            task.CheckoutPath != null && TaskCheckout.Exists(TaskStore.DirectoryFor(task.TaskId)) && !TaskSession.IsActive(task.TaskId) &&
            (task.Status == ClaudeTaskStatus.Interrupted || (task.Status != ClaudeTaskStatus.Running && task.Work == ClaudeTaskWork.NotSaved));

        /// <summary>
        /// Workspace volumes of a dead session whose task is recorded here as finished with nothing
        /// left to bring back (the session died after saving, before removing them, or before
        /// its agent ever ran): only leftovers, removed. A volume whose work is not back yet is
        /// the salvage's; one of a task this machine has no record of is not this sweep's at all.
        /// </summary>
        private static async Task RemoveLeftoverVolumesAsync(DockerConnection connection, CancellationToken cancel)
        {
            var volumes = await ShippedWorkspace.ListVolumesAsync(connection, null, cancel).ConfigureAwait(false);
            foreach (var volume in volumes.Select(v => ContainerQuery.ToClaudeContainer(v, connection)).Where(OwnerLiveness.IsOrphan))
            {
                var record = volume.TaskId == null ? null : TaskStore.Load(volume.TaskId);
                if (record != null && record.Status != ClaudeTaskStatus.Running && record.Work != ClaudeTaskWork.Pending &&
                    !HasWorkToKeep(record) && !TaskSession.IsActive(record.TaskId))
                {
                    await ShippedWorkspace.RemoveVolumeAsync(connection, volume.Name).ConfigureAwait(false);
                }
            }
        }

        /// <summary>Whether a sweep has work of <paramref name="task"/> to bring back or save: a checkout to save, or a tree in place to recover.</summary>
        public static bool HasWorkToKeep(ClaudeTask task) => NeedsSalvage(task) || NeedsRecovery(task);

        /// <summary>A task in place whose session died with its tree still copied to a remote engine.</summary>
        public static bool NeedsRecovery(ClaudeTask task) =>
            task.CheckoutPath == null && task.Workspace == WorkspaceTransfer.Copy && task.Work == ClaudeTaskWork.InPlace &&
            task.Status == ClaudeTaskStatus.Interrupted && !TaskSession.IsActive(task.TaskId);

        /// <summary>
        /// A checkout whose work is already in the branch (the record no longer names it) but
        /// whose deletion was cut short, by a kill during the delete.
        /// </summary>
        public static bool HasLeftoverCheckout(ClaudeTask task) =>
            task.CheckoutPath == null && task.Status != ClaudeTaskStatus.Running &&
            !TaskSession.IsActive(task.TaskId) && TaskCheckout.Exists(TaskStore.DirectoryFor(task.TaskId));

        /// <summary>What a salvage of <paramref name="task"/> does, in the words -WhatIf and -Confirm show.</summary>
        public static string Describe(ClaudeTask task) =>
            task.CheckoutPath == null
                ? $"task {task.TaskId} ({task.Project}): bring its tree back from the engine's volumes into {Path.Combine(TaskStore.DirectoryFor(task.TaskId), "returned")}, then remove the volumes"
                : $"task {task.TaskId} ({task.Project}): " + (task.Workspace == WorkspaceTransfer.Copy ? "bring its checkout back from the engine's volumes, " : string.Empty) +
                  $"commit its checkout to branch {task.Branch}, then delete the checkout";

        /// <summary>What the sweep on import does with the task records, read once: salvage, then leftovers.</summary>
        public static async Task SweepAsync(DockerConnection connection, CancellationToken cancel)
        {
            var tasks = TaskStore.All();
            await SalvageAsync(connection, tasks.Where(HasWorkToKeep).ToList(), cancel).ConfigureAwait(false);
            if (tasks.Any(t => t.Workspace == WorkspaceTransfer.Copy))
            {
                await RemoveLeftoverVolumesAsync(connection, cancel).ConfigureAwait(false);
            }

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
            // A workspace holder only copies, and the salvage itself makes one: it writes nothing here.
            var busy = new HashSet<string>(containers.Where(c => c.Role != ShippedWorkspace.HolderRole).Select(c => c.TaskId).Where(t => t != null), StringComparer.Ordinal);
            var salvaged = new List<ClaudeTask>();
            foreach (var task in candidates.Where(t => !busy.Contains(t.TaskId)))
            {
                cancel.ThrowIfCancellationRequested();
                var saved = await SalvageAsync(connection, task, cancel).ConfigureAwait(false);
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

        /// <summary>
        /// Saves one task's work, under a claim on its directory so that two sweeps (this
        /// process's background one and a command's, or another process's) never work on it at
        /// once; null when another one holds the claim or finished it a moment ago. A workspace
        /// copied to an engine first comes back from the engine's volumes; when it cannot, the
        /// record returned says so (Work NotSaved, not written: the next sweep tries again).
        /// </summary>
        /// <summary>
        /// The task's salvage claim (a lock file in its directory, gone when disposed), held by
        /// whoever is bringing its work back or saving it; null when another holds it past the wait.
        /// Another sweep holding the claim is finishing this very task: waiting for it (bounded)
        /// makes a command that asked for the salvage return after it, not before.
        /// </summary>
        internal static async Task<FileStream> ClaimAsync(string taskId, CancellationToken cancel)
        {
            var lockFile = Path.Combine(TaskStore.DirectoryFor(taskId), LockName);
            for (var waited = TimeSpan.Zero; ; waited += ClaimPoll)
            {
                try
                {
                    return new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
                }
                catch (IOException) when (waited < ClaimWait)
                {
                    await Task.Delay(ClaimPoll, cancel).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    return null;
                }
            }
        }

        internal static async Task<ClaudeTask> SalvageAsync(DockerConnection connection, ClaudeTask task, CancellationToken cancel)
        {
            var claim = await ClaimAsync(task.TaskId, cancel).ConfigureAwait(false);
            if (claim == null)
            {
                return null;
            }

            using (claim)
            {
                // Read again under the claim: another process may have finished it a moment ago.
                var current = TaskStore.Load(task.TaskId);
                if (current == null || !HasWorkToKeep(current))
                {
                    return null;
                }

                var unrecovered = current.Workspace == WorkspaceTransfer.Copy ? await ShippedWorkspace.RecoverAsync(connection, current, cancel).ConfigureAwait(false) : null;
                if (unrecovered != null)
                {
                    current.Work = ClaudeTaskWork.NotSaved;
                    current.Reason = "The task's workspace is still on the engine: " + unrecovered;
                    return current;
                }

                if (current.CheckoutPath == null)
                {
                    // In place: the tree came back beside the record (RecoverAsync said where in Reason).
                    current.Work = ClaudeTaskWork.Salvaged;
                    TaskStore.Save(current);
                    return current;
                }

                var checkout = new TaskCheckout(TaskStore.DirectoryFor(current.TaskId), current.Repository, current.GitDirectory, current.Branch, current.BaseCommit, current.TaskId, ownsBranch: current.ResumedFrom == null);
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
