using System.IO;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Projects
{
    /// <summary>Checks a project directory before anything is created on the engine.</summary>
    internal static class ProjectLocator
    {
        /// <summary>The directory of a named project under the projects root.</summary>
        public static string PathForName(string name) => Path.Combine(ModuleDefaults.ProjectsRoot(), CheckName(name));

        /// <summary>
        /// A project name becomes part of a file path (profile, projects root): refuse anything
        /// that could leave the directory it is looked up in.
        /// </summary>
        public static string CheckName(string name)
        {
            if (string.IsNullOrWhiteSpace(name) || name == "." || name == ".." || name.Contains("..") ||
                name.IndexOfAny(new[] { '/', '\\', ':' }) >= 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            {
                throw new OrchestratorException(ErrorIds.ProjectNameInvalid, ErrorCategory.InvalidArgument,
                    $"'{name}' is not a project name: names may not contain path separators or '..'.", name);
            }

            return name;
        }

        /// <summary>Throws unless <paramref name="fullPath"/> is an existing directory.</summary>
        public static string RequireDirectory(string fullPath)
        {
            if (Directory.Exists(fullPath))
            {
                var full = Path.GetFullPath(fullPath);
                var trimmed = full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
                // Keep "/" and "C:\" whole; trim the separator off everything else.
                return trimmed.Length == 0 || trimmed.EndsWith(":", System.StringComparison.Ordinal) ? full : trimmed;
            }

            if (File.Exists(fullPath))
            {
                throw new OrchestratorException(ErrorIds.ProjectPathNotDirectory, ErrorCategory.InvalidArgument,
                    $"The project path '{fullPath}' is a file; a task needs the project's directory.", fullPath);
            }

            throw new OrchestratorException(ErrorIds.ProjectPathNotFound, ErrorCategory.ObjectNotFound,
                $"The project directory '{fullPath}' does not exist.", fullPath,
                new ItemNotFoundException($"Cannot find path '{fullPath}' because it does not exist."));
        }
    }
}
