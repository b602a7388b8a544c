using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Completes task ids from this machine's task records, newest first; local files only.</summary>
    public sealed class TaskIdCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var prefix = (wordToComplete ?? string.Empty).Trim('\'', '"');
            return TaskStore.All()
                .Where(t => t.TaskId.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .Select(t => new CompletionResult(t.TaskId, t.TaskId, CompletionResultType.ParameterValue,
                    $"{t.Project} {t.Status} {t.StartTime:g} {t.Summary}"));
        }
    }
}
