using System;
using System.Management.Automation;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Bridges async engine work into the synchronous cmdlet model: one cancellation source per
    /// cmdlet that StopProcessing (Ctrl+C) cancels, and a pump that runs queued Write* calls on
    /// the pipeline thread until the work, including its cleanup, has finished.
    /// </summary>
    public abstract class ClaudeCmdletBase : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource _cancel = new CancellationTokenSource();

        protected CancellationToken CancelToken => _cancel.Token;

        protected override void StopProcessing() => _cancel.Cancel();

        /// <summary>
        /// Runs <paramref name="work"/> off the pipeline thread and returns its result. Never
        /// returns before the work ends, even when the pipeline is being stopped, so cleanup done
        /// by the work is complete when the cmdlet returns.
        /// </summary>
        internal T RunPumped<T>(Func<PipelineQueue, Task<T>> work, Action onTick = null, TimeSpan? tickInterval = null, bool terminating = true)
        {
            var queue = new PipelineQueue();
            var task = Task.Run(() => work(queue));
            task.ContinueWith(_ => queue.Complete(), TaskScheduler.Default);

            var interval = tickInterval ?? TimeSpan.FromMilliseconds(250);
            Exception writeFailure = null;
            while (!queue.IsCompleted)
            {
                if (queue.TryTake(out var action, interval))
                {
                    if (writeFailure != null)
                    {
                        continue;
                    }

                    try
                    {
                        action();
                    }
                    catch (Exception e)
                    {
                        // A stopped pipeline or -ErrorAction Stop: abandon the work, but keep
                        // draining so its cleanup finishes before the exception leaves the cmdlet.
                        writeFailure = e;
                        _cancel.Cancel();
                    }
                }
                else if (writeFailure == null && onTick != null && !task.IsCompleted)
                {
                    onTick();
                }
            }

            if (writeFailure != null)
            {
                ObserveQuietly(task);
                ExceptionDispatchInfo.Capture(writeFailure).Throw();
            }

            try
            {
                return task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            catch (OrchestratorException e) when (terminating)
            {
                ThrowTerminatingError(e.ToErrorRecord());
                throw;
            }
        }

        private static void ObserveQuietly(Task task) =>
            task.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

        /// <summary>Synchronous form for work with nothing to stream.</summary>
        internal T Run<T>(Func<CancellationToken, Task<T>> work) => RunPumped(_ => work(CancelToken));

        /// <summary>Like <see cref="Run{T}"/>, but the module's own errors are thrown to the caller, not ended with.</summary>
        internal T RunQuietly<T>(Func<CancellationToken, Task<T>> work) => RunPumped(_ => work(CancelToken), terminating: false);

        internal void WriteError(OrchestratorException e) => WriteError(e.ToErrorRecord());

        public void Dispose()
        {
            _cancel.Dispose();
            GC.SuppressFinalize(this);
        }
    }
}
