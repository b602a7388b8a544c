using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Doctor;
using ClaudeOrchestrator.Engine.Endpoints;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Checks what a task needs from an engine and reports each finding as an object. When a
    /// check fails it also writes one error, so a script or scheduled job ($?, pwsh's exit code)
    /// can stop on it.
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "ClaudeEngine")]
    [OutputType(typeof(ClaudeEngineCheck))]
    public sealed class TestClaudeEngineCommand : ClaudeCmdletBase
    {
        /// <summary>Docker context names or endpoint URIs, or * for every known engine; default: the engine tasks would use.</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(EngineNameCompleter))]
        public string[] Engine { get; set; }

        /// <summary>The image to check; default: the one tasks use.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ImageNameCompleter))]
        public string Image { get; set; }

        /// <summary>A project directory that must be mountable; default: the current directory.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; }

        /// <summary>The agent command the image must have; default: claude.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string AgentCommand { get; set; }

        protected override void EndProcessing()
        {
            var image = ModuleDefaults.Image(Image);
            var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path ?? SessionState.Path.CurrentFileSystemLocation.ProviderPath);
            var agent = AgentCommand ?? ModuleDefaults.DefaultAgentCommand.First();
            var failed = new List<string>();
            foreach (var engine in Names())
            {
                var doctor = new EngineDoctor(engine, image, path, agent);
                foreach (var check in Run(doctor.RunAsync))
                {
                    WriteObject(check);
                    if (check.Status == ClaudeEngineCheckStatus.Fail)
                    {
                        failed.Add($"{check.Check} on {check.Engine}");
                    }
                }
            }

            if (failed.Count > 0)
            {
                WriteError(new ErrorRecord(
                    new InvalidOperationException($"{failed.Count} engine check(s) failed: {string.Join(", ", failed)}. Each finding's Fix says what to do."),
                    ErrorIds.EngineCheckFailed, ErrorCategory.ResourceUnavailable, failed));
            }
        }

        /// <summary>Null stands for the default engine.</summary>
        private IEnumerable<string> Names()
        {
            if (Engine == null)
            {
                return new string[] { null };
            }

            var names = new List<string>();
            foreach (var name in Engine)
            {
                if (name == EngineEndpoints.AllEngines)
                {
                    names.Add(null);
                    names.AddRange(EngineEndpoints.Known().Select(k => k.Name));
                }
                else
                {
                    names.Add(name);
                }
            }

            // One report per engine, however many names it has.
            var seen = new HashSet<DockerConnection>();
            return names.Where(n =>
            {
                try
                {
                    return seen.Add(DockerConnection.For(n));
                }
                catch (OrchestratorException)
                {
                    return true;
                }
            }).ToList();
        }
    }
}
