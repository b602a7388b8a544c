using System;
using System.Collections;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Tasks;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Jobs;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Runs a coding-agent task for a project in a fresh container that is always removed. Piped
    /// input fans out: up to -ThrottleLimit tasks run at once, each result is written when its task
    /// ends, and Ctrl+C stops them all and returns only when every container is gone.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "ClaudeTask", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(ClaudeTaskResult))]
    [OutputType(typeof(ClaudeTaskJob))]
    [OutputType(typeof(ClaudeTaskFanOutJob))]
    public sealed partial class StartClaudeTaskCommand : ClaudeCmdletBase
    {
        private const string PathSet = "Path";
        private const string ProjectSet = "Project";
        private const string ResumeSet = "Resume";
        [Parameter(ParameterSetName = PathSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName", "ProjectPath")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; }

        /// <summary>A profile piped from Get-ClaudeProject: the task runs with it, as with -Project.</summary>
        [Parameter(ParameterSetName = PathSet, ValueFromPipeline = true, DontShow = true)]
        public ClaudeProject InputProfile { get; set; }

        /// <summary>
        /// The piped object as it came. PowerShell binds piped objects in the default parameter set
        /// first, so an object with Project and Description properties (a CSV row, a hashtable cast
        /// to an object) arrives here with -Path holding its text; its Project names the profile.
        /// </summary>
        [Parameter(ParameterSetName = PathSet, ValueFromPipeline = true, DontShow = true)]
        public PSObject InputObject { get; set; }

        [Parameter(ParameterSetName = ProjectSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ProjectNameCompleter))]
        public string Project { get; set; }

        /// <summary>Continue an earlier task's Claude Code session (its branch, its agent state).</summary>
        [Parameter(ParameterSetName = ResumeSet, Mandatory = true)]
        public SwitchParameter Resume { get; set; }

        [Parameter(ParameterSetName = ResumeSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(TaskIdCompleter))]
        public string TaskId { get; set; }

        [Parameter(ParameterSetName = PathSet, Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = ProjectSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = ResumeSet, Mandatory = true, Position = 1)]
        [AllowEmptyString]
        public string Description { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Model { get; set; }

        [Parameter]
        [ValidateRange(1, 100000)]
        public int MaxTurns { get; set; }

        [Parameter]
        [ValidateRange(0.0001, 1000000.0)]
        public double MaxBudgetUsd { get; set; }

        /// <summary>What the tasks of this Start-ClaudeTask may spend together: once ended tasks' costs plus running ones' costs so far reach it, no further task starts. Default: the profile's agent.max_total_budget_usd.</summary>
        [Parameter]
        [ValidateRange(0.0001, 1000000.0)]
        public double MaxTotalBudgetUsd { get; set; }

        /// <summary>With a total budget: once it is reached, the running tasks are stopped too (their work saved, as on Ctrl+C).</summary>
        [Parameter]
        public SwitchParameter StopAtBudget { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] AllowedTools { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] DisallowedTools { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string AppendSystemPrompt { get; set; }

        /// <summary>Tasks of one pipeline that run at once.</summary>
        [Parameter]
        [ValidateRange(1, 1024)]
        public int ThrottleLimit { get; set; } = ModuleDefaults.ThrottleLimit;

        /// <summary>Runs of the agent when the API is rate limited or overloaded (1: no retry).</summary>
        [Parameter]
        [ValidateRange(1, 10)]
        public int MaxAttempts { get; set; } = ModuleDefaults.MaxAttempts;

        /// <summary>The wait before the first retry; it doubles for each later one (at most 5 minutes).</summary>
        [Parameter]
        [TimeSpanArgument]
        public TimeSpan RetryDelay { get; set; } = ModuleDefaults.RetryDelay;

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ImageNameCompleter))]
        public string Image { get; set; }

        /// <summary>The engine to run on: a docker context name or an endpoint URI (unix://, npipe://, tcp://, ssh://). Default: as the docker CLI resolves it, else a rootless Docker or Podman socket.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(EngineNameCompleter))]
        public string Engine { get; set; }

        /// <summary>How the workspace reaches the container: Auto (bind mount on a local engine, copy to a remote one), Mount, or Copy.</summary>
        [Parameter]
        public WorkspaceTransfer Workspace { get; set; }

        /// <summary>How a task on its own branch gets its working tree: Auto (Overlay where the engine can mount one over this machine's files, else Full), Overlay (a shared base tree under the task's own layer), or Full (every file written). Default: the profile's checkout, else Auto.</summary>
        [Parameter]
        public CheckoutMethod Checkout { get; set; }

        /// <summary>Runs the task as a one-off service on the swarm that -Engine (or the default engine) manages, on whichever node the scheduler picks; the workspace is copied there and back. Default: the profile's docker.swarm.</summary>
        [Parameter]
        public SwitchParameter Swarm { get; set; }

        /// <summary>Relabels the bind mounts for SELinux (shared label, ",z"): needed on enforcing SELinux hosts; changes the project files' labels.</summary>
        [Parameter]
        public SwitchParameter SELinuxRelabel { get; set; }

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
        public string[] AllowHost { get; set; }

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
            _throttle = new TaskThrottle(ThrottleLimit);
            _budget = new FanOutBudget(StopAtBudget.IsPresent);
            // A description given on the command line is checked once, before anything exists;
            // piped ones are checked per task.
            if (IsBound(nameof(Description)))
            {
                CheckDescription(terminating: true);
            }

            if (IsBound(nameof(Timeout)) && Timeout <= TimeSpan.Zero)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "The timeout must be positive."),
                    "TimeoutInvalid", ErrorCategory.InvalidArgument, Timeout));
            }

            if (IsBound(nameof(RetryDelay)) && RetryDelay < TimeSpan.Zero)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentOutOfRangeException(nameof(RetryDelay), RetryDelay, "The retry delay cannot be negative."),
                    "RetryDelayInvalid", ErrorCategory.InvalidArgument, RetryDelay));
            }
        }

        /// <returns>False when the description is refused (and the error written).</returns>
        private bool CheckDescription(bool terminating)
        {
            ErrorRecord refusal = null;
            if (string.IsNullOrWhiteSpace(Description))
            {
                refusal = new ErrorRecord(
                    new ArgumentException("The task description is empty. Say what the agent should do, e.g. -Description 'Add a health-check endpoint'."),
                    ErrorIds.DescriptionEmpty, ErrorCategory.InvalidArgument, Description);
            }
            else
            {
                try
                {
                    DescriptionDelivery.Check(Description);
                }
                catch (OrchestratorException e)
                {
                    refusal = e.ToErrorRecord();
                }
            }

            if (refusal == null)
            {
                return true;
            }

            if (terminating)
            {
                ThrowTerminatingError(refusal);
            }

            WriteError(refusal);
            return false;
        }

        protected override void ProcessRecord()
        {
            if (MyInvocation.ExpectingInput && !CheckDescription(terminating: false))
            {
                return;
            }

            TaskPlan spec;
            try
            {
                spec = BuildSpec();
            }
            catch (OrchestratorException e)
            {
                WriteError(e);
                return;
            }

            if (StopAtBudget && spec.MaxTotalBudgetUsd == null)
            {
                WriteError(new OrchestratorException(ErrorIds.BudgetMissing, ErrorCategory.InvalidArgument,
                    $"-StopAtBudget stops running tasks once the fan-out's total budget is reached, and task {spec.TaskId} for '{spec.ProjectPath}' has none: pass -MaxTotalBudgetUsd, or set agent.max_total_budget_usd in the project's profile. Nothing was started for it.", spec.ProjectPath));
                return;
            }

            // The whole invocation shares one budget: the smallest limit any of its tasks names.
            if (spec.MaxTotalBudgetUsd.HasValue)
            {
                _budget.Apply(spec.MaxTotalBudgetUsd.Value);
            }

            spec.Budget = _budget;

            // -WhatIf says what the task would make (its branch, what runs the agent, where the
            // workspace goes); -Confirm asks per task. Nothing exists yet either way.
            var what = TaskRunner.Describe(spec);
            if (!ShouldProcess(what, $"Start {what}?", "Start-ClaudeTask"))
            {
                return;
            }

            if (AsJob)
            {
                if (!MyInvocation.ExpectingInput)
                {
                    var job = new ClaudeTaskJob(MyInvocation.Line, "ClaudeTask:" + spec.ProjectName, spec);
                    JobRepository.Add(job);
                    job.Start();
                    WriteObject(job);
                    return;
                }

                // Piped tasks: one job, a child job per task, the same throttle.
                if (_fanOut == null)
                {
                    _fanOut = new ClaudeTaskFanOutJob(MyInvocation.Line, "ClaudeTasks", _throttle, spec.RunspaceId);
                    JobRepository.Add(_fanOut);
                }

                spec.Throttle = _throttle;
                _fanOut.Add(new ClaudeTaskJob(MyInvocation.Line, "ClaudeTask:" + spec.ProjectName, spec));
                return;
            }

            Pump(() => _throttle.HasRoom);
            spec.Throttle = _throttle;
            StartTask(spec);
        }

        protected override void EndProcessing()
        {
            if (_fanOut != null)
            {
                _fanOut.Close();
                WriteObject(_fanOut);
                return;
            }

            Pump(() => _running.IsEmpty);
        }

        /// <summary>Ctrl+C: every task is cancelled, and the stop returns only when their containers are gone.</summary>
        protected override void StopProcessing()
        {
            base.StopProcessing();
            var runs = _running.Values.Select(r => (Task)r.Run).ToArray();
            try
            {
                Task.WaitAll(runs);
            }
            catch (AggregateException)
            {
                // Their outcomes are the pipeline thread's to report.
            }
        }

        /// <summary>The plan, from the parameters, the project's profile and the defaults; or the refusal.</summary>
        private TaskPlan BuildSpec()
        {
            var piped = PipedProjectName();
            return new TaskPlanner(MachinePlanSources.Instance, WriteVerbose, WriteWarning).Plan(new TaskRequest
            {
                Path = ParameterSetName == PathSet && piped == null ? Path : null,
                ProfileName = ParameterSetName == ProjectSet ? Project : InputProfile?.Name ?? piped,
                ByProjectName = ParameterSetName == ProjectSet || piped != null,
                ResumeTaskId = ParameterSetName == ResumeSet ? TaskId : null,
                Description = Description,
                Model = Model,
                MaxTurns = IsBound(nameof(MaxTurns)) ? MaxTurns : (int?)null,
                MaxBudgetUsd = IsBound(nameof(MaxBudgetUsd)) ? MaxBudgetUsd : (double?)null,
                MaxTotalBudgetUsd = IsBound(nameof(MaxTotalBudgetUsd)) ? MaxTotalBudgetUsd : (double?)null,
                AllowedTools = AllowedTools,
                DisallowedTools = DisallowedTools,
                AppendSystemPrompt = AppendSystemPrompt,
                Image = Image,
                Engine = Engine,
                Workspace = IsBound(nameof(Workspace)) ? Workspace : (WorkspaceTransfer?)null,
                Checkout = IsBound(nameof(Checkout)) ? Checkout : (CheckoutMethod?)null,
                Swarm = IsBound(nameof(Swarm)) ? Swarm.IsPresent : (bool?)null,
                SELinuxRelabel = SELinuxRelabel.IsPresent,
                Timeout = IsBound(nameof(Timeout)) ? Timeout : (TimeSpan?)null,
                Environment = Environment,
                AgentCommand = AgentCommand,
                Memory = Memory,
                Cpus = IsBound(nameof(Cpus)) ? Cpus : (double?)null,
                PidsLimit = IsBound(nameof(PidsLimit)) ? PidsLimit : (long?)null,
                Network = Network,
                AllowHost = AllowHost,
                User = User,
                Isolation = IsBound(nameof(Isolation)) ? Isolation : (ClaudeTaskIsolation?)null,
                BranchPrefix = BranchPrefix,
                Branch = Branch,
                MaxAttempts = MaxAttempts,
                RetryDelay = RetryDelay,
                RunspaceId = Runspace.DefaultRunspace?.InstanceId ?? Guid.Empty,
                CurrentDirectory = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
            }, ResolveFileSystemPath);
        }

        /// <summary>The profile a piped object names by its Project property, when it names no path (a result or record names both: its path wins).</summary>
        private string PipedProjectName()
        {
            if (ParameterSetName != PathSet || InputProfile != null || InputObject == null ||
                InputObject.BaseObject is string || InputObject.BaseObject is System.IO.FileSystemInfo ||
                new[] { "Path", "FullName", "ProjectPath" }.Any(name => InputObject.Properties[name] != null))
            {
                return null;
            }

            var project = InputObject.Properties["Project"]?.Value?.ToString();
            return string.IsNullOrEmpty(project) ? null : project;
        }

        private bool IsBound(string parameter) => MyInvocation.BoundParameters.ContainsKey(parameter);

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
