using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Records;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Engine.Cleanup
{
    /// <summary>What a removal does with one listed object of the module.</summary>
    internal enum RemovalAction
    {
        /// <summary>Its task runs in this session: the volume goes when the task ends, after its work is back.</summary>
        GoesWithTask,

        /// <summary>A dead session's task recorded here still has work in it: salvaged (work back into the branch, then the volumes removed).</summary>
        Salvage,

        /// <summary>Someone else's work (no record here, or a task of another live session): left alone unless forced.</summary>
        HoldsWork,

        /// <summary>Nothing left to bring back: removed.</summary>
        Remove,
    }

    /// <summary>One volume's <see cref="RemovalAction"/>, with the task record it was decided by and, for a volume left alone, why.</summary>
    internal sealed class RemovalDecision
    {
        public RemovalDecision(RemovalAction action, ClaudeTask record = null, string reason = null)
        {
            Action = action;
            Record = record;
            Reason = reason;
        }

        public RemovalAction Action { get; }

        public ClaudeTask Record { get; }

        public string Reason { get; }
    }

    /// <summary>
    /// Whether a listed object may go, decided once for Remove-ClaudeContainer. A container,
    /// service or config is removed (its task's work stays in the task's checkout or comes back
    /// through its service's log). A workspace volume holds a task's work until that work is back
    /// on the machine that ran the task: it goes with its task, is salvaged, or is left alone.
    /// </summary>
    internal static class RemovalPolicy
    {
        /// <param name="force">Discard another machine's or live session's work too.</param>
        public static RemovalDecision Review(ClaudeContainer item, bool force) =>
            Inventory.KindOf(item) == VolumeObjects.Instance ? ReviewVolume(item, force)
            // The live session's gateway network goes with its gateway, once its tasks have left it.
            : Inventory.KindOf(item) == NetworkObjects.Instance && item.IsTracked ? new RemovalDecision(RemovalAction.GoesWithTask)
            : new RemovalDecision(RemovalAction.Remove);

        private static RemovalDecision ReviewVolume(ClaudeContainer volume, bool force)
        {
            if (volume.IsTracked)
            {
                return new RemovalDecision(RemovalAction.GoesWithTask);
            }

            if (OverlayMounts.IsTrialVolume(volume.TaskId))
            {
                // The overlay trial's volume holds a file of its own, never a task's work.
                return new RemovalDecision(RemovalAction.Remove);
            }

            var record = volume.TaskId == null ? null : TaskStore.Load(volume.TaskId);
            if (record != null && record.Workspace == WorkspaceTransfer.Copy && TaskSalvager.HasWorkToKeep(record))
            {
                return new RemovalDecision(RemovalAction.Salvage, record);
            }

            if (record != null && record.Workspace != WorkspaceTransfer.Copy && (record.Status != ClaudeTaskStatus.Running || OwnerLiveness.IsOrphan(volume)))
            {
                // An overlay checkout's volume only describes the mount: the work is in the task's
                // layer on this machine, which the salvage saves whether the volume is there or not.
                return new RemovalDecision(RemovalAction.Remove, record);
            }

            var foreign = record == null ? $"this machine has no record of its task {volume.TaskId} (it ran from {volume.OwnerHost ?? "another machine"})"
                : record.Status == ClaudeTaskStatus.Running ? $"its task {volume.TaskId} is running in another session (process {record.OwnerPid} on {record.OwnerHost})"
                : null;
            return foreign != null && !force
                ? new RemovalDecision(RemovalAction.HoldsWork, record, foreign)
                : new RemovalDecision(RemovalAction.Remove, record);
        }
    }
}
