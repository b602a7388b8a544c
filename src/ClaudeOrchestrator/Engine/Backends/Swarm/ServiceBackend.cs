using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using SwarmTaskState = Docker.DotNet.Models.TaskState;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Backends;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Engine.Workspaces;

namespace ClaudeOrchestrator.Engine.Backends.Swarm
{
    /// <summary>
    /// One attempt of a task as a swarm one-off service, where <see cref="Containers.ContainerBackend"/> runs a
    /// container: one replica, no restart, the module's labels and the sandbox as services allow
    /// it. The workspace goes in configs and comes back in the service's log (see
    /// <see cref="ServiceScript"/>); the exit code comes from the swarm task's state. Every path
    /// out removes the service (and so its container, on whichever node) and then its configs.
    /// </summary>
    internal sealed class ServiceBackend : ITaskBackend
    {
        private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

        // After the swarm says the task ended, its last log lines may still be on their way.
        private static readonly TimeSpan LogGrace = TimeSpan.FromSeconds(5);

        public ClaudeTaskBackend Kind => ClaudeTaskBackend.SwarmService;

        /// <summary>Refuses -Swarm before anything exists when the engine cannot run services; on a swarm the workspace is always copied.</summary>
        public Task CheckAsync(DockerConnection connection, TaskPlan spec, CancellationToken cancel)
        {
            if (connection.Facts == null || !connection.Facts.SwarmManager)
            {
                var state = connection.Facts?.SwarmState;
                throw new OrchestratorException(ErrorIds.SwarmUnavailable, ErrorCategory.InvalidOperation,
                    $"-Swarm: the engine at {connection.Endpoint} is not a swarm manager (its swarm state is '{(string.IsNullOrEmpty(state) ? "unknown" : state)}'). " +
                    "Name a manager with -Engine or the profile's docker.engine, or run the task without -Swarm.", spec.ProjectPath);
            }

            if (spec.Egress == ClaudeTaskEgress.Gateway)
            {
                // The gateway's network is one engine's bridge; a service may run on any node.
                throw new OrchestratorException(ErrorIds.SwarmEgressUnavailable, ErrorCategory.SecurityError,
                    "-Swarm needs -Network: the egress gateway (the default, which lets the agent reach only the model API and the hosts -AllowHost names) serves one engine, and a swarm service may run on any node. " +
                    "Pass -Network with an overlay network (or bridge) to opt out into open egress: the service then holds the model API credential, and the agent can reach any host.", spec.ProjectPath);
            }

            if (string.Equals(spec.Sandbox.Network, "none", StringComparison.Ordinal))
            {
                // Docker's swarm manager knows no network "none" (it refuses the service), and a
                // service given no network gets each node's default bridge: not offline at all.
                throw new OrchestratorException(ErrorIds.SwarmEgressUnavailable, ErrorCategory.InvalidArgument,
                    "-Network none cannot be used with -Swarm: a swarm service cannot be left without a network (the manager knows no network 'none', and a service without one joins its node's bridge). " +
                    "Pass -Network with an overlay network (or bridge), or run an offline task without -Swarm.", spec.ProjectPath);
            }

            if (spec.Workspace == WorkspaceTransfer.Mount)
            {
                throw new OrchestratorException(ErrorIds.SwarmUnavailable, ErrorCategory.InvalidArgument,
                    "-Workspace Mount cannot be used with -Swarm: a bind mount names a path on whichever node runs the task. On a swarm the workspace is always copied.", spec.ProjectPath);
            }

            if (spec.Repository != null && spec.Checkout == CheckoutMethod.Overlay)
            {
                throw new OrchestratorException(ErrorIds.CheckoutUnavailable, ErrorCategory.InvalidArgument,
                    "-Checkout Overlay cannot be used with -Swarm: the overlay lies on this machine's files, and a service may run on any node. Use -Checkout Full or Auto.", spec.ProjectPath);
            }

            spec.Workspace = WorkspaceTransfer.Copy;
            spec.Checkout = CheckoutMethod.Full;
            return Task.CompletedTask;
        }

        public IEngineObjects RunsIn => ServiceObjects.Instance;

        public bool JoinsGateway => false;

