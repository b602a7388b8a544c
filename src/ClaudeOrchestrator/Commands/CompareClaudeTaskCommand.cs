using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Git;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Shows what a task's branch changed against the commit it started from: files, or the patch.</summary>
    [Cmdlet(VerbsData.Compare, "ClaudeTask")]
    [OutputType(typeof(ClaudeTaskFileChange))]
    [OutputType(typeof(string))]
    public sealed class CompareClaudeTaskCommand : TaskCmdletBase
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("TaskId")]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(TaskIdCompleter))]
        public override string[] Id { get; set; }

        /// <summary>The unified diff as one string instead of one object per file.</summary>
        [Parameter]
        public SwitchParameter Patch { get; set; }

        protected override void ProcessRecord()
        {
            foreach (var task in SelectById(Id))
            {
                try
                {
                    if (Patch)
                    {
                        WriteObject(TaskBranches.Patch(task));
                    }
                    else
                    {
                        WriteObject(TaskBranches.Changes(task), enumerateCollection: true);
                    }
                }
                catch (OrchestratorException e)
                {
                    WriteError(e);
                }
            }
        }
    }
}
