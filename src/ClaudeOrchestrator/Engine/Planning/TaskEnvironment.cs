using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Planning
{
    /// <summary>Builds the agent's environment. Values are never echoed anywhere, names may be.</summary>
    internal static class TaskEnvironment
    {
        /// <param name="alsoPassThrough">More names to copy from the caller's environment (a project profile's).</param>
        public static Dictionary<string, string> Build(IDictionary explicitValues, Func<string, string> readHostVariable, IEnumerable<string> alsoPassThrough = null)
        {
            var environment = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in ModuleDefaults.PassThroughVariables.Concat(alsoPassThrough ?? Enumerable.Empty<string>()))
            {
                var value = readHostVariable(name);
                if (!string.IsNullOrEmpty(value))
                {
                    environment[name] = value;
                }
            }

            if (explicitValues == null)
            {
                return environment;
            }

            foreach (DictionaryEntry entry in explicitValues)
            {
                var name = Convert.ToString(entry.Key, System.Globalization.CultureInfo.InvariantCulture);
                if (string.IsNullOrWhiteSpace(name) || name.IndexOf('=') >= 0 || name.IndexOf('\0') >= 0)
                {
                    throw new OrchestratorException(ErrorIds.EnvironmentNameInvalid, ErrorCategory.InvalidArgument,
                        $"'{name}' is not a valid environment variable name: it must be non-empty and contain no '=' or NUL.", name);
                }

                var value = entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value;
                environment[name] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
            }

            return environment;
        }
    }
}
