using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Cleanup;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Prunes task history: the record and the transcript go; the branch goes only when another
    /// branch contains its work (merged) or with -Force. An interrupted task's checkout is saved
    /// into its branch first.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "ClaudeTask", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = IdSet)]
    [OutputType(typeof(ClaudeTask))]
    public sealed class RemoveClaudeTaskCommand : TaskCmdletBase
    {
        private const string IdSet = "Id";
        private const string FilterSet = "Filter";
        private readonly List<ClaudeTask> _selected = new List<ClaudeTask>();
        private readonly HashSet<string> _declined = new HashSet<string>(StringComparer.Ordinal);

        [Parameter(ParameterSetName = IdSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("TaskId")]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(TaskIdCompleter))]
        public override string[] Id { get; set; }

        /// <summary>Tasks that ended longer ago than this: 90 (seconds), 30m, 12h, 7d, 00:30:00.</summary>
        [Parameter(ParameterSetName = FilterSet)]
        [TimeSpanArgument]
        public TimeSpan OlderThan { get; set; }

        /// <summary>Every ended task (with -Project or -Status, every such task).</summary>
        [Parameter(ParameterSetName = FilterSet)]
        public SwitchParameter All { get; set; }

        [Parameter(ParameterSetName = FilterSet)]
        [SupportsWildcards]
        public string[] Project { get; set; }

        [Parameter(ParameterSetName = FilterSet)]
        public ClaudeTaskStatus[] Status { get; set; }

        /// <summary>Deletes unmerged branches too: their work is lost.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void BeginProcessing()
        {
            if (ParameterSetName == FilterSet && !All && !MyInvocation.BoundParameters.ContainsKey(nameof(OlderThan)))
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentException("Say which tasks to remove: -Id, -OlderThan, or -All (optionally with -Project and -Status)."),
                    "TaskSelectionMissing", ErrorCategory.InvalidArgument, null));
            }

            if (MyInvocation.BoundParameters.ContainsKey(nameof(OlderThan)) && OlderThan < TimeSpan.Zero)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentOutOfRangeException(nameof(OlderThan), OlderThan, "-OlderThan cannot be negative."),
                    ErrorIds.OlderThanInvalid, ErrorCategory.InvalidArgument, OlderThan));
            }
        }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == IdSet)
            {
                _selected.AddRange(SelectById(Id));
            }
        }

        protected override void EndProcessing()
        {
            IEnumerable<ClaudeTask> tasks = _selected;
            if (ParameterSetName == FilterSet)
            {
                var cutoff = MyInvocation.BoundParameters.ContainsKey(nameof(OlderThan)) ? DateTime.Now - OlderThan : (DateTime?)null;
                var projects = Project?.Select(p => new WildcardPattern(p, WildcardOptions.IgnoreCase)).ToList();
                tasks = TaskStore.All().Where(t =>
                    !IsRunning(t) &&
                    (cutoff == null || (t.EndTime ?? t.StartTime) < cutoff.Value) &&
                    (projects == null || projects.Any(p => p.IsMatch(t.Project ?? string.Empty))) &&
                    (Status == null || Status.Contains(t.Status)));
            }

            var pending = tasks.GroupBy(t => t.TaskId).Select(g => g.First()).ToList();
            SalvageFirst(pending);
            foreach (var task in pending.Select(t => TaskStore.Load(t.TaskId) ?? t))
            {
                if (IsRunning(task) || ActiveTasks.IsActive(task.TaskId))
                {
                    WriteError(RunningError(task, "remove it"));
                    continue;
                }

                if (_declined.Contains(task.TaskId))
                {
                    continue;
                }

                if (TaskSalvager.NeedsSalvage(task))
                {
                    // Its checkout holds work that is not in the branch yet: keep everything.
                    WriteError(new ErrorRecord(
                        new InvalidOperationException($"Task {task.TaskId}'s work is not saved in its branch yet (its container may still exist{(task.Work == ClaudeTaskWork.NotSaved ? ", or saving failed: " + task.WorkError : string.Empty)}); its checkout stays at {task.CheckoutPath}."),
                        ErrorIds.WorkNotSaved, ErrorCategory.ResourceBusy, task));
                    continue;
                }

                if (!ShouldProcess($"task {task.TaskId} ({task.Project}, {task.Status}{(task.Branch != null ? ", branch " + task.Branch : string.Empty)})", "Remove task record and transcript"))
                {
                    continue;
                }

                PruneBranch(task);
                TaskStore.Delete(task.TaskId);
                WriteVerbose($"Removed task {task.TaskId}.");
                if (PassThru)
                {
                    WriteObject(task);
                }
            }
        }

        /// <summary>Interrupted tasks among the selection get their work saved before anything is pruned.</summary>
        private void SalvageFirst(IReadOnlyList<ClaudeTask> tasks)
        {
            var salvage = new List<ClaudeTask>();
            foreach (var task in tasks.Where(TaskSalvager.NeedsSalvage))
            {
                if (ShouldProcess(TaskSalvager.Describe(task), "Salvage task work"))
                {
                    salvage.Add(task);
                }
                else
                {
                    // Not salvaged, so not removable either: -WhatIf or a "no" leaves it as it is.
                    _declined.Add(task.TaskId);
                }
            }

            if (salvage.Count == 0)
            {
                return;
            }

            // Each on the engine it ran on: only that engine knows whether its container is gone.
            var saved = new List<ClaudeTask>();
            foreach (var onEngine in salvage.GroupBy(t => EngineEndpoints.Normalize(t.Engine) ?? string.Empty))
            {
                var connection = Run(cancel => DockerConnection.ReachAsync(DockerConnection.ForRecorded(onEngine.First().Engine), cancel));
                saved.AddRange(Run(cancel => TaskSalvager.SalvageAsync(connection, onEngine.ToList(), cancel)));
            }

            foreach (var task in saved)
            {
                WriteVerbose(task.Work == ClaudeTaskWork.NotSaved
                    ? $"Task {task.TaskId}: its work could not be saved ({task.WorkError}); the checkout stays."
                    : task.Work == ClaudeTaskWork.Lost
                    ? $"Task {task.TaskId}: {task.WorkError}"
                    : $"Task {task.TaskId}: its work was salvaged into {task.Branch} ({task.HeadCommit}).");
            }
        }

        private void PruneBranch(ClaudeTask task)
        {
            if (string.IsNullOrEmpty(task.Branch) || string.IsNullOrEmpty(task.Repository) || !System.IO.Directory.Exists(task.Repository))
            {
                return;
            }

            var tip = TaskBranches.Tip(task);
            if (tip == null)
            {
                return;
            }

            if (TaskBranches.IsMerged(task, tip) || Force)
            {
                if (TaskBranches.Delete(task, tip))
                {
                    WriteVerbose($"Deleted branch {task.Branch} ({(Force ? "forced" : "merged")}).");
                }
            }
            else
            {
                WriteWarning($"Kept the branch '{task.Branch}' in {task.Repository}: no other branch contains its work. Merge it (Merge-ClaudeTask), or add -Force to delete it.");
            }
        }
    }
}
