using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Journal;
using ClaudeOrchestrator.Engine.Records;
using ClaudeOrchestrator.Engine.Tasks;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Engine.Workspaces;

namespace ClaudeOrchestrator.Engine.Cleanup
{
    /// <summary>
    /// The work of a session that died outright (SIGKILL, power loss) is still in its checkout:
    /// once the task's container is gone, this saves it into the branch and only then deletes the
    /// checkout. A checkout whose save failed earlier is retried the same way. Nothing here ever
    /// deletes a branch.
    /// </summary>
    internal static class TaskSalvager
    {

        /// <summary>
        /// A task with a checkout nobody is running any more whose work is not in its branch yet:
        /// interrupted before its save, or ended without its work saved. (One interrupted after
        /// its save has a leftover checkout instead.)
        /// </summary>
        public static bool NeedsSalvage(ClaudeTask task) =>
            task.CheckoutPath != null && !ActiveTasks.IsActive(task.TaskId) &&
            task.Status != ClaudeTaskStatus.Running && (task.Work == ClaudeTaskWork.Pending || task.Work == ClaudeTaskWork.NotSaved) &&
            // A session killed before its checkout existed still left a record, and perhaps a branch, to finish.
            (TaskCheckout.Exists(TaskStore.DirectoryFor(task.TaskId)) || task.AgentLaunched == false);

