using System.Collections.Generic;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Merges tasks' branches into the current branch of their repository, in pipeline order. A
    /// conflict stops the batch at that task: the repository is as it was before that merge, the
    /// merges before it stay, and no later task is merged.
    /// </summary>
    [Cmdlet(VerbsData.Merge, "ClaudeTask", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(ClaudeTask))]
    public sealed class MergeClaudeTaskCommand : TaskCmdletBase
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("TaskId")]
        [ArgumentCompleter(typeof(TaskIdCompleter))]
        public override string[] Id { get; set; }

        /// <summary>One commit per task with the task's summary as its message, instead of a merge commit.</summary>
        [Parameter]
        public SwitchParameter Squash { get; set; }

        private readonly List<string> _merged = new List<string>();

        protected override void ProcessRecord()
        {
            foreach (var task in SelectById(Id))
            {
                if (IsRunning(task))
                {
                    WriteError(RunningError(task, "merge it"));
                    continue;
                }

                try
                {
                    TaskBranches.RequireBranch(task);
                    var into = GitCli.Run(task.Repository, "symbolic-ref", "-q", "--short", "HEAD");
                    if (!ShouldProcess($"{task.Branch} into {(into.Ok ? into.Line : "HEAD")} in {task.Repository}", "Merge task branch"))
                    {
                        continue;
                    }

                    task.MergeCommit = TaskBranches.Merge(task, Squash);
                    TaskStore.Save(task);
                    _merged.Add(task.TaskId);
                    WriteVerbose($"Merged {task.Branch} into {into.Line}{(Squash.IsPresent ? " as one commit" : string.Empty)}: {task.MergeCommit}.");
                    WriteObject(task);
                }
                catch (OrchestratorException e) when (e.ErrorId == ErrorIds.MergeConflict)
                {
                    // Merging on past a conflict would merge later tasks without this one's work.
                    var before = _merged.Count == 0 ? "No task was merged before it." : $"The {_merged.Count} task(s) merged before it stay merged ({string.Join(", ", _merged)}).";
                    ThrowTerminatingError(new OrchestratorException(e.ErrorId, ErrorCategory.InvalidResult,
                        e.Message + " " + before + " The batch stops here: no later task is merged.", task, e).ToErrorRecord());
                }
                catch (OrchestratorException e)
                {
                    WriteError(e);
                }
            }
        }
    }
}
