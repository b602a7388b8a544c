using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Backends;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Engine.Egress;
using ClaudeOrchestrator.Engine.Live;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Engine.Tasks
{
    /// <summary>
    /// Runs one task: reaches its engine, lets its backend refuse what it cannot do and choose how
    /// the workspace travels, begins the task's session (record, branch, checkout), runs attempts
    /// (again after a rate limit), and on every path out, exceptions and cancellation included,
    /// saves the work once the backend has confirmed its objects gone.
    /// </summary>
    internal static class TaskRunner
    {
        /// <summary>What running <paramref name="plan"/> would make, in one sentence for -WhatIf and -Confirm; contacts no engine.</summary>
        public static string Describe(TaskPlan plan)
        {
            var where = plan.Resumes != null
                ? $"resuming task {plan.Resumes.TaskId}'s session" + (plan.Branch != null ? $" on its branch '{plan.Branch}' (now at {plan.BranchTip.Substring(0, 12)}) in a private checkout" : $" in {plan.ProjectPath} itself")
                : plan.Repository != null
                    ? $"on a new branch '{plan.Branch}' from {plan.Repository.HeadCommit.Substring(0, 12)} in a private checkout"
                    : $"in {plan.ProjectPath} itself (no branch)";
            return $"Claude task {plan.TaskId} for project '{plan.ProjectName}' ({plan.ProjectPath}), {where}: " +
                   TaskBackends.For(plan.Backend).Describe(DockerConnection.For(plan.Engine), plan) + ".";
        }

        public static async Task<ClaudeTaskResult> RunAsync(TaskPlan spec, ITaskObserver observer, CancellationToken cancel)
        {
            // A fan-out whose budget is spent starts nothing of it; else it is on the board from here until its work is saved.
            var live = new LiveTask(spec.TaskId, spec.ProjectName, spec.Branch);
            if (spec.Budget != null && !spec.Budget.TryStart(live))
            {
                return NotStarted(spec, observer);
            }

            LiveBoard.Add(live);

            ClaudeTaskResult result = null;
            try
            {
                result = await RunWithWarningAsync(spec, observer, live, cancel).ConfigureAwait(false);
                return result;
            }
            finally
            {
                LiveBoard.Remove(live);
                spec.Budget?.Ended(live, result != null ? result.CostUsd : live.Cost(out _));
            }
        }

        /// <summary>The result of a task its fan-out's budget kept from starting: nothing of it was made.</summary>
        private static ClaudeTaskResult NotStarted(TaskPlan spec, ITaskObserver observer)
        {
            var why = spec.Budget.Describe();
            if (spec.Budget.TellOnce())
            {
                observer.Warning(char.ToUpperInvariant(why[0]) + why.Substring(1) + "; the tasks not started yet come back with the status NotStarted" +
                                 (spec.Budget.StopAtBudget ? ", and the running ones are stopped (-StopAtBudget), their work saved." : "; the running ones go on (-StopAtBudget stops them)."));
            }

            var now = DateTime.Now;
            return new ClaudeTaskResult
            {
                TaskId = spec.TaskId,
                Project = spec.ProjectName,
                Path = spec.ProjectPath,
                Image = spec.Image,
                Workspace = spec.Workspace,
                Status = ClaudeTaskStatus.NotStarted,
                Reason = $"Not started: {why}.",
                Work = ClaudeTaskWork.NoChanges,
                StartTime = now,
                EndTime = now,
            };
        }

        private static async Task<ClaudeTaskResult> RunWithWarningAsync(TaskPlan spec, ITaskObserver observer, LiveTask live, CancellationToken cancel)
        {
            // The count of the user's uncommitted files arrives while the task starts; its warning
            // is out before the result.
            var repository = spec.Repository;
            var warned = repository == null ? Task.CompletedTask : repository.DirtyFiles.ContinueWith(count =>
            {
                if (count.Status == System.Threading.Tasks.TaskStatus.RanToCompletion && count.Result > 0)
                {
                    observer.Warning($"{count.Result} file(s) in {repository.TopLevel} have uncommitted changes; the task starts from the last commit ({repository.HeadCommit.Substring(0, 12)}) without them.");
                }
            }, TaskScheduler.Default);
            try
            {
                return await RunTaskAsync(spec, observer, live, cancel).ConfigureAwait(false);
            }
            finally
            {
                await warned.ConfigureAwait(false);
            }
        }

        private static async Task<ClaudeTaskResult> RunTaskAsync(TaskPlan spec, ITaskObserver observer, LiveTask live, CancellationToken cancel)
        {
            var connection = await DockerConnection.ReachAsync(spec.Engine, cancel).ConfigureAwait(false);
            observer.Debug(connection.Description);
            spec.Sandbox.AdaptTo(connection.Facts);
            spec.EngineEndpoint = connection.Endpoint;
            // The seam between the task's life and what runs its agent: refusals before anything exists, and how the workspace travels.
            var backend = TaskBackends.For(spec.Backend);
            await backend.CheckAsync(connection, spec, cancel).ConfigureAwait(false);

            // The gateway starts (or is found) while the branch and checkout are made.
            var egress = TaskEgress.For(spec.TaskId, spec.Egress, spec.AllowedHosts, new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(spec.Environment),
                TaskStore.ConnectionsFor(spec.TaskId), observer.Warning);
            if (backend.JoinsGateway)
            {
                egress.Open(connection, observer.Verbose, cancel);
            }

            if (spec.Repository != null)
            {
                observer.Verbose($"Task {spec.TaskId}: making its record, the branch '{spec.Branch}' and a private checkout.");
            }

            TaskSession session;
            try
            {
                session = TaskSession.Begin(spec);
            }
            catch (Exception)
            {
                // No container was made.
                await egress.CloseAsync(true).ConfigureAwait(false);
                throw;
            }

            if (session.Unrecorded != null)
            {
                observer.Verbose($"The task runs without record or transcript: the state directory cannot be written ({session.Unrecorded}).");
            }
            if (session.Checkout != null)
            {
                observer.Verbose($"Task {spec.TaskId}: branch '{spec.Branch}' from {spec.Repository.HeadCommit.Substring(0, 12)} in {spec.Repository.TopLevel}; " + (session.Checkout.IsLayer
                    ? $"overlay checkout: the shared base tree {session.Checkout.BaseTree} under the task's layer {session.Checkout.CheckoutDirectory}."
                    : $"private checkout {session.Checkout.CheckoutDirectory}" + (spec.CheckoutNote != null ? $", every file written (no overlay: {spec.CheckoutNote})." : ".")));
            }

            var result = NewResult(spec, session);
            var containerGone = true;
            string descriptionFile = null;
            try
            {
                if (DescriptionDelivery.NeedsFile(spec.Description))
                {
                    descriptionFile = DescriptionDelivery.WriteFile(spec.TaskId, spec.Description);
                    observer.Verbose($"The description ({DescriptionDelivery.ByteCount(spec.Description):N0} bytes) is longer than one argument may be; the agent reads it on stdin from {DescriptionDelivery.ContainerPath}.");
                }

                // Once per task, before the first attempt: a retry continues in the same workspace, as it would in the same checkout.
                var workspace = backend.Workspace(connection, spec, session, descriptionFile);
                session.Use(workspace);
                await workspace.PrepareAsync(connection, observer.Verbose, cancel).ConfigureAwait(false);
                await egress.ReadyAsync().ConfigureAwait(false);

                for (var attempt = 1; ; attempt++)
                {
                    result.Attempts = attempt;
                    var activity = new AgentActivity();
                    live.BeginAttempt(attempt, activity, result.CostUsd);
                    containerGone = await backend.RunAsync(new Attempt
                    {
                        Connection = connection,
                        Plan = spec,
                        Task = session,
                        Workspace = workspace,
                        DescriptionFile = descriptionFile,
                        Observer = observer,
                        Egress = egress,
                        Result = result,
                        Activity = activity,
                    }, cancel).ConfigureAwait(false);
                    live.EndAttempt(result.CostUsd);
                    if (!AgentReport.IsRetryable(result.ErrorKind) || attempt >= spec.MaxAttempts || !containerGone || spec.Budget?.Stopped == true)
                    {
                        break;
                    }

                    live.Enter(LivePhase.Waiting);

                    // The API asked us to slow down: the whole fan-out does, and this task waits its turn again.
                    var delay = RetryDelay(spec.RetryDelay, attempt);
                    var limit = spec.Throttle?.Lower();
                    var why = $"{result.ErrorKind} on attempt {attempt} of {spec.MaxAttempts}: retrying in {delay.TotalSeconds:0.#} s" +
                              (limit.HasValue ? $"; tasks at once lowered to {limit}." : ".");
                    observer.Warning($"Task {spec.TaskId}: {why}");
                    session.Transcript?.Note(why);
                    await Task.Delay(delay, cancel).ConfigureAwait(false);
                    result.Status = ClaudeTaskStatus.Failed;
                    result.Reason = null;
                    result.ExitCode = null;
                }

                if (result.Status == ClaudeTaskStatus.Succeeded)
                {
                    spec.Throttle?.Succeeded();
                }

                return result;
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                result.Status = ClaudeTaskStatus.Cancelled;
                result.Reason = "The task was cancelled.";
                throw;
            }
            catch (Exception e)
            {
                result.Reason = result.Reason ?? e.Message;
                throw;
            }
            finally
            {
                DescriptionDelivery.DeleteFile(descriptionFile);
                // A container that could not be removed may still be writing into the checkout (and using its network).
                containerGone = containerGone && !ContainerTracker.Snapshot().Any(c => c.TaskId == spec.TaskId);
                // The container is gone (or stays tracked): its token is refused from now on.
                await egress.CloseAsync(containerGone).ConfigureAwait(false);
                egress.ApplyTo(result);
                if (result.EndTime == default(DateTime))
                {
                    result.EndTime = DateTime.Now;
                }

                // After the container is gone, before anyone sees the result: the work goes into the branch.
                live.Enter(LivePhase.Saving);
                HaltPoint.Reached(HaltPoint.Steps.AgentEnded);
                var save = await session.FinishAsync(result, containerGone, session.StopReason ?? AttemptOutcome.ReasonFor(result)).ConfigureAwait(false);
                ApplySave(result, session, save, observer);
            }
        }

        /// <summary>The wait before retry number <paramref name="attempt"/>: doubling from the first, a fifth either way at random, never over the cap.</summary>
        internal static TimeSpan RetryDelay(TimeSpan first, int attempt)
        {
            var doubled = first.TotalMilliseconds * Math.Pow(2, attempt - 1);
            var jitter = 0.8 + 0.4 * new Random(Guid.NewGuid().GetHashCode()).NextDouble();
            return TimeSpan.FromMilliseconds(Math.Min(doubled * jitter, ModuleDefaults.MaxRetryDelay.TotalMilliseconds));
        }

        private static ClaudeTaskResult NewResult(TaskPlan spec, TaskSession session) => new ClaudeTaskResult
        {
            ResumedFrom = spec.Resumes?.TaskId,
            TaskId = spec.TaskId,
            Project = spec.ProjectName,
            Path = spec.ProjectPath,
            Image = spec.Image,
            Engine = spec.EngineEndpoint,
            Workspace = spec.Workspace,
            Checkout = session.Record.Checkout,
            StartTime = DateTime.Now,
            // Until an outcome says otherwise: an exception part-way is a failure.
            Status = ClaudeTaskStatus.Failed,
            TranscriptPath = session.Record.TranscriptPath,
            Work = session.Checkout == null ? ClaudeTaskWork.InPlace : ClaudeTaskWork.Pending,
            Branch = session.Checkout?.Branch,
            BaseCommit = session.Checkout?.BaseCommit,
        };

        private static void ApplySave(ClaudeTaskResult result, TaskSession session, WorkSave save, ITaskObserver observer)
        {
            if (session.Checkout == null || save == null)
            {
                return;
            }

            save.ApplyTo(result);
            if (!save.Saved)
            {
                // A reason already given (the work still on the engine) is not repeated.
                var known = !string.IsNullOrEmpty(result.Reason) && save.Error != null && result.Reason.Contains(save.Error);
                var why = known
                    ? $"Its checkout stays at {session.Checkout.CheckoutDirectory} until then."
                    : $"The task's work could not be saved into the branch '{session.Checkout.Branch}' ({save.Error}); its checkout stays at {session.Checkout.CheckoutDirectory}, and Remove-ClaudeTask or Remove-ClaudeContainer -Orphaned saves it later.";
                result.Status = result.Status == ClaudeTaskStatus.Succeeded ? ClaudeTaskStatus.Failed : result.Status;
                result.Reason = string.IsNullOrEmpty(result.Reason) ? why : result.Reason + " " + why;
            }
            else if (save.Work == ClaudeTaskWork.Lost)
            {
                result.Status = result.Status == ClaudeTaskStatus.Succeeded ? ClaudeTaskStatus.Failed : result.Status;
                observer.Verbose($"Work lost: nothing of the agent's came back; branch {save.Branch} stays at {save.HeadCommit}.");
            }
            else
            {
                observer.Verbose($"Work saved ({save.Work}): branch {save.Branch ?? "(none: the agent never ran)"} at {save.HeadCommit}, {save.Commits} commit(s), {save.FilesChanged} file(s) changed.");
                if (save.Note != null)
                {
                    result.Reason = string.IsNullOrEmpty(result.Reason) ? "Note: " + save.Note + "." : result.Reason + " Note: " + save.Note + ".";
                }
            }
        }
    }
}