        /// <summary>
        /// Workspace volumes of a dead session whose task is recorded here as finished with nothing
        /// left to bring back (the session died after saving, before removing them, or before
        /// its agent ever ran): only leftovers, removed. A volume whose work is not back yet is
        /// the salvage's; one of a task this machine has no record of is not this sweep's at all.
        /// </summary>
        private static async Task RemoveLeftoverVolumesAsync(DockerConnection connection, CancellationToken cancel)
        {
            var volumes = await ShippedWorkspace.ListVolumesAsync(connection, null, cancel).ConfigureAwait(false);
            foreach (var volume in volumes.Select(v => VolumeObjects.ToClaudeContainer(v, connection)).Where(OwnerLiveness.IsOrphan))
            {
                var record = volume.TaskId == null ? null : TaskStore.Load(volume.TaskId);
                if (record != null && record.Status != ClaudeTaskStatus.Running && record.Work != ClaudeTaskWork.Pending &&
                    !HasWorkToKeep(record) && !ActiveTasks.IsActive(record.TaskId))
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
            task.Status == ClaudeTaskStatus.Interrupted && !ActiveTasks.IsActive(task.TaskId);

        /// <summary>
        /// A checkout whose work is already in the branch (the record says so before the checkout
        /// is deleted) but whose deletion was cut short, by a kill during the delete: it is never
        /// saved again, only deleted.
        /// </summary>
        public static bool HasLeftoverCheckout(ClaudeTask task) =>
            task.Status != ClaudeTaskStatus.Running && task.Work != ClaudeTaskWork.Pending && task.Work != ClaudeTaskWork.NotSaved &&
            !ActiveTasks.IsActive(task.TaskId) && (TaskCheckout.Exists(TaskStore.DirectoryFor(task.TaskId)) || task.CheckoutPath != null);

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
            TaskStore.SweepLeftovers();
            BaseTrees.SweepUnused(TaskStore.Root, BaseTrees.IdleBeforeSweep);
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
            var containers = await Inventory.ListAsync(connection, ContainerScope.All, ContainerFilter.None, cancel).ConfigureAwait(false);
            // A workspace holder only copies, and the salvage itself makes one: it writes nothing here.
            var busy = new HashSet<string>(containers.Where(c => c.Role != ShippedWorkspace.HolderRole).Select(c => c.TaskId).Where(t => t != null), StringComparer.Ordinal);
            // What could not be listed may still be running its agent: its tasks wait for a sweep that sees it.
            var unknown = new HashSet<string>(containers.Problems.Select(p => p.Part), StringComparer.Ordinal);
            var salvaged = new List<ClaudeTask>();
            foreach (var task in candidates.Where(t => !busy.Contains(t.TaskId) && !unknown.Contains(TaskBackends.For(t.Backend).RunsIn.Name)))
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

        /// <summary>
        /// The checkouts (and helpers) of tasks whose work is already in their branch, left by a
        /// kill during their deletion; and the record of a session killed after that, made final.
        /// </summary>
        public static void DeleteLeftoverCheckouts(IEnumerable<ClaudeTask> tasks)
        {
            foreach (var task in tasks)
            {
                try
                {
                    new TaskCheckout(TaskStore.DirectoryFor(task.TaskId), task.Repository, task.GitDirectory ?? string.Empty, task.Branch, task.BaseCommit, task.TaskId).DeleteFiles();
                    ReturnedParts.Clear(task.TaskId);
                    var record = TaskStore.Load(task.TaskId);
                    if (record != null && record.CheckoutPath != null && !ActiveTasks.IsActive(task.TaskId))
                    {
                        record.CheckoutPath = null;
                        record.EndTime = record.EndTime ?? DateTime.Now;
                        if (record.Status == ClaudeTaskStatus.Interrupted && record.Reason == null)
                        {
                            record.Reason = "The task's session died after its work was saved in the branch, before it finished.";
                        }

                        TaskStore.Save(record);
                    }
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    // Tried again on the next sweep.
                }
            }
        }

        /// <summary>
        /// Finishes one task whose session died, from whatever step it stopped at: work brought
        /// back from an engine's volumes or put in place from a swarm service's received parts,
        /// then saved into the branch, then the checkout deleted. A task whose agent was never
        /// launched has nothing to save: its checkout (and its branch, still at its base) is
        /// deleted. A failure says why once; the same failure again is not news (null returned).
        /// </summary>
        internal static async Task<ClaudeTask> SalvageAsync(DockerConnection connection, ClaudeTask task, CancellationToken cancel)
        {
            var claim = await SalvageClaim.AcquireAsync(task.TaskId, cancel).ConfigureAwait(false);
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

                var recovery = await TaskBackends.For(current.Backend).RecoverAsync(connection, current, cancel).ConfigureAwait(false);
                if (recovery.NotYet != null)
                {
                    return NotSavedYet(current, recovery.NotYet);
                }

                var lost = recovery.Lost;
                using (var transcript = OpenTranscript(current))
                {

                    if (current.CheckoutPath == null)
                    {
                        // In place: the tree came back beside the record (RecoverAsync or the parts said where in Reason).
                        current.Work = lost != null ? ClaudeTaskWork.Lost : ClaudeTaskWork.Salvaged;
                        current.WorkError = lost;
                        ReturnedParts.Clear(current.TaskId);
                        TaskStore.Save(current);
                        return current;
                    }

                    var checkout = new TaskCheckout(TaskStore.DirectoryFor(current.TaskId), current.Repository, current.GitDirectory, current.Branch, current.BaseCommit, current.TaskId, ownsBranch: current.ResumedFrom == null);
                    checkout.RemoveStaleLocks();
                    if (current.AgentLaunched == false)
                    {
                        Discard(checkout, current, note => transcript?.Note(note));
                    }
                    else
                    {
                        var repeated = current.Work == ClaudeTaskWork.NotSaved ? current.WorkError : null;
                        var save = TaskSession.KeepWork(checkout, current, current.Status, salvage: true, containerGone: true, dropEmptyBranch: false,
                            CleanupReason.OrphanSweep, note => transcript?.Note(note), lost);
                        if (!save.Saved && save.Error == repeated)
                        {
                            return null;
                        }

                        if (save.Saved)
                        {
                            ReturnedParts.Clear(current.TaskId);
                        }
                    }
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

        /// <summary>
        /// A task whose agent never ran: its checkout holds only the base, so it is deleted
        /// without a save, its branch too while still at the base commit, and one journal line says so.
        /// </summary>
        private static void Discard(TaskCheckout checkout, ClaudeTask record, Action<string> note)
        {
            checkout.DeleteBranchAtBase();
            checkout.DeleteFiles();
            ReturnedParts.Clear(record.TaskId);
            var save = new WorkSave { Saved = true, Work = ClaudeTaskWork.NoChanges, Branch = null, BaseCommit = record.BaseCommit, HeadCommit = record.BaseCommit };
            note("the agent never started: the checkout held only the base, deleted with the branch still at it");
            CleanupJournal.Append(save.ToRecord(record, CleanupReason.OrphanSweep));
            save.ApplyTo(record);
            record.Branch = checkout.OwnsBranch ? null : record.Branch;
            record.CheckoutPath = null;
            record.WorkError = null;
        }

        /// <summary>Work NotSaved with the reason, said (journal, record) only when it is news; null returned when it is not.</summary>
        private static ClaudeTask NotSavedYet(ClaudeTask record, string why)
        {
            if (record.Work == ClaudeTaskWork.NotSaved && record.WorkError == why)
            {
                return null;
            }

            record.Work = ClaudeTaskWork.NotSaved;
            record.WorkError = why;
            record.Reason = why;
            CleanupJournal.Append(new WorkSave { Saved = false, Work = ClaudeTaskWork.NotSaved, Error = why }.ToRecord(record, CleanupReason.OrphanSweep));
            TaskStore.Save(record);
            return record;
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
