using System;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Backends;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Tasks;
using ClaudeOrchestrator.Hosting;

namespace ClaudeOrchestrator.Jobs
{
    /// <summary>
    /// Start-ClaudeTask -AsJob: the task runs on the thread pool and reports through the job's
    /// streams; Stop-Job returns only after the container is gone.
    /// </summary>
    public sealed class ClaudeTaskJob : Job, ITaskObserver
    {
        private readonly CancellationTokenSource _cancel = new CancellationTokenSource();
        private readonly TaskPlan _spec;
        private Task _run = Task.CompletedTask;
        private bool _started;
        private string _containerName;
        private AgentActivity _activity;

        internal ClaudeTaskJob(string command, string name, TaskPlan spec)
            : base(command, name)
        {
            _spec = spec;
            PSJobTypeName = "ClaudeTaskJob";
        }

        public string TaskId => _spec.TaskId;

        public string ContainerName => _containerName;

        public override string Location => Environment.MachineName;

        public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Information.Count > 0 || Verbose.Count > 0 || Debug.Count > 0 || Warning.Count > 0;

        public override string StatusMessage => (_containerName ?? string.Empty) + ActivityStatus.Text(_activity);

        internal void Start()
        {
            _started = true;
            SetJobState(JobState.Running);
            _run = Task.Run(RunAsync);
        }

        private async Task RunAsync()
        {
            try
            {
                var result = await TaskRunner.RunAsync(_spec, this, _cancel.Token).ConfigureAwait(false);
                Output.Add(PSObject.AsPSObject(result));
                var error = TaskOutcomeErrors.For(result);
                if (error != null)
                {
                    Error.Add(error);
                }

                SetJobState(result.Status == ClaudeTaskStatus.Cancelled ? JobState.Stopped : JobState.Completed);
            }
            catch (OperationCanceledException)
            {
                SetJobState(JobState.Stopped);
            }
            catch (OrchestratorException e)
            {
                Error.Add(e.ToErrorRecord());
                SetJobState(JobState.Failed);
            }
            catch (Exception e)
            {
                Error.Add(new ErrorRecord(e, ErrorIds.TaskFailed, ErrorCategory.NotSpecified, _spec.ProjectPath));
                SetJobState(JobState.Failed);
            }
        }

        public override void StopJob()
        {
            if (IsFinishedState(JobStateInfo.State))
            {
                return;
            }

            if (!_started)
            {
                // A fan-out's task still waiting for a place: it never ran.
                SetJobState(JobState.Stopped);
                return;
            }

            SetJobState(JobState.Stopping);
            _cancel.Cancel();
            _run.GetAwaiter().GetResult();
        }

        void ITaskObserver.Verbose(string message) => Verbose.Add(new VerboseRecord(message));

        void ITaskObserver.Debug(string message) => Debug.Add(new DebugRecord(message));

        void ITaskObserver.ContainerCreated(string id, string name) => _containerName = name;

        void ITaskObserver.Warning(string message) => Warning.Add(new WarningRecord(message));

        void ITaskObserver.AgentStarted(AgentActivity activity) => _activity = activity;

        void ITaskObserver.AgentOutput(string line, AgentStream stream)
        {
            var tag = stream == AgentStream.StandardError ? AgentOutputTags.StandardError : AgentOutputTags.StandardOutput;
            var record = new InformationRecord(new HostInformationMessage { Message = line }, "Start-ClaudeTask");
            record.Tags.Add(AgentOutputTags.Module);
            record.Tags.Add(AgentOutputTags.Agent);
            record.Tags.Add(tag);
            record.Tags.Add(AgentOutputTags.Host);
            Information.Add(record);
        }

        internal static bool IsFinishedState(JobState state) =>
            state == JobState.Completed || state == JobState.Failed || state == JobState.Stopped;

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _cancel.Cancel();
                _cancel.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
