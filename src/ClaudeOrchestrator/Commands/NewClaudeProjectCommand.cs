using System;
using System.IO;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Projects;
using ClaudeOrchestrator.Engine.Sandboxing;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Writes a per-project profile that Start-ClaudeTask -Project and the seed tool both read.</summary>
    [Cmdlet(VerbsCommon.New, "ClaudeProject", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(ClaudeProject))]
    public sealed class NewClaudeProjectCommand : PSCmdlet
    {
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; }

        /// <summary>The project directory; relative paths resolve against the current location.</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [Alias("LocalPath")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ImageNameCompleter))]
        public string Image { get; set; }

        [Parameter]
        [ValidateMemorySize]
        public string Memory { get; set; }

        [Parameter]
        [ValidateRange(0.01, 1024.0)]
        public double Cpus { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Network { get; set; }

        /// <summary>Names of variables to pass from the caller's environment to the agent.</summary>
        [Parameter]
        [ValidatePattern("^[A-Za-z_][A-Za-z0-9_]*$")]
        public string[] Environment { get; set; }

        [Parameter]
        [TimeSpanArgument]
        public TimeSpan Timeout { get; set; }

        /// <summary>Overwrites an existing profile of that name.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void EndProcessing()
        {
            try
            {
                ProjectLocator.CheckName(Name);
                var directory = ProjectLocator.RequireDirectory(SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path));
                var project = new ClaudeProject
                {
                    Name = Name,
                    Path = directory,
                    Image = Image,
                    Memory = Memory,
                    Cpus = MyInvocation.BoundParameters.ContainsKey(nameof(Cpus)) ? Cpus : (double?)null,
                    Network = Network == null ? null : Sandbox.CheckNetwork(Network),
                    Environment = Environment ?? new string[0],
                    Timeout = MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) ? Timeout : (TimeSpan?)null,
                    ProfileFile = ProjectProfiles.FindFile(Name) ?? ProjectProfiles.PathFor(Name),
                };

                if (File.Exists(project.ProfileFile) && !Force)
                {
                    throw new OrchestratorException(ErrorIds.ProjectProfileExists, ErrorCategory.ResourceExists,
                        $"The profile {project.ProfileFile} already exists; add -Force to overwrite it.", project.ProfileFile);
                }

                if (!ShouldProcess(project.ProfileFile, $"Write project profile '{Name}' for {directory}"))
                {
                    return;
                }

                Directory.CreateDirectory(ProjectProfiles.Directory);
                File.WriteAllText(project.ProfileFile, ProjectProfiles.Serialize(project));
                WriteObject(ProjectProfiles.Load(project.ProfileFile, SessionState.Path.CurrentFileSystemLocation.ProviderPath, WriteVerbose));
            }
            catch (OrchestratorException e)
            {
                ThrowTerminatingError(e.ToErrorRecord());
            }
        }
    }
}
