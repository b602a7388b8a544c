using System;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Backends;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Hosting;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Shows a running task through the cmdlet: agent lines, verbose steps, a progress bar.</summary>
    internal sealed class CmdletTaskObserver : ITaskObserver
    {
        private static int _nextActivityId = 1;

        private readonly PSCmdlet _cmdlet;
        private readonly PipelineQueue _queue;
        private readonly string _activity;
        private readonly int _activityId = System.Threading.Interlocked.Increment(ref _nextActivityId);
        private readonly TimeSpan? _timeout;
        private volatile string _containerName;
        private volatile AgentActivity _agentActivity;
        private DateTime? _startedAt;

        public CmdletTaskObserver(PSCmdlet cmdlet, PipelineQueue queue, string project, TimeSpan? timeout)
        {
            _cmdlet = cmdlet;
            _queue = queue;
            _activity = "Claude task: " + project;
            _timeout = timeout;
        }

        public void Verbose(string message) => _queue.Post(() => _cmdlet.WriteVerbose(message));

        public void Debug(string message) => _queue.Post(() => _cmdlet.WriteDebug(message));

        public void Warning(string message) => _queue.Post(() => _cmdlet.WriteWarning(message));

        public void ContainerCreated(string id, string name) => _containerName = name;

        public void AgentStarted(AgentActivity activity)
        {
            _agentActivity = activity;
            _startedAt = DateTime.Now;
        }

        public void AgentOutput(string line, AgentStream stream)
        {
            var tag = stream == AgentStream.StandardError ? AgentOutputTags.StandardError : AgentOutputTags.StandardOutput;
            _queue.Post(() => _cmdlet.WriteInformation(
                new HostInformationMessage { Message = line },
                new[] { AgentOutputTags.Module, AgentOutputTags.Agent, tag, AgentOutputTags.Host }));
        }

        /// <summary>Called on the pipeline thread between queued writes.</summary>
        public void Tick()
        {
            var started = _startedAt;
            var record = new ProgressRecord(_activityId, _activity, started == null ? "Preparing container" : "Agent running in " + _containerName);
            if (started != null)
            {
                var elapsed = DateTime.Now - started.Value;
                record.CurrentOperation = "Elapsed " + elapsed.ToString(@"hh\:mm\:ss") + ActivityStatus.Text(_agentActivity);
                if (_timeout.HasValue && _timeout.Value > TimeSpan.Zero)
                {
                    record.PercentComplete = (int)Math.Min(99, elapsed.TotalMilliseconds * 100 / _timeout.Value.TotalMilliseconds);
                    record.SecondsRemaining = (int)Math.Max(0, (_timeout.Value - elapsed).TotalSeconds);
                }
            }

            _cmdlet.WriteProgress(record);
        }

        public void Complete()
        {
            _cmdlet.WriteProgress(new ProgressRecord(_activityId, _activity, "Done") { RecordType = ProgressRecordType.Completed });
        }
    }
}
