using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using TaskStatus = System.Threading.Tasks.TaskStatus;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Engine.Backends
{
    /// <summary>
    /// The end of an attempt, whatever ran it: its status and reason, the agent's own account of a
    /// failure, and the confirmed removal of what it ran in (a container or a service).
    /// </summary>
    internal static class AttemptOutcome
    {
        /// <summary>The end of an attempt, container or service: the agent's report and output into the result.</summary>
        internal static void Conclude(ClaudeTaskResult result, AgentActivity activity, AgentOutputReader reader)
        {
            result.EndTime = DateTime.Now;
            AgentReport.Add(result, activity);
            if (result.Status != ClaudeTaskStatus.Failed)
            {
                // A timeout or a cancel is its own reason, whatever the agent last said.
                result.ErrorKind = null;
            }

            result.Output = reader.StandardOutput;
            result.ErrorOutput = reader.StandardError;
            result.OutputTruncated = reader.Truncated;
        }

        /// <summary>
        /// Exit codes 126 and 127 mean a program could not be run at all: the watcher's shell
        /// (when the engine's init reports it) or the agent command. Say which, and what to fix.
        /// </summary>
        internal static void ExplainCommandNotRun(ClaudeTaskResult result, string standardOutput, string standardError, TaskPlan spec)
        {
            var agent = spec.AgentCommand.FirstOrDefault();
            if (result.ExitCode == 126)
            {
                result.Reason += $" The agent command '{agent}' is in the image but could not be executed.";
            }
            else if (result.ExitCode == 127 && (standardError ?? string.Empty).IndexOf(AgentWatcher.AgentNotFoundMarker, StringComparison.Ordinal) >= 0)
            {
                result.Reason += $" The agent command '{agent}' is not on the image's PATH.";
            }
            else if (result.ExitCode == 127 &&
                     (string.IsNullOrEmpty(standardOutput) && string.IsNullOrEmpty(standardError) ||
                      (standardError ?? string.Empty).IndexOf(ContainerPaths.Shell, StringComparison.Ordinal) >= 0))
            {
                // Nothing ran, or the engine's init said it could not run the watcher's shell.
                result.Reason += $" ({ContainerPaths.ShellNeeded}).";
            }
        }

        /// <summary>
        /// The agent's own account of a failure (auth, rate limit, limits reached) replaces the bare
        /// exit code; a result event that reports an error fails the task whatever the exit code.
        /// </summary>
        internal static void ExplainAgentError(ClaudeTaskResult result, AgentActivity activity, TaskPlan spec)
        {
            var kind = activity.ErrorKind;
            if (kind == null)
            {
                return;
            }

            var code = result.ExitCode.HasValue ? $" (exit code {result.ExitCode})" : string.Empty;
            result.Status = ClaudeTaskStatus.Failed;
            result.Reason = AgentReport.Explain(kind.Value, activity.ErrorText, spec.Environment) + code;
        }

        /// <param name="what">What was removed from under the task when nobody here stopped it: "container" or "service".</param>
        internal static void MarkStopped(ClaudeTaskResult result, CancellationTokenSource timeout, CancellationToken cancel, TaskPlan spec, string what = "container")
        {
            if (spec.Budget != null && spec.Budget.Stopped && !cancel.IsCancellationRequested && !timeout.IsCancellationRequested)
            {
                result.Status = ClaudeTaskStatus.Cancelled;
                result.Reason = $"Stopped (-StopAtBudget): {spec.Budget.Describe()}.";
            }
            else if (timeout.IsCancellationRequested && !cancel.IsCancellationRequested)
            {
                result.Status = ClaudeTaskStatus.TimedOut;
                result.Reason = $"The task exceeded its timeout of {spec.Timeout}.";
            }
            else
            {
                result.Status = ClaudeTaskStatus.Cancelled;
                result.Reason = cancel.IsCancellationRequested
                    ? "The task was cancelled."
                    : $"The task's {what} was removed while it ran.";
            }
        }

        // How long a task waits for a flush that is removing its container to say how that went.
        private static readonly TimeSpan SettleWait = TimeSpan.FromMinutes(2);

        /// <summary>
        /// A container that could not be removed breaks the promise the task makes, so the result
        /// says so and is a failure whatever the agent did.
        /// </summary>
        internal static async Task<bool> RemoveAsync(DockerConnection connection, TrackedContainer tracked, ClaudeTaskResult result, Stopwatch cleanupClock)
        {
            var (id, name) = (tracked.Id, tracked.Name);
            RemovalOutcome outcome = null;
            if (tracked.StopReason != null)
            {
                // A flush or Remove-ClaudeContainer is removing it: wait for its outcome instead of
                // racing it with requests of our own (hundreds of tasks would hammer the engine).
                // Bounded, in case whoever asked never settles; then it is ours again.
                if (await Task.WhenAny(tracked.Settled, Task.Delay(SettleWait)).ConfigureAwait(false) == tracked.Settled)
                {
                    outcome = tracked.Settled.Result;
                }
            }

            if (outcome == null)
            {
                outcome = await ContainerRemover.RemoveConfirmedAsync(connection, id, name, kind: tracked.Kind).ConfigureAwait(false);
                outcome = new RemovalOutcome(id, name, outcome.Removed, outcome.WasPresent, cleanupClock.Elapsed, outcome.Error);
                ContainerTracker.Settle(outcome, tracked.StopReason ?? ReasonFor(result));
            }

            if (!outcome.Removed)
            {
                if (result.Status == ClaudeTaskStatus.Succeeded)
                {
                    result.Status = ClaudeTaskStatus.Failed;
                }

                var why = $"The {tracked.Kind.Name} {name} could not be removed ({outcome.Error?.Message}); it stays tracked, and Remove-ClaudeContainer removes it once the engine answers again.";
                result.Reason = string.IsNullOrEmpty(result.Reason) ? why : result.Reason + " " + why;
            }

            return outcome.Removed;
        }

        internal static CleanupReason ReasonFor(ClaudeTaskResult result)
        {
            switch (result.Status)
            {
                case ClaudeTaskStatus.Succeeded:
                    return CleanupReason.Finished;
                case ClaudeTaskStatus.TimedOut:
                    return CleanupReason.TimedOut;
                case ClaudeTaskStatus.Cancelled:
                    return CleanupReason.Cancelled;
                default:
                    return CleanupReason.Failed;
            }
        }

        internal static async Task<bool> CompletesWithin(Task task, TimeSpan limit)
        {
            if (await Task.WhenAny(task, Task.Delay(limit)).ConfigureAwait(false) != task)
            {
                return false;
            }

            return task.Status == TaskStatus.RanToCompletion;
        }

        /// <summary>A task nobody awaits any more must not fault unobserved.</summary>
        internal static void Observe(Task task) =>
            task?.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }
}
