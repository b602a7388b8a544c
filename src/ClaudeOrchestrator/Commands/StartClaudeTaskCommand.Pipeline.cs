using System;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Tasks;
using ClaudeOrchestrator.Hosting;
using ClaudeOrchestrator.Jobs;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Running the planned tasks: each on a pool thread, its writes queued for the pipeline thread, the pump that runs them, and what a task's end writes.</summary>
    public sealed partial class StartClaudeTaskCommand
    {
        private readonly PipelineQueue _queue = new PipelineQueue();

        private readonly ConcurrentDictionary<TaskPlan, RunningTask> _running = new ConcurrentDictionary<TaskPlan, RunningTask>();

        private TaskThrottle _throttle;

        private FanOutBudget _budget;

        private ClaudeTaskFanOutJob _fanOut;

        private Exception _writeFailure;

        private void StartTask(TaskPlan spec)
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
            // An exit under way finishes its cleanup first; the process then ends with the code it was given.
            ProcessEnding.WaitWhileEnding(TimeSpan.FromSeconds(30));
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
            public RunningTask(TaskPlan spec, CmdletTaskObserver observer, Task<ClaudeTaskResult> run)
            {
                Spec = spec;
                Observer = observer;
                Run = run;
            }

            public TaskPlan Spec { get; }
            public CmdletTaskObserver Observer { get; }
            public Task<ClaudeTaskResult> Run { get; }
        }
    }
}
