using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using ClaudeOrchestrator.Engine.Cleanup;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Records;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Hosting;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Kills and removes the module's containers: this process's active ones by default, every
    /// labelled one with -All, or the ones piped in. A container without the module's label is
    /// never removed, whatever its name.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "ClaudeContainer", DefaultParameterSetName = TrackedSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(ClaudeContainer))]
    public sealed class RemoveClaudeContainerCommand : ContainerCmdletBase
    {
        private const string TrackedSet = "Tracked";
        private const string AllSet = "All";
        private const string OrphanedSet = "Orphaned";
        private const string IdSet = "Id";
        private const string NameSet = "Name";
        private const int ProgressActivityId = 0x434c;

        private readonly List<string> _ids = new List<string>();
        private readonly List<string> _names = new List<string>();
        private bool _yesToAll;
        private bool _noToAll;

        [Parameter(ParameterSetName = IdSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("ContainerId")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ContainerIdCompleter))]
        public string[] Id { get; set; }

        [Parameter(ParameterSetName = NameSet, Mandatory = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ContainerNameCompleter))]
        public string[] Name { get; set; }

        [Parameter(ParameterSetName = AllSet, Mandatory = true)]
        public SwitchParameter All { get; set; }

        [Parameter(ParameterSetName = OrphanedSet, Mandatory = true)]
        public SwitchParameter Orphaned { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>Removes running containers of other live sessions without asking.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessRecord()
        {
            if (Id != null)
            {
                _ids.AddRange(Id);
            }

            if (Name != null)
            {
                _names.AddRange(Name);
            }

            CollectEngines();
        }

        protected override void EndProcessing()
        {
            var scope = ParameterSetName == TrackedSet ? ContainerScope.Tracked
                : ParameterSetName == OrphanedSet ? ContainerScope.Orphaned
                : ContainerScope.All;
            var filter = Filter;
            var engines = Reach(Engines(tracked: scope == ContainerScope.Tracked));
            var candidates = new List<ClaudeContainer>();
            foreach (var connection in engines)
            {
                var listedFrom = DateTime.UtcNow;
                var listed = List(connection, engines, scope, filter);
                candidates.AddRange(listed);
                if (scope == ContainerScope.Tracked && filter.States.Length == 0 && filter.OlderThan == null)
                {
                    // Tracked but no longer on the engine (it went while the engine was unreachable): confirmed gone now.
                    foreach (var gone in ContainerTracker.ForgetGone(connection, listed.Select(c => c.Id), listedFrom))
                    {
                        WriteVerbose($"Container {gone} is already gone.");
                    }
                }
            }

            var targets = SelectTargets(engines, candidates)
                .Where(c => ShouldProcess($"{c.Name} ({c.State}, project '{c.Project}'{(engines.Count > 1 ? ", engine " + c.Engine : string.Empty)})", "Remove container") && MayInterrupt(c))
                .ToList();
            // Each on the engine that has it, kind after kind (Inventory's order); a workspace
            // volume only once its work is back, so a salvage waits until its containers are gone.
            foreach (var connection in engines)
            {
                var here = targets.Where(t => t.Engine == connection.Endpoint).ToList();
                var salvage = new List<ClaudeTask>();
                var removable = new List<ClaudeContainer>();
                foreach (var target in here)
                {
                    var decision = RemovalPolicy.Review(target, Force);
                    switch (decision.Action)
                    {
                        case RemovalAction.GoesWithTask:
                            WriteVerbose($"{target.Name} holds the workspace of task {target.TaskId}, which this session runs: it goes when the task ends, after its work is back.");
                            break;
                        case RemovalAction.Salvage:
                            if (salvage.All(t => t.TaskId != decision.Record.TaskId))
                            {
                                salvage.Add(decision.Record);
                            }

                            break;
                        case RemovalAction.HoldsWork:
                            WriteError(new ErrorRecord(
                                new InvalidOperationException($"{target.Name} holds a task's workspace and was left alone: {decision.Reason}. Its work comes back when that session or its host's sweep finishes it; add -Force to discard it."),
                                ErrorIds.VolumeHoldsWork, ErrorCategory.ResourceBusy, target));
                            break;
                        default:
                            removable.Add(target);
                            break;
                    }
                }

                if (removable.Count > 0)
                {
                    RemoveTargets(connection, removable, scope);
                }

                foreach (var task in salvage.Count == 0 ? Array.Empty<ClaudeTask>() : Run(cancel => TaskSalvager.SalvageAsync(connection, salvage, cancel)))
                {
                    ReportSalvage(task);
                }
            }

            if (scope == ContainerScope.Orphaned)
            {
                SalvageWork(engines);
            }
        }

        /// <summary>
        /// After the orphaned containers, the orphaned work: tasks whose session died keep their
        /// checkout until it is saved into their branch, which happens here.
        /// </summary>
        private void SalvageWork(IReadOnlyList<DockerConnection> engines)
        {
            var tasks = TaskStore.All();
            TaskSalvager.DeleteLeftoverCheckouts(tasks.Where(TaskSalvager.HasLeftoverCheckout)
                .Where(t => ShouldProcess($"task {t.TaskId}: its work is in branch {t.Branch}; delete the checkout left from an interrupted delete", "Delete checkout")));
            if (ShouldProcess("task records cut short while being written (no record, nothing else in their directory)", "Delete"))
            {
                TaskStore.SweepLeftovers();
            }

            if (ShouldProcess($"base trees of overlay checkouts that no task has used for {BaseTrees.IdleBeforeSweep.TotalMinutes:0} minutes and none references", "Delete"))
            {
                foreach (var deleted in BaseTrees.SweepUnused(TaskStore.Root, BaseTrees.IdleBeforeSweep))
                {
                    WriteVerbose($"Deleted the unused base tree {deleted}.");
                }
            }

            // A task is salvaged by its own engine's sweep, which knows whether its container is gone.
            var salvaged = new List<ClaudeTask>();
            var any = false;
            foreach (var connection in engines)
            {
                var candidates = tasks.Where(t => TaskSalvager.HasWorkToKeep(t) && TaskSalvager.RanOn(t, connection))
                    .Where(t => ShouldProcess(TaskSalvager.Describe(t), "Salvage task work"))
                    .ToList();
                if (candidates.Count > 0)
                {
                    any = true;
                    salvaged.AddRange(Run(cancel => TaskSalvager.SalvageAsync(connection, candidates, cancel)));
                }
            }

            if (!any)
            {
                return;
            }

            foreach (var task in salvaged)
            {
                ReportSalvage(task);
            }

            var kept = salvaged.Count(t => t.Work != ClaudeTaskWork.NotSaved && t.Work != ClaudeTaskWork.Lost);
            WriteInformation(
                new HostInformationMessage { Message = $"Salvaged the work of {kept} interrupted task(s)" },
                new[] { AgentOutputTags.Module, "Summary", AgentOutputTags.Host });
        }

        private void ReportSalvage(ClaudeTask task)
        {
            if (task.Work == ClaudeTaskWork.NotSaved)
            {
                WriteError(new ErrorRecord(new InvalidOperationException($"The work of task {task.TaskId} could not be saved ({task.WorkError?.TrimEnd('.')}); its checkout stays at {task.CheckoutPath}, and a later sweep tries again."),
                    ErrorIds.WorkNotSaved, ErrorCategory.WriteError, task));
            }
            else if (task.Work == ClaudeTaskWork.Lost)
            {
                WriteWarning($"Task {task.TaskId}: {task.WorkError}");
            }
            else if (task.CheckoutPath == null && task.Branch == null)
            {
                WriteVerbose($"Salvaged task {task.TaskId}: {task.Reason}");
            }
            else
            {
                WriteVerbose($"Salvaged task {task.TaskId}: branch {task.Branch} at {task.HeadCommit} ({task.FilesChanged} file(s)).");
            }
        }

        private void RemoveTargets(DockerConnection connection, IReadOnlyList<ClaudeContainer> targets, ContainerScope scope)
        {
            WriteVerbose($"Removing {targets.Count} object(s), up to {ContainerRemover.MaxParallelRemovals} at a time.");
            var reason = scope == ContainerScope.Orphaned ? CleanupReason.OrphanSweep : CleanupReason.Manual;
            var done = 0;
            var progress = new ProgressRecord(ProgressActivityId, "Removing ClaudeOrchestrator containers", $"0 of {targets.Count}");
            void ReportProgress(ProgressRecordType type)
            {
                var count = Volatile.Read(ref done);
                progress.StatusDescription = $"{count} of {targets.Count}";
                progress.PercentComplete = type == ProgressRecordType.Completed ? 100 : count * 100 / targets.Count;
                progress.RecordType = type;
                WriteProgress(progress);
            }

            var outcomes = RunPumped(
                _ => Inventory.RemoveAsync(connection, targets, reason, CancelToken, __ => Interlocked.Increment(ref done)),
                () => ReportProgress(ProgressRecordType.Processing));
            ReportProgress(ProgressRecordType.Completed);

            var removed = new List<ClaudeContainer>();
            for (var i = 0; i < targets.Count; i++)
            {
                var (target, outcome) = (targets[i], outcomes[i]);
                if (outcome.Removed)
                {
                    removed.Add(target);
                    WriteVerbose($"Removed {outcome.Name} in {outcome.Duration.TotalMilliseconds:0} ms.");
                    if (PassThru)
                    {
                        WriteObject(target);
                    }
                }
                else
                {
                    WriteError(new ErrorRecord(
                        outcome.Error ?? new InvalidOperationException($"The {target.Kind} could not be removed."),
                        ErrorIds.RemovalFailed, ErrorCategory.ResourceUnavailable, target));
                }
            }

            foreach (var line in Inventory.Summarize(removed))
            {
                WriteInformation(new HostInformationMessage { Message = line }, new[] { AgentOutputTags.Module, "Summary", AgentOutputTags.Host });
            }
        }

        /// <summary>
        /// A running task of another live session is someone's work in progress: killing it takes
        /// -Force, an explicit -Confirm:$false, or a yes at the prompt. This process's own tasks,
        /// orphans and stopped containers need no such consent.
        /// </summary>
        private bool MayInterrupt(ClaudeContainer container)
        {
            if (Force || _yesToAll || !string.Equals(container.State, "running", StringComparison.OrdinalIgnoreCase) ||
                container.IsTracked || OwnerLiveness.IsOrphan(container) || ConfirmDeclinedExplicitly)
            {
                return true;
            }

            if (_noToAll)
            {
                return false;
            }

            try
            {
                return ShouldContinue(
                    $"{container.Name} is running a task of another session (process {container.OwnerPid} on {container.OwnerHost}, project '{container.Project}'). Kill and remove it?",
                    "Remove running container", ref _yesToAll, ref _noToAll);
            }
            catch (Exception e) when (e is PSInvalidOperationException || e is System.Management.Automation.Host.HostException || e is NotImplementedException)
            {
                // No one to ask (-NonInteractive, a job, a scheduled task): leave it, and say how.
                WriteError(new ErrorRecord(
                    new InvalidOperationException($"{container.Name} is running a task of another live session and was left alone; add -Force to remove it without asking."),
                    ErrorIds.RemovalNeedsForce, ErrorCategory.ResourceBusy, container));
                return false;
            }
        }

        private bool ConfirmDeclinedExplicitly =>
            MyInvocation.BoundParameters.TryGetValue("Confirm", out var confirm) && confirm is SwitchParameter flag && !flag.IsPresent;

        private IEnumerable<ClaudeContainer> SelectTargets(IReadOnlyList<DockerConnection> engines, IReadOnlyList<ClaudeContainer> candidates)
        {
            if (ParameterSetName != IdSet && ParameterSetName != NameSet)
            {
                return candidates;
            }

            var selection = new ContainerSelection(_names, _ids);
            foreach (var missing in selection.UnmatchedLiterals(candidates))
            {
                var exists = engines.Any(connection => Run(cancel => ContainerObjects.NamedExistsAsync(connection, missing, cancel)));
                if (exists)
                {
                    WriteError(new ErrorRecord(
                        new InvalidOperationException($"The container '{missing}' was not created by ClaudeOrchestrator (it lacks the {ContainerLabels.Managed} label) and is left alone."),
                        ErrorIds.ContainerNotManaged, ErrorCategory.PermissionDenied, missing));
                }
                else if (_ids.Contains(missing))
                {
                    // Ids come from objects that existed a moment ago: already gone is the goal, not an error.
                    WriteVerbose($"Container {missing} is already gone.");
                }
                else
                {
                    WriteError(new ErrorRecord(
                        new ItemNotFoundException($"No ClaudeOrchestrator container matches '{missing}'."),
                        ErrorIds.ContainerNotFound, ErrorCategory.ObjectNotFound, missing));
                }
            }

            return candidates.Where(selection.Matches);
        }
    }
}