        /// <summary>The parts received from a dead session's service (during its sweep's removal, or before the session died) put in place.</summary>
        public Task<Recovery> RecoverAsync(DockerConnection connection, ClaudeTask record, CancellationToken cancel)
        {
            var (lost, notPlaced) = ServiceSalvage.PutReturnedParts(record);
            return Task.FromResult(new Recovery(lost, notPlaced));
        }

        public string Describe(DockerConnection connection, TaskPlan plan) =>
            $"a one-off service from image '{plan.Image}' on the swarm {connection.Endpoint} manages" +
            (plan.Placement.Count > 0 ? $" (placed by {string.Join(", ", plan.Placement)})" : string.Empty) +
            ", the workspace sent in swarm configs and its work brought back through the service's log";

        public IWorkspaceDelivery Workspace(DockerConnection connection, TaskPlan plan, IAttemptHost task, string descriptionFile) =>
            new ServiceWorkspace(plan, task.Checkout, task.AgentStateDirectory, descriptionFile, task.ReturnedPartsDirectory);

        /// <summary>Runs the service; returns whether it is confirmed gone.</summary>
        public async Task<bool> RunAsync(Attempt attempt, CancellationToken cancel)
        {
            var (connection, spec, session, descriptionFile, observer, result, activity) =
                (attempt.Connection, attempt.Plan, attempt.Task, attempt.DescriptionFile, attempt.Observer, attempt.Result, attempt.Activity);
            var workspace = (ServiceWorkspace)attempt.Workspace;
            var name = ContainerNames.NewName();
            result.ContainerName = name;
            session.Record.ContainerName = name;
            var nonce = Guid.NewGuid().ToString("N");
            var shipped = workspace.Content();
            var returned = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            workspace.Returning(returned.Task);

            cancel.ThrowIfCancellationRequested();
            var launch = await connection.EnterLaunchAsync(cancel).ConfigureAwait(false);
            IList<SwarmConfigReference> configs = Array.Empty<SwarmConfigReference>();
            TrackedContainer tracked = null;
            var gone = true;
            try
            {
                observer.Verbose($"Copying the workspace into swarm configs for the service {name} ({shipped.Describe()} in the container).");
                configs = await ServiceSpecs.CreateConfigsAsync(connection, spec, shipped, name, nonce, cancel).ConfigureAwait(false);

                observer.Verbose($"Creating the one-off service {name} from image '{spec.Image}' on the swarm managed at {connection.Endpoint}.");
                session.MarkLaunched();
                var creating = ContainerTracker.BeginCreate(name, spec.RunspaceId);
                try
                {
                    var created = await ServiceSpecs.CreateServiceAsync(connection, ServiceSpecs.BuildSpec(spec, name, nonce, shipped, descriptionFile, session.Checkout, session.AgentStateDirectory, configs, attempt.Egress)).ConfigureAwait(false);
                    tracked = new TrackedContainer(created, name, spec.TaskId, spec.ProjectName, spec.ProjectPath, spec.RunspaceId, connection, ServiceObjects.Instance);
                }
                finally
                {
                    ContainerTracker.EndCreate(name, creating, tracked);
                }

                gone = false;
                SwarmServices.StartHeartbeat(connection, tracked.Id);
                observer.ContainerCreated(tracked.Id, name);
                launch.Dispose();
                gone = await FollowAsync(connection, spec, session, workspace, observer, result, activity, tracked, shipped, nonce, cancel).ConfigureAwait(false);
                return gone;
            }
            finally
            {
                launch.Dispose();
                if (tracked != null)
                {
                    SwarmServices.StopHeartbeat(tracked.Id);
                    if (!gone)
                    {
                        gone = await AttemptOutcome.RemoveAsync(connection, tracked, result, Stopwatch.StartNew()).ConfigureAwait(false);
                    }

                    observer.Verbose(gone ? $"Service {name} removed." : $"Service {name} could not be removed; it stays tracked.");
                    session.StopReason = tracked.StopReason;
                }

                if (gone)
                {
                    // A config in use by a service cannot go; one left is swept with its task's service gone.
                    foreach (var config in configs)
                    {
                        await SwarmServices.RemoveConfigAsync(connection, config.ConfigID, config.ConfigName, CancellationToken.None).ConfigureAwait(false);
                    }
                }

                returned.TrySetResult(false);
            }
        }

