using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Shared by the *-ClaudeTask cmdlets: tasks by id (wildcards, or piped results and tasks).</summary>
    public abstract class TaskCmdletBase : ClaudeCmdletBase
    {
        /// <summary>Task ids; wildcards allowed. Binds TaskId from piped ClaudeTaskResult and ClaudeTask objects.</summary>
        public abstract string[] Id { get; set; }

        /// <summary>The tasks the ids name; a literal id that matches nothing is a ClaudeTaskNotFound error.</summary>
        internal IEnumerable<ClaudeTask> SelectById(string[] ids)
        {
            // Only a wildcard needs every record read; piped ids are looked up one by one.
            IReadOnlyList<ClaudeTask> all = null;
            foreach (var id in ids ?? Array.Empty<string>())
            {
                List<ClaudeTask> matches;
                if (WildcardPattern.ContainsWildcardCharacters(id))
                {
                    var pattern = new WildcardPattern(id, WildcardOptions.IgnoreCase);
                    matches = (all ?? (all = TaskStore.All().ToList())).Where(t => pattern.IsMatch(t.TaskId)).ToList();
                }
                else
                {
                    var task = TaskStore.Load(id.ToLowerInvariant());
                    matches = task == null ? new List<ClaudeTask>() : new List<ClaudeTask> { task };
                }

                if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(id))
                {
                    WriteError(new ErrorRecord(
                        new ItemNotFoundException($"No task '{id}' on this machine (Get-ClaudeTask lists them; Remove-ClaudeTask may have pruned it)."),
                        ErrorIds.TaskNotFound, ErrorCategory.ObjectNotFound, id));
                }

                foreach (var match in matches)
                {
                    yield return match;
                }
            }
        }

        internal static bool IsRunning(ClaudeTask task) => task.Status == ClaudeTaskStatus.Running;

        internal ErrorRecord RunningError(ClaudeTask task, string doing) => new ErrorRecord(
            new InvalidOperationException($"Task {task.TaskId} is still running (process {task.OwnerPid} on {task.OwnerHost}); {doing} once it has ended."),
            ErrorIds.TaskRunning, ErrorCategory.ResourceBusy, task);
    }
}
