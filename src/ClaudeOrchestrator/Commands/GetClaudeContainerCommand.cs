using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Lists the module's containers: this process's active ones, or with -All every labelled one,
    /// on the default engine or those -Engine names (* for every known engine).
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "ClaudeContainer", DefaultParameterSetName = TrackedSet)]
    [OutputType(typeof(ClaudeContainer))]
    public sealed class GetClaudeContainerCommand : ContainerCmdletBase
    {
        private const string TrackedSet = "Tracked";
        private const string AllSet = "All";
        private const string OrphanedSet = "Orphaned";

        [Parameter(Position = 0)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ContainerNameCompleter))]
        public string[] Name { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ContainerIdCompleter))]
        public string[] Id { get; set; }

        [Parameter(ParameterSetName = AllSet, Mandatory = true)]
        public SwitchParameter All { get; set; }

        [Parameter(ParameterSetName = OrphanedSet, Mandatory = true)]
        public SwitchParameter Orphaned { get; set; }

        private ContainerScope Scope => All ? ContainerScope.All : Orphaned ? ContainerScope.Orphaned : ContainerScope.Tracked;

        protected override void EndProcessing()
        {
            var filter = Filter;
            var containers = new List<ClaudeContainer>();
            var engines = Reach(Engines(tracked: Scope == ContainerScope.Tracked));
            foreach (var connection in engines)
            {
                containers.AddRange(List(connection, engines, Scope, filter));
            }

            var selection = new ContainerSelection(Name, Id);
            foreach (var container in containers.Where(selection.Matches))
            {
                WriteObject(container);
            }

            foreach (var missing in selection.UnmatchedLiterals(containers))
            {
                WriteError(new ErrorRecord(
                    new ItemNotFoundException($"No {Scope.ToString().ToLowerInvariant()} ClaudeOrchestrator container matches '{missing}'."),
                    ErrorIds.ContainerNotFound, ErrorCategory.ObjectNotFound, missing));
            }
        }
    }
}
