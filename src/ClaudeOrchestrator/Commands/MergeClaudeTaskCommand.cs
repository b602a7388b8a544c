using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Merges a task's branch into the current branch of the project's repository.</summary>
    [Cmdlet(VerbsData.Merge, "ClaudeTask", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(ClaudeTask))]
    public sealed class MergeClaudeTaskCommand : TaskCmdletBase
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("TaskId")]
        [ArgumentCompleter(typeof(TaskIdCompleter))]
        public override string[] Id { get; set; }

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

                    task.MergeCommit = TaskBranches.Merge(task);
                    TaskStore.Save(task);
                    WriteVerbose($"Merged {task.Branch} into {into.Line}: {task.MergeCommit}.");
                    WriteObject(task);
                }
                catch (OrchestratorException e)
                {
                    WriteError(e);
                }
            }
        }
    }
}
