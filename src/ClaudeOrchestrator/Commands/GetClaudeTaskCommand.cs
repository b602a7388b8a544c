using System;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Lists this machine's tasks, running and finished, newest first.</summary>
    [Cmdlet(VerbsCommon.Get, "ClaudeTask")]
    [OutputType(typeof(ClaudeTask))]
    public sealed class GetClaudeTaskCommand : TaskCmdletBase
    {
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("TaskId")]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(TaskIdCompleter))]
        public override string[] Id { get; set; }

        [Parameter]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(ProjectNameCompleter))]
        public string[] Project { get; set; }

        [Parameter]
        public ClaudeTaskStatus[] Status { get; set; }

        /// <summary>Only tasks started at or after this time.</summary>
        [Parameter]
        public DateTime Since { get; set; }

        protected override void ProcessRecord()
        {
            var tasks = Id != null ? SelectById(Id) : TaskStore.All();
            var projects = Project?.Select(p => new WildcardPattern(p, WildcardOptions.IgnoreCase)).ToList();
            var since = MyInvocation.BoundParameters.ContainsKey(nameof(Since)) ? Since : (DateTime?)null;
            foreach (var task in tasks)
            {
                if ((projects == null || projects.Any(p => p.IsMatch(task.Project ?? string.Empty))) &&
                    (Status == null || Status.Contains(task.Status)) &&
                    (since == null || task.StartTime >= since.Value))
                {
                    WriteObject(task);
                }
            }
        }
    }
}
