using System;
using System.Collections;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Engine;
using ClaudeOrchestrator.Jobs;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Runs a coding-agent task for a project in a fresh container that is always removed.</summary>
    [Cmdlet(VerbsLifecycle.Start, "ClaudeTask", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(ClaudeTaskResult))]
    [OutputType(typeof(ClaudeTaskJob))]
    public sealed class StartClaudeTaskCommand : ClaudeCmdletBase
    {
        private const string PathSet = "Path";
        private const string ProjectSet = "Project";

        [Parameter(ParameterSetName = PathSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName", "ProjectPath")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; }

        [Parameter(ParameterSetName = ProjectSet, Mandatory = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProjectNameCompleter))]
        public string Project { get; set; }

        [Parameter(ParameterSetName = PathSet, Mandatory = true, Position = 1)]
        [Parameter(ParameterSetName = ProjectSet, Mandatory = true, Position = 0)]
        [AllowEmptyString]
        public string Description { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ImageNameCompleter))]
        public string Image { get; set; }

        [Parameter]
        [TimeSpanArgument]
        public TimeSpan Timeout { get; set; }

        [Parameter]
        public Hashtable Environment { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] AgentCommand { get; set; }

        [Parameter]
        [ValidateMemorySize]
        public string Memory { get; set; }

        [Parameter]
        [ValidateRange(0.01, 1024.0)]
        public double Cpus { get; set; }

        [Parameter]
        [ValidateRange(16L, 4194304L)]
        public long PidsLimit { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Network { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string User { get; set; }

        [Parameter]
        public ClaudeTaskIsolation Isolation { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string BranchPrefix { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Branch { get; set; }

        [Parameter]
        public SwitchParameter AsJob { get; set; }

        protected override void BeginProcessing()
        {
            if (string.IsNullOrWhiteSpace(Description))
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentException("The task description is empty. Say what the agent should do, e.g. -Description 'Add a health-check endpoint'."),
                    ErrorIds.DescriptionEmpty, ErrorCategory.InvalidArgument, Description));
            }

            try
            {
                DescriptionDelivery.Check(Description);
            }
            catch (OrchestratorException e)
            {
                ThrowTerminatingError(e.ToErrorRecord());
            }

            if (IsBound(nameof(Timeout)) && Timeout <= TimeSpan.Zero)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "The timeout must be positive."),
                    "TimeoutInvalid", ErrorCategory.InvalidArgument, Timeout));
            }
        }

        protected override void ProcessRecord()
        {
            TaskSpec spec;
            try
            {
                spec = BuildSpec();
            }
            catch (OrchestratorException e)
            {
                WriteError(e);
                return;
            }

            if (AsJob)
            {
                var job = new ClaudeTaskJob(MyInvocation.Line, "ClaudeTask:" + spec.ProjectName, spec);
                JobRepository.Add(job);
                job.Start();
                WriteObject(job);
                return;
            }

            CmdletTaskObserver observer = null;
            var result = RunPumped(
                queue =>
                {
                    observer = new CmdletTaskObserver(this, queue, spec.ProjectName, spec.Timeout);
                    return TaskRunner.RunAsync(spec, observer, CancelToken);
                },
                () => observer?.Tick(),
                TimeSpan.FromSeconds(1));
            observer?.Complete();

            if (Stopping)
            {
                throw new PipelineStoppedException();
            }

            WriteObject(result);
            var error = TaskOutcomeErrors.For(result);
            if (error != null)
            {
                WriteError(error);
            }
        }

        private TaskSpec BuildSpec()
        {
            var profile = ParameterSetName == ProjectSet ? FindProfile(Project) : null;
            var requested = profile?.Path
                ?? (ParameterSetName == ProjectSet ? ProjectDirectoryWithoutProfile(Project) : ResolveFileSystemPath(Path));
            // Mount exactly what was checked: the directory with every symlink resolved.
            var path = MountGuard.Check(ProjectLocator.RequireDirectory(requested));
            var projectName = ParameterSetName == ProjectSet ? Project : System.IO.Path.GetFileName(path);

            // Explicit parameters win over the profile, the profile over the defaults.
            var sandbox = new Sandbox
            {
                Network = Sandbox.CheckNetwork(Network ?? profile?.Network),
            };
            var memory = Memory ?? profile?.Memory;
            if (memory != null)
            {
                sandbox.MemoryBytes = Sandbox.ParseMemory(memory);
            }

            if (IsBound(nameof(Cpus)))
            {
                sandbox.Cpus = Cpus;
            }
            else if (profile?.Cpus != null)
            {
                sandbox.Cpus = profile.Cpus.Value;
            }

            if (IsBound(nameof(PidsLimit)))
            {
                sandbox.PidsLimit = PidsLimit;
            }

            if (User != null)
            {
                sandbox.User = User;
            }

            var spec = new TaskSpec
            {
                ProjectName = string.IsNullOrEmpty(projectName) ? path : projectName,
                ProjectPath = path,
                Description = Description,
                Image = TaskDefaults.Image(Image ?? profile?.Image),
                Timeout = IsBound(nameof(Timeout)) ? Timeout : profile?.Timeout,
                Environment = TaskEnvironment.Build(Environment, System.Environment.GetEnvironmentVariable, profile?.Environment),
                AgentCommand = (AgentCommand ?? TaskDefaults.DefaultAgentCommand.ToArray()).ToList(),
                Sandbox = sandbox,
                RunspaceId = Runspace.DefaultRunspace?.InstanceId ?? Guid.Empty,
            };
            PlanIsolation(spec, profile);
            return spec;
        }

        /// <summary>
        /// Decides where the agent works and refuses, before anything exists, every repository
        /// state a branch cannot start from.
        /// </summary>
        private void PlanIsolation(TaskSpec spec, ClaudeProject profile)
        {
            var explicitMode = IsBound(nameof(Isolation)) ? Isolation : profile?.Isolation;
            if (explicitMode == ClaudeTaskIsolation.None)
            {
                WriteVerbose($"Isolation None: the agent works in {spec.ProjectPath} itself.");
                return;
            }

            if (GitRepository.FindMarker(spec.ProjectPath) == null)
            {
                if (explicitMode == ClaudeTaskIsolation.Branch)
                {
                    throw new OrchestratorException(ErrorIds.IsolationUnavailable, ErrorCategory.InvalidOperation,
                        $"{spec.ProjectPath} is not in a git repository, so the task cannot run on a branch. Run 'git init' and commit, or use -Isolation None.", spec.ProjectPath);
                }

                WriteVerbose($"{spec.ProjectPath} is not in a git repository: the agent works in the directory itself (no branch, no checkout).");
                return;
            }

            var repo = GitRepository.Inspect(spec.ProjectPath);
            if (repo.DirtyFiles > 0)
            {
                WriteWarning($"{repo.DirtyFiles} file(s) in {repo.TopLevel} have uncommitted changes; the task starts from the last commit ({repo.HeadCommit.Substring(0, 12)}) without them.");
            }

            if (repo.HeadBranch == null)
            {
                WriteWarning($"HEAD is detached at {repo.HeadCommit.Substring(0, 12)}: the task starts from that commit. Merge-ClaudeTask needs a branch checked out.");
            }

            if (repo.Submodules.Count > 0)
            {
                WriteWarning($"{repo.Submodules.Count} submodule(s) ({string.Join(", ", repo.Submodules.Take(3))}{(repo.Submodules.Count > 3 ? ", ..." : string.Empty)}) are not checked out in the task's checkout: their directories are empty for the agent. Use -Isolation None to work on them in place.");
            }

            if (Branch != null)
            {
                repo.CheckNewBranch(Branch);
                spec.Branch = Branch;
            }
            else
            {
                var prefix = BranchPrefix ?? profile?.BranchPrefix ?? TaskDefaults.BranchPrefix;
                for (var attempt = 0; spec.Branch == null; attempt++)
                {
                    try
                    {
                        repo.CheckNewBranch(prefix + spec.TaskId);
                        spec.Branch = prefix + spec.TaskId;
                    }
                    catch (OrchestratorException e) when (e.ErrorId == ErrorIds.BranchExists && attempt < 3 && repo.HasBranch(prefix + spec.TaskId))
                    {
                        // Only the id collided: draw another. A prefix that clashes fails as it is.
                        spec.TaskId = TaskStore.NewId();
                    }
                }
            }

            spec.Repository = repo;
        }

        private bool IsBound(string parameter) => MyInvocation.BoundParameters.ContainsKey(parameter);

        /// <summary>The project's profile, or null when it has none; an unusable profile stops here, before any container exists.</summary>
        private ClaudeProject FindProfile(string name)
        {
            var file = ProjectProfiles.FindFile(name);
            if (file == null)
            {
                return null;
            }

            WriteVerbose($"Project '{name}': profile {file}.");
            var profile = ProjectProfiles.Load(file, SessionState.Path.CurrentFileSystemLocation.ProviderPath, WriteVerbose);
            if (!profile.IsValid)
            {
                throw new OrchestratorException(ErrorIds.ProjectProfileInvalid, ErrorCategory.InvalidData,
                    "The project profile is not usable: " + profile.Problem, file);
            }

            return profile;
        }

        /// <summary>Without a profile, -Project names a directory under the projects root, as before profiles existed.</summary>
        private static string ProjectDirectoryWithoutProfile(string name)
        {
            var directory = ProjectLocator.PathForName(name);
            if (!System.IO.Directory.Exists(directory) && !System.IO.File.Exists(directory))
            {
                throw new OrchestratorException(ErrorIds.ProjectProfileNotFound, ErrorCategory.ObjectNotFound,
                    $"No project '{name}': there is no profile {ProjectProfiles.PathFor(name)} and no directory {directory}. " +
                    "Create one with New-ClaudeProject, or use -Path.", name);
            }

            return directory;
        }

        private string ResolveFileSystemPath(string path)
        {
            string resolved;
            ProviderInfo provider;
            try
            {
                resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _);
            }
            catch (RuntimeException e)
            {
                throw new OrchestratorException(ErrorIds.ProjectPathNotFound, ErrorCategory.ObjectNotFound,
                    $"The project path '{path}' cannot be resolved: {e.Message}", path, e);
            }

            if (provider == null || !string.Equals(provider.Name, "FileSystem", StringComparison.OrdinalIgnoreCase))
            {
                throw new OrchestratorException(ErrorIds.ProjectPathNotFound, ErrorCategory.InvalidArgument,
                    $"'{path}' is not a file system path.", path);
            }

            return resolved;
        }
    }
}
