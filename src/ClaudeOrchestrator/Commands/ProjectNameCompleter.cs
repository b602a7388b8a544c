using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Projects;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Completes project names: profiles first, then directories under the projects root. Local files only, never the engine.</summary>
    public sealed class ProjectNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var prefix = (wordToComplete ?? string.Empty).Trim('\'', '"');
            return Names()
                .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .OrderBy(n => n, StringComparer.OrdinalIgnoreCase)
                .Select(n => new CompletionResult(n.IndexOf(' ') >= 0 ? "'" + n + "'" : n, n, CompletionResultType.ParameterValue, n));
        }

        private static IEnumerable<string> Names()
        {
            foreach (var file in ProjectProfiles.AllFiles())
            {
                yield return Path.GetFileNameWithoutExtension(file);
            }

            var root = ModuleDefaults.ProjectsRoot();
            if (Directory.Exists(root))
            {
                foreach (var directory in Directory.EnumerateDirectories(root))
                {
                    yield return Path.GetFileName(directory);
                }
            }
        }
    }
}