        /// <summary>Follows the created service until it ends or is stopped, removes it, and brings the work back; returns whether it is confirmed gone.</summary>
        private static async Task<bool> FollowAsync(DockerConnection connection, TaskPlan spec, IAttemptHost session, ServiceWorkspace workspace, ITaskObserver observer, ClaudeTaskResult result, AgentActivity activity,
            TrackedContainer service, ShippedWorkspace shipped, string nonce, CancellationToken cancel)
        {
            var reader = new AgentOutputReader(observer.AgentOutput, session.Transcript, new ClaudeEventStream(activity));
            var removed = false;
            var nodeLost = false;
            var sawRunning = false;
            using (var output = new ServiceResult(nonce, workspace.PartsDirectory))
            using (var logsDone = new CancellationTokenSource())
            using (var timeout = new CancellationTokenSource())
            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel, service.StopRequested, timeout.Token, spec.Budget?.StopRequested ?? CancellationToken.None))
            {
                reader.Divert = output.Take;
                Task pump;
                try
                {
                    var logs = await connection.Swarm.GetServiceLogsAsync(service.Id, false,
                        new ServiceLogsParameters { Follow = true, ShowStdout = true, ShowStderr = true }, logsDone.Token).ConfigureAwait(false);
                    pump = reader.PumpAsync(logs, logsDone.Token);
                }
                catch (Exception e) when (!(e is OperationCanceledException))
                {
                    throw connection.Translate(e);
                }

                var cleanupClock = Stopwatch.StartNew();
                try
                {
                    if (spec.Timeout.HasValue)
                    {
                        timeout.CancelAfter(spec.Timeout.Value);
                    }

                    observer.AgentStarted(activity);
                    var watch = WatchAsync(connection, service.Id, observer, result, () => sawRunning = true, stop.Token);
                    var stopped = Task.Delay(Timeout.Infinite, stop.Token);
                    var first = await Task.WhenAny(output.Ended, output.TransportFailed, watch, stopped, pump).ConfigureAwait(false);
                    cleanupClock.Restart();
                    if (first == watch && watch.IsCanceled)
                    {
                        // The watch and the stop share the token: this is the stop.
                        first = stopped;
                    }

                    if (first == output.TransportFailed)
                    {
                        // The script exits at once, without running the agent: nothing to wait for.
                        Outcome(result, output, null, spec, reader, activity);
                    }
                    else if (first == output.Ended || first == watch)
                    {
                        if (first == watch && !output.Ended.IsCompleted)
                        {
                            // The swarm says it ended; the result's last lines may still be in the log.
                            await Task.WhenAny(output.Ended, Task.Delay(LogGrace)).ConfigureAwait(false);
                        }

                        var ended = watch.IsCompleted && watch.Status == System.Threading.Tasks.TaskStatus.RanToCompletion ? watch.Result.Task : null;
                        nodeLost = watch.IsCompleted && watch.Status == System.Threading.Tasks.TaskStatus.RanToCompletion && watch.Result.NodeLost;
                        Outcome(result, output, ended, spec, reader, activity);
                    }
                    else if (first == pump)
                    {
                        result.Status = ClaudeTaskStatus.Failed;
                        result.Reason = "Lost the service's log: " + (pump.Exception == null ? "the engine ended it." : connection.Translate(pump.Exception.GetBaseException()).Message);
                    }
                    else
                    {
                        AttemptOutcome.MarkStopped(result, timeout, cancel, spec, "service");
                        observer.Verbose($"Removing the service {service.Name}: {result.Reason}");
                        removed = await AttemptOutcome.RemoveAsync(connection, service, result, cleanupClock).ConfigureAwait(false);
                        await output.AwaitAfterStopAsync(LogGrace, ServiceSpecs.StopGrace, pump).ConfigureAwait(false);
                    }
                }
                finally
                {
                    logsDone.Cancel();
                    AttemptOutcome.Observe(pump);
                    AttemptOutcome.Conclude(result, activity, reader);
                }

                if (!removed)
                {
                    removed = await AttemptOutcome.RemoveAsync(connection, service, result, cleanupClock).ConfigureAwait(false);
                }

                // The script says when the agent starts; a log cut before that line cannot, and then a running task is the best sign.
                session.AgentStarted = output.Started || output.Begun || (sawRunning && output.MissingTools == null && output.NotArrived == null);
                Restore(shipped, output, session, workspace, result, nodeLost);
                return removed;
            }
        }

        /// <summary>
        /// The agent's work, as received from the service's log (each part's checksum matched),
        /// into the checkout (or the project, in place) before anything is saved. A part that did
        /// not come back whole, or whose archive is not whole, is never restored: the task fails
        /// and says what was lost. A part that came back but could not be put in place (a full
        /// disk) stays beside the record for the sweep.
        /// </summary>
        /// <param name="nodeLost">The node went away: its loss is the reason already, and nothing more can come from it.</param>
        internal static void Restore(ShippedWorkspace content, ServiceResult output, IAttemptHost session, ServiceWorkspace delivery, ClaudeTaskResult result, bool nodeLost)
        {
            if (!session.AgentStarted)
            {
                return;
            }

            var lost = new List<string>();
            string lostWhy = null;
            string notPlaced = null;
            foreach (var target in content.ReturnedTargets)
            {
                string file = null;
                try
                {
                    file = output.Received(target);
                    content.RestoreReceived(target, file);
                    ReturnedParts.MarkRestored(delivery.PartsDirectory, target);
                    session.Transcript?.Note($"{target} came back from the service's log");
                }
                catch (InvalidDataException e)
                {
                    // Cut, damaged, never printed, or an archive that does not hold the tree: never restored.
                    if (file != null)
                    {
                        Files.TryDelete(file);
                    }

                    ReturnedParts.MarkLost(delivery.PartsDirectory, target, e.Message);
                    lost.Add(target);
                    lostWhy = lostWhy ?? e.Message;
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    notPlaced = notPlaced ?? $"the agent's work in {target} came back from the swarm service but could not be put into {session.Checkout?.CheckoutDirectory ?? session.Record.Path} ({e.Message}); it is kept in {delivery.PartsDirectory} and the next sweep puts it in place and saves it";
                }
            }

            if (notPlaced != null)
            {
                delivery.NotPlaced(notPlaced);
                result.Status = result.Status == ClaudeTaskStatus.Succeeded ? ClaudeTaskStatus.Failed : result.Status;
            }

            if (lost.Count == 0)
            {
                return;
            }

            var why = nodeLost
                ? result.Reason
                : $"The agent's work in {string.Join(" and ", lost)} did not come back from the swarm service ({lostWhy.TrimEnd('.')}); what it wrote there lived only in the service and is lost. Nothing of it was saved, and the branch keeps what was saved before.";
            session.Transcript?.Note("work NOT back: " + why);
            if (lost.Contains(ContainerPaths.Workspace))
            {
                session.Lost(why);
            }

            result.Status = result.Status == ClaudeTaskStatus.Succeeded ? ClaudeTaskStatus.Failed : result.Status;
            if (!nodeLost)
            {
                result.Reason = string.IsNullOrEmpty(result.Reason) ? why : result.Reason + " " + why;
            }
        }

        /// <summary>Status and exit code: the script's end line has the agent's code; the swarm's task state says what happened when there is none.</summary>
        private static void Outcome(ClaudeTaskResult result, ServiceResult output, TaskResponse ended, TaskPlan spec, AgentOutputReader reader, AgentActivity activity)
        {
            if (output.MissingTools != null)
            {
                result.Status = ClaudeTaskStatus.Failed;
                result.ExitCode = ServiceScript.UnpackFailed;
                result.Reason = $"The image '{spec.Image}' lacks {output.MissingTools.Replace(" ", ", ")} on its PATH. A task on a swarm carries its workspace into and out of the service with " +
                                string.Join(", ", ServiceScript.Tools) + $"; the agent did not run. Use an image that has them (Test-ClaudeEngine -Engine <manager> -Image {spec.Image} checks), or run the task without -Swarm.";
                return;
            }

            if (output.NotArrived != null)
            {
                result.Status = ClaudeTaskStatus.Failed;
                result.ExitCode = ServiceScript.UnpackFailed;
                result.Reason = "The workspace did not arrive whole in the service (" +
                                (output.NotArrived == "tar" ? "its tar failed to unpack it" : "its tar stopped before the archive's last entry") +
                                $"), so the agent did not run. Check the image's tar and gzip (Test-ClaudeEngine -Engine <manager> -Image {spec.Image}), or run the task without -Swarm.";
                return;
            }

            long? code = output.Ended.IsCompleted ? output.Ended.Result : (long?)null;
            if (code == null && output.Begun && result.Reason == null)
            {
                // The agent ended; what ended the service was the printing of its work.
                result.Status = ClaudeTaskStatus.Failed;
                result.ExitCode = ended?.Status?.ContainerStatus?.ExitCode is long died ? (int)died : (int?)null;
                result.Reason = "The service ended while it printed the agent's work back" + (result.ExitCode.HasValue ? $" (exit code {result.ExitCode})." : ".");
                return;
            }

            if (code == null && ended?.Status?.State == SwarmTaskState.Complete)
            {
                code = 0;
            }
            else if (code == null && ended?.Status?.ContainerStatus != null && ended.Status.State == SwarmTaskState.Failed)
            {
                code = ended.Status.ContainerStatus.ExitCode;
            }

            if (code == null)
            {
                result.Status = ClaudeTaskStatus.Failed;
                result.Reason = result.Reason ?? "The service's task ended without an exit code" + (ended?.Status == null ? "." : $" (state {ended.Status.State}: {ended.Status.Err ?? ended.Status.Message}).");
                return;
            }

            result.ExitCode = (int)code.Value;
            result.Status = code.Value == 0 ? ClaudeTaskStatus.Succeeded : ClaudeTaskStatus.Failed;
            if (code.Value == ServiceScript.UnpackFailed && !output.Begun)
            {
                result.Reason = "The workspace could not be unpacked in the service (exit code 125); the agent did not run.";
            }
            else if (code.Value != 0)
            {
                result.Reason = $"The agent exited with code {code.Value}.";
            }

            AttemptOutcome.ExplainCommandNotRun(result, reader.StandardOutput, reader.StandardError, spec);
            AttemptOutcome.ExplainAgentError(result, activity, spec);
        }

        /// <summary>
        /// Follows the service's one swarm task until it ends (complete, failed, rejected, shut
        /// down) or its node is lost; returns that task. Says where it was placed, and when it
        /// started running.
        /// </summary>
        private static async Task<(TaskResponse Task, bool NodeLost)> WatchAsync(DockerConnection connection, string serviceId, ITaskObserver observer, ClaudeTaskResult result, Action running, CancellationToken cancel)
        {
            string node = null;
            var seenRunning = false;
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                IList<TaskResponse> tasks;
                try
                {
                    tasks = await connection.Swarm.ListTasksAsync(new TasksListParameters
                    {
                        Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = new Dictionary<string, bool> { [serviceId] = true } },
                    }, cancel).ConfigureAwait(false);
                }
                catch (Exception e) when (!(e is OperationCanceledException))
                {
                    await Task.Delay(PollInterval, cancel).ConfigureAwait(false);
                    continue;
                }

                var task = tasks.OrderByDescending(t => t.CreatedAt).FirstOrDefault();
                var state = task?.Status?.State;
                if (task?.NodeID != null && node == null)
                {
                    node = await SwarmServices.NodeNameAsync(connection, task.NodeID, cancel).ConfigureAwait(false);
                    result.Node = node;
                    observer.Verbose($"The swarm placed the service's task on node {node}.");
                }

                if (state == SwarmTaskState.Running && !seenRunning)
                {
                    seenRunning = true;
                    running();
                    result.StartTime = DateTime.Now;
                }

                if (state == SwarmTaskState.Complete || state == SwarmTaskState.Failed || state == SwarmTaskState.Rejected ||
                    state == SwarmTaskState.Shutdown || state == SwarmTaskState.Orphaned || state == SwarmTaskState.Remove)
                {
                    if (state == SwarmTaskState.Rejected)
                    {
                        result.Reason = $"The swarm could not run the task on node {node}: {task.Status.Err}";
                    }

                    return (task, false);
                }

                if (task?.NodeID != null && state == SwarmTaskState.Running)
                {
                    var lost = await SwarmServices.NodeLostAsync(connection, task.NodeID, cancel).ConfigureAwait(false);
                    if (lost != null)
                    {
                        result.Reason = $"The node {node} running the task went away ({lost}); what the agent did there since the task began is lost with it.";
                        return (task, true);
                    }
                }

                await Task.Delay(PollInterval, cancel).ConfigureAwait(false);
            }
        }
    }
}
