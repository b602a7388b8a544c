using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Engine;
using ClaudeOrchestrator.Jobs;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Runs a coding-agent task for a project in a fresh container that is always removed. Piped
    /// input fans out: up to -ThrottleLimit tasks run at once, each result is written when its task
    /// ends, and Ctrl+C stops them all and returns only when every container is gone.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "ClaudeTask", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(ClaudeTaskResult))]
    [OutputType(typeof(ClaudeTaskJob))]
    [OutputType(typeof(ClaudeTaskFanOutJob))]
    public sealed class StartClaudeTaskCommand : ClaudeCmdletBase
    {
        private const string PathSet = "Path";
        private const string ProjectSet = "Project";
        private const string ResumeSet = "Resume";

        private readonly PipelineQueue _queue = new PipelineQueue();
        private readonly ConcurrentDictionary<TaskSpec, RunningTask> _running = new ConcurrentDictionary<TaskSpec, RunningTask>();
        private TaskThrottle _throttle;
        private ClaudeTaskFanOutJob _fanOut;
        private Exception _writeFailure;

        [Parameter(ParameterSetName = PathSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName", "ProjectPath")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; }

        /// <summary>A profile piped from Get-ClaudeProject: the task runs with it, as with -Project.</summary>
        [Parameter(ParameterSetName = PathSet, ValueFromPipeline = true, DontShow = true)]
        public ClaudeProject InputProfile { get; set; }

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
        public int ThrottleLimit { get; set; } = TaskDefaults.ThrottleLimit;

        /// <summary>Runs of the agent when the API is rate limited or overloaded (1: no retry).</summary>
        [Parameter]
        [ValidateRange(1, 10)]
        public int MaxAttempts { get; set; } = TaskDefaults.MaxAttempts;

        /// <summary>The wait before the first retry; it doubles for each later one (at most 5 minutes).</summary>
        [Parameter]
        [TimeSpanArgument]
        public TimeSpan RetryDelay { get; set; } = TaskDefaults.RetryDelay;

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

        private void StartTask(TaskSpec spec)
        {
            _throttle.Enter();
            var observer = new CmdletTaskObserver(this, _queue, spec.ProjectName, spec.Timeout);
            var running = new RunningTask(spec, observer, Task.Run(() => TaskRunner.RunAsync(spec, observer, CancelToken)));
            _running[spec] = running;
            running.Run.ContinueWith(run =>
            {
                _throttle.Leave();
                _queue.Post(() => Report(running));
                // Last: the pump may end as soon as this is empty, so the report is queued first.
                _running.TryRemove(spec, out _);
            }, TaskScheduler.Default);
        }

        /// <summary>On the pipeline thread: the task's result and its error, as it ends.</summary>
        private void Report(RunningTask running)
        {
            running.Observer.Complete();
            var run = running.Run;
            if (run.IsCanceled || (run.IsFaulted && run.Exception.GetBaseException() is OperationCanceledException && CancelToken.IsCancellationRequested))
            {
                throw new PipelineStoppedException();
            }

            if (run.IsFaulted)
            {
                var error = run.Exception.GetBaseException();
                var record = error is OrchestratorException known
                    ? known.ToErrorRecord()
                    : new ErrorRecord(error, ErrorIds.TaskFailed, ErrorCategory.NotSpecified, running.Spec.ProjectPath);
                // A refusal (what was asked cannot be done) is one task's error, like every refusal
                // before anything exists; any other failure of a task on its own stops the command,
                // as it always has; in a fan-out the others go on.
                if (!MyInvocation.ExpectingInput && !(error is OrchestratorException refused && ErrorIds.IsRefusal(refused.ErrorId)))
                {
                    ThrowTerminatingError(record);
                }

                WriteError(record);
                return;
            }

            var result = run.Result;
            if (Stopping)
            {
                throw new PipelineStoppedException();
            }

            WriteObject(result);
            var outcome = TaskOutcomeErrors.For(result);
            if (outcome != null)
            {
                WriteError(outcome);
            }
        }

        /// <summary>
        /// Runs queued writes and progress ticks on the pipeline thread until <paramref name="done"/>.
        /// A write that throws (the pipeline stopping, -ErrorAction Stop) cancels every task, and
        /// the pump then drains until all of them, cleanup included, have ended before it rethrows.
        /// </summary>
        private void Pump(Func<bool> done)
        {
            while (_writeFailure != null ? !_running.IsEmpty : !done())
            {
                if (_queue.TryTake(out var action, TimeSpan.FromSeconds(1)))
                {
                    Write(action);
                }
                else if (_writeFailure == null)
                {
                    foreach (var running in _running.Values)
                    {
                        running.Observer.Tick();
                    }
                }
            }

            // Reports queued by tasks that just ended.
            while (_writeFailure == null && _queue.TryTake(out var late, TimeSpan.Zero))
            {
                Write(late);
            }

            if (_writeFailure != null)
            {
                while (!_running.IsEmpty)
                {
                    _queue.TryTake(out _, TimeSpan.FromMilliseconds(250));
                }

                ExceptionDispatchInfo.Capture(_writeFailure).Throw();
            }
        }

        /// <summary>One queued write; once one has thrown, the rest are dropped and every task is cancelled.</summary>
        private void Write(Action action)
        {
            if (_writeFailure != null)
            {
                return;
            }

            try
            {
                action();
            }
            catch (Exception e)
            {
                _writeFailure = e;
                base.StopProcessing();
            }
        }

        private sealed class RunningTask
        {
            public RunningTask(TaskSpec spec, CmdletTaskObserver observer, Task<ClaudeTaskResult> run)
            {
                Spec = spec;
                Observer = observer;
                Run = run;
            }

            public TaskSpec Spec { get; }
            public CmdletTaskObserver Observer { get; }
            public Task<ClaudeTaskResult> Run { get; }
        }

        private TaskSpec BuildSpec()
        {
            var resumes = ParameterSetName == ResumeSet ? ResumableTask(TaskId) : null;
            var profileName = ParameterSetName == ProjectSet ? Project : InputProfile?.Name;
            var profile = profileName != null ? FindProfile(profileName) : null;
            string path;
            string projectName;
            if (resumes != null)
            {
                path = MountGuard.Check(ProjectLocator.RequireDirectory(resumes.Path));
                projectName = resumes.Project;
            }
            else
            {
                var requested = profile?.Path
                    ?? (ParameterSetName == ProjectSet ? ProjectDirectoryWithoutProfile(Project) : ResolveFileSystemPath(Path));
                // Mount exactly what was checked: the directory with every symlink resolved.
                path = MountGuard.Check(ProjectLocator.RequireDirectory(requested));
                projectName = profileName ?? System.IO.Path.GetFileName(path);
            }

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
                sandbox.UserGiven = true;
            }

            sandbox.SELinuxRelabel = SELinuxRelabel.IsPresent || profile?.SELinuxRelabel == true;
            // A resumed task goes back to the engine it ran on unless told otherwise.
            var engine = Engine ?? profile?.Engine ?? resumes?.Engine;
            if (engine != null)
            {
                // An engine name that names nothing is refused here, before anything exists.
                DockerConnection.For(engine);
            }

            var options = new ClaudeCliOptions
            {
                Model = Model ?? profile?.Model,
                MaxTurns = IsBound(nameof(MaxTurns)) ? MaxTurns : profile?.MaxTurns,
                MaxBudgetUsd = IsBound(nameof(MaxBudgetUsd)) ? MaxBudgetUsd : profile?.MaxBudgetUsd,
                AllowedTools = AllowedTools ?? profile?.AllowedTools,
                DisallowedTools = DisallowedTools ?? profile?.DisallowedTools,
                AppendSystemPrompt = AppendSystemPrompt ?? profile?.AppendSystemPrompt,
                ResumeSession = resumes?.AgentSessionId,
            };

            var spec = new TaskSpec
            {
                ProjectName = string.IsNullOrEmpty(projectName) ? path : projectName,
                ProjectPath = path,
                Description = Description,
                Image = TaskDefaults.Image(Image ?? profile?.Image ?? resumes?.Image),
                Engine = engine,
                Workspace = IsBound(nameof(Workspace)) ? Workspace : profile?.Workspace ?? WorkspaceTransfer.Auto,
                Swarm = IsBound(nameof(Swarm)) ? Swarm.IsPresent : profile?.Swarm ?? false,
                Placement = profile?.Placement ?? Array.Empty<string>(),
                Timeout = IsBound(nameof(Timeout)) ? Timeout : profile?.Timeout,
                Environment = TaskEnvironment.Build(Environment, System.Environment.GetEnvironmentVariable, profile?.Environment),
                AgentCommand = options.ApplyTo(AgentCommand ?? TaskDefaults.DefaultAgentCommand.ToArray()),
                Sandbox = sandbox,
                RunspaceId = Runspace.DefaultRunspace?.InstanceId ?? Guid.Empty,
                Resumes = resumes,
                MaxAttempts = MaxAttempts,
                RetryDelay = RetryDelay,
            };
            if (resumes != null)
            {
                PlanResumedBranch(spec, resumes);
            }
            else
            {
                PlanIsolation(spec, profile);
            }

            return spec;
        }

        /// <summary>
        /// The task to continue, refused before anything exists when it cannot be: unknown or
        /// pruned, still running, its work not yet saved, no session reported, its session gone.
        /// </summary>
        private static ClaudeTask ResumableTask(string taskId)
        {
            var task = TaskStore.Load(taskId);
            if (task == null)
            {
                throw new OrchestratorException(ErrorIds.TaskNotFound, ErrorCategory.ObjectNotFound,
                    $"There is no task '{taskId}' to resume in {TaskStore.Root} (never run here, or pruned by Remove-ClaudeTask). Get-ClaudeTask lists the tasks.", taskId);
            }

            if (task.Status == ClaudeTaskStatus.Running)
            {
                throw new OrchestratorException(ErrorIds.TaskRunning, ErrorCategory.ResourceBusy,
                    $"Task {taskId} is still running; resume it when it has ended.", taskId);
            }

            if (task.CheckoutPath != null && task.Branch != null)
            {
                throw new OrchestratorException(ErrorIds.ResumeUnavailable, ErrorCategory.InvalidOperation,
                    $"Task {taskId}'s work is not saved into its branch yet (its checkout is still at {task.CheckoutPath}); run Remove-ClaudeContainer -Orphaned to save it, then resume.", taskId);
            }

            if (string.IsNullOrEmpty(task.AgentSessionId))
            {
                throw new OrchestratorException(ErrorIds.ResumeUnavailable, ErrorCategory.InvalidOperation,
                    $"Task {taskId} reported no Claude Code session (its agent did not speak stream-json, or never started), so there is nothing to resume.", taskId);
            }

            if (!AgentState.HasSession(task.AgentStatePath, task.AgentSessionId))
            {
                throw new OrchestratorException(ErrorIds.ResumeUnavailable, ErrorCategory.ObjectNotFound,
                    $"Task {taskId}'s agent state no longer holds session {task.AgentSessionId} (pruned, or the agent kept it elsewhere), so it cannot be resumed.", taskId);
            }

            var running = TaskStore.All().FirstOrDefault(t => t.Status == ClaudeTaskStatus.Running && t.Branch != null &&
                                                              t.Branch == task.Branch && t.Repository == task.Repository);
            if (running != null)
            {
                throw new OrchestratorException(ErrorIds.TaskRunning, ErrorCategory.ResourceBusy,
                    $"Task {running.TaskId} is already running on the branch '{task.Branch}'; resume {taskId} when it has ended.", taskId);
            }

            return task;
        }

        /// <summary>A resumed task works on the same branch, from where that branch is now.</summary>
        private static void PlanResumedBranch(TaskSpec spec, ClaudeTask resumes)
        {
            if (resumes.Branch == null)
            {
                return;
            }

            var repo = GitRepository.Inspect(spec.ProjectPath);
            var tip = repo.BranchTip(resumes.Branch);
            if (tip == null)
            {
                throw new OrchestratorException(ErrorIds.ResumeUnavailable, ErrorCategory.ObjectNotFound,
                    $"Task {resumes.TaskId}'s branch '{resumes.Branch}' no longer exists in {repo.TopLevel}, so the session cannot continue on it.", resumes.Branch);
            }

            spec.Repository = repo;
            spec.Branch = resumes.Branch;
            spec.BranchTip = tip;
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
