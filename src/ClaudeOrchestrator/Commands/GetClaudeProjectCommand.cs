using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Projects;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Lists the per-project profiles in the profiles directory, valid or not.</summary>
    [Cmdlet(VerbsCommon.Get, "ClaudeProject")]
    [OutputType(typeof(ClaudeProject))]
    public sealed class GetClaudeProjectCommand : PSCmdlet
    {
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProjectNameCompleter))]
        public string[] Name { get; set; }

        protected override void ProcessRecord()
        {
            WriteVerbose($"Reading project profiles from {ProjectProfiles.Directory}.");
            var patterns = (Name ?? new[] { "*" }).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
            var cwd = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
            var projects = ProjectProfiles.AllFiles()
                .Where(f => patterns.Any(p => p.IsMatch(System.IO.Path.GetFileNameWithoutExtension(f))))
                .Select(f => ProjectProfiles.Load(f, cwd, WriteVerbose))
                .ToList();
            foreach (var project in projects)
            {
                WriteObject(project);
            }

            foreach (var literal in (Name ?? new string[0]).Where(n => !WildcardPattern.ContainsWildcardCharacters(n)))
            {
                if (!projects.Any(p => string.Equals(p.Name, literal, System.StringComparison.OrdinalIgnoreCase)))
                {
                    WriteError(new ErrorRecord(
                        new ItemNotFoundException($"No project profile '{literal}' in {ProjectProfiles.Directory}."),
                        ErrorIds.ProjectProfileNotFound, ErrorCategory.ObjectNotFound, literal));
                }
            }
        }
    }
}
