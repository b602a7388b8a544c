using System;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using TaskStatus = System.Threading.Tasks.TaskStatus;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Backends;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Sandboxing;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Engine.Backends.Containers
{
    /// <summary>
    /// A task as a container on an engine: created, started, attached (its stdin held by this
    /// process for the life of the task, so the in-container watcher ends the agent when the
    /// session goes), followed until it exits or is stopped, and removed, confirmed, on every
    /// path out.
    /// </summary>
    internal sealed class ContainerBackend : ITaskBackend
    {
        // The die event follows the end of output within milliseconds; these bound a sick engine.
        private static readonly TimeSpan ExitEventGrace = TimeSpan.FromSeconds(5);
        private static readonly TimeSpan AutoRemoveGrace = TimeSpan.FromSeconds(5);
        private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(1);
        private static readonly TimeSpan ExitedBeforeAttachGrace = TimeSpan.FromSeconds(2);
        private static readonly TimeSpan EngineCheckLimit = TimeSpan.FromSeconds(2);

        public ClaudeTaskBackend Kind => ClaudeTaskBackend.Container;

        /// <summary>
        /// A local engine binds the workspace (after the engine's own store is refused as a
        /// project); an engine on another machine, or -Workspace Copy, gets it copied into volumes.
        /// Then the image must be on the engine: a missing one is refused before the branch, the
        /// checkout or the gateway exist.
        /// </summary>
        public async Task CheckAsync(DockerConnection connection, TaskPlan plan, CancellationToken cancel)
        {
            var copy = plan.Workspace == WorkspaceTransfer.Copy || (plan.Workspace == WorkspaceTransfer.Auto && !connection.IsOnThisMachine);
            plan.Workspace = copy ? WorkspaceTransfer.Copy : WorkspaceTransfer.Mount;
            if (!copy)
            {
                // Only a bind mount can expose the engine's own store; a copy names no host path.
                MountGuard.CheckEngineDataRoot(plan.ProjectPath, await connection.DataRootAsync(cancel).ConfigureAwait(false));
            }

            try
            {
                await connection.Images.InspectImageAsync(plan.Image, cancel).ConfigureAwait(false);
            }
            catch (DockerImageNotFoundException)
            {
                throw EngineErrors.ImageMissing(plan.Image, connection);
            }
            catch (Exception e) when (!(e is OperationCanceledException) && !(e is OrchestratorException))
            {
                throw connection.Translate(e);
            }

            if (plan.Repository != null)
            {
                plan.Checkout = await ChooseCheckoutAsync(connection, plan, copy, cancel).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// Overlay where the engine mounts one over this machine's files (tried once per engine and
        /// session), else Full; -Checkout Overlay where it cannot is refused before anything exists.
        /// </summary>
        private static async Task<CheckoutMethod> ChooseCheckoutAsync(DockerConnection connection, TaskPlan plan, bool copy, CancellationToken cancel)
        {
            if (plan.Checkout == CheckoutMethod.Full)
            {
                return CheckoutMethod.Full;
            }

            var problem = copy
                ? "the workspace is copied to the engine (-Workspace Copy, or an engine elsewhere), and an overlay lies on this machine's files"
                : await OverlayMounts.ProblemAsync(connection, plan.Image, plan.Sandbox.User, cancel).ConfigureAwait(false);
            if (problem == null)
            {
                return CheckoutMethod.Overlay;
            }

            if (plan.Checkout == CheckoutMethod.Overlay)
            {
                throw new OrchestratorException(ErrorIds.CheckoutUnavailable, ErrorCategory.InvalidOperation,
                    $"-Checkout Overlay cannot be used here: {problem}. Use -Checkout Full (every file written into the task's checkout) or Auto.", plan.ProjectPath);
            }

            plan.CheckoutNote = problem;
            return CheckoutMethod.Full;
        }

        public string Describe(DockerConnection connection, TaskPlan plan)
        {
            var copy = plan.Workspace == WorkspaceTransfer.Copy || (plan.Workspace == WorkspaceTransfer.Auto && !connection.IsOnThisMachine);
            return $"a container from image '{plan.Image}' on {connection.Endpoint}, " + (copy
                ? $"the workspace copied into the volumes {ShippedWorkspace.VolumeName(plan.TaskId, "workspace")} and {ShippedWorkspace.VolumeName(plan.TaskId, "agent")}"
                : "the workspace bind-mounted at " + ContainerPaths.Workspace);
        }

        public IWorkspaceDelivery Workspace(DockerConnection connection, TaskPlan plan, IAttemptHost task, string descriptionFile) =>
            plan.Workspace == WorkspaceTransfer.Copy
                ? ShippedWorkspace.Plan(plan, task.Checkout, task.AgentStateDirectory, descriptionFile, note => task.Transcript?.Note(note))
                : task.Checkout != null && task.Checkout.IsLayer
                    ? new OverlayWorkspace(plan, task.Checkout, note => task.Transcript?.Note(note))
                    : (IWorkspaceDelivery)new BoundWorkspace(task.Checkout?.CheckoutDirectory ?? plan.ProjectPath);

        public IEngineObjects RunsIn => ContainerObjects.Instance;

        public bool JoinsGateway => true;

        /// <summary>A copy's volumes, if the engine still has them, brought back; a copy whose agent never ran holds nothing to bring back (and may be half-made): its volumes are only leftovers.</summary>
        public async Task<Recovery> RecoverAsync(DockerConnection connection, ClaudeTask record, CancellationToken cancel) =>
            record.Workspace == WorkspaceTransfer.Copy && record.AgentLaunched != false
                ? new Recovery(null, await ShippedWorkspace.RecoverAsync(connection, record, cancel).ConfigureAwait(false))
                : Recovery.Done;

        /// <summary>Runs the container; returns whether it is confirmed gone.</summary>
        public async Task<bool> RunAsync(Attempt attempt, CancellationToken cancel)
        {
            var (connection, spec, session, descriptionFile, observer, result, activity) =
                (attempt.Connection, attempt.Plan, attempt.Task, attempt.DescriptionFile, attempt.Observer, attempt.Result, attempt.Activity);
            var name = ContainerNames.NewName();
            result.ContainerName = name;
            session.Record.ContainerName = name;

            cancel.ThrowIfCancellationRequested();
            // Normally released once attached; at the end when the launch failed before that.
            using (var launch = await connection.EnterLaunchAsync(cancel).ConfigureAwait(false))
            {
                observer.Verbose($"Creating container {name} from image '{spec.Image}' with {attempt.Workspace.Source} at {ContainerPaths.Workspace}.");
                var creating = ContainerTracker.BeginCreate(name, spec.RunspaceId);
                TrackedContainer tracked = null;
                try
                {
                    session.MarkLaunched();
                    HaltPoint.Reached(HaltPoint.Steps.Launched);
                    var created = await CreateAsync(connection, spec, name, descriptionFile, session, attempt.Workspace, attempt.Egress).ConfigureAwait(false);
                    tracked = new TrackedContainer(created, name, spec.TaskId, spec.ProjectName, spec.ProjectPath, spec.RunspaceId, connection);
                }
                finally
                {
                    ContainerTracker.EndCreate(name, creating, tracked);
                }

                var id = tracked.Id;
                observer.ContainerCreated(id, name);

                var reader = new AgentOutputReader(observer.AgentOutput, session.Transcript, new ClaudeEventStream(activity));
                // Restarted when the task ends: the journal reports how long the container outlived it.
                var cleanupClock = Stopwatch.StartNew();
                var gone = false;
                using (var timeout = new CancellationTokenSource())
                using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel, tracked.StopRequested, timeout.Token, spec.Budget?.StopRequested ?? CancellationToken.None))
                using (var lifecycle = ContainerLifecycleWatch.Start(connection, id))
                {
                    try
                    {
                        // Started before attaching: from the moment it runs, the container removes
                        // itself if this process dies (the watcher's deadline, then its EOF check), so
                        // only the create-to-start gap is left for the orphan sweep.
                        if (attempt.Egress != null)
                        {
                            await attempt.Egress.JoinAsync(id, stop.Token).ConfigureAwait(false);
                        }

                        observer.Verbose($"Starting {name}.");
                        await StartAsync(connection, id, name, stop.Token).ConfigureAwait(false);
                        if (attempt.Egress != null)
                        {
                            // The watcher holds the agent until the announcement below: the gateway knows the task first.
                            await attempt.Egress.AdmitAsync(id, stop.Token).ConfigureAwait(false);
                        }

                        session.AgentStarted = true;
                        result.StartTime = DateTime.Now;
                        observer.Verbose($"Attaching to {name} (stdin held open for the life of the task).");
                        using (var stream = await AttachAsync(connection, id, name, lifecycle, stop.Token).ConfigureAwait(false))
                        {
                            launch.Dispose();
                            // The watcher runs the agent only after this line, so no output precedes the attach.
                            await stream.WriteAsync(AgentWatcher.Announcement, 0, AgentWatcher.Announcement.Length, stop.Token).ConfigureAwait(false);
                            if (spec.Timeout.HasValue)
                            {
                                timeout.CancelAfter(spec.Timeout.Value);
                            }

                            observer.AgentStarted(activity);
                            var pump = reader.PumpAsync(stream, CancellationToken.None);
                            var stopped = Task.Delay(Timeout.Infinite, stop.Token);
                            var first = await Task.WhenAny(pump, stopped, lifecycle.Exited).ConfigureAwait(false);
                            if (first == lifecycle.Exited)
                            {
                                // The agent ended; its output stream ends with it, except an attach
                                // that raced a container dying at once, which the engine may never close.
                                await AttemptOutcome.CompletesWithin(pump, DrainGrace).ConfigureAwait(false);
                                first = pump.IsCompleted ? pump : lifecycle.Exited;
                                if (first != pump)
                                {
                                    AttemptOutcome.Observe(pump);
                                }
                            }

                            cleanupClock.Restart();
                            if (first == pump || first == lifecycle.Exited)
                            {
                                if (first == lifecycle.Exited || pump.Status == TaskStatus.RanToCompletion)
                                {
                                    await CollectExitAsync(connection, id, lifecycle, result).ConfigureAwait(false);
                                    AttemptOutcome.ExplainCommandNotRun(result, reader.StandardOutput, reader.StandardError, spec);
                                    AttemptOutcome.ExplainAgentError(result, activity, spec);
                                    if (result.Status != ClaudeTaskStatus.Succeeded)
                                    {
                                        await ExplainEngineLossAsync(connection, result).ConfigureAwait(false);
                                    }

                                    // An event stream that ended means the engine went away: no destroy event will follow.
                                    await Task.WhenAny(lifecycle.Destroyed, lifecycle.Monitor, Task.Delay(AutoRemoveGrace)).ConfigureAwait(false);
                                    gone = lifecycle.Destroyed.IsCompleted;
                                    if (gone)
                                    {
                                        // The engine's auto-remove did it.
                                        ContainerTracker.Settle(new RemovalOutcome(id, name, true, true, cleanupClock.Elapsed, null), AttemptOutcome.ReasonFor(result));
                                    }
                                }
                                else
                                {
                                    result.Status = ClaudeTaskStatus.Failed;
                                    result.Reason = "Lost the connection to the agent: " + connection.Translate(pump.Exception.GetBaseException()).Message;
                                }
                            }
                            else
                            {
                                AttemptOutcome.MarkStopped(result, timeout, cancel, spec);
                                observer.Verbose($"Removing {name}: {result.Reason}");
                                gone = await AttemptOutcome.RemoveAsync(connection, tracked, result, cleanupClock).ConfigureAwait(false);
                                // What the agent printed before it died still belongs in the result.
                                await AttemptOutcome.CompletesWithin(pump, DrainGrace).ConfigureAwait(false);
                                AttemptOutcome.Observe(pump);
                            }
                        }
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        AttemptOutcome.MarkStopped(result, timeout, cancel, spec);
                    }
                    finally
                    {
                        if (!gone)
                        {
                            gone = await AttemptOutcome.RemoveAsync(connection, tracked, result, cleanupClock).ConfigureAwait(false);
                        }

                        observer.Verbose(gone ? $"Container {name} removed." : $"Container {name} could not be removed; it stays tracked.");
                        // A signal, crash or module removal stopped it: the saved work is journaled with that reason.
                        session.StopReason = tracked.StopReason;
                    }
                }

                AttemptOutcome.Conclude(result, activity, reader);
                return gone;
            }
        }

        private static async Task<string> CreateAsync(DockerConnection connection, TaskPlan spec, string name, string descriptionFile, IAttemptHost session, IWorkspaceDelivery workspace, TaskEgress egress)
        {
            var checkout = session.Checkout;
            try
            {
                // Not cancellable: a create abandoned mid-flight could leave a container whose id we never learn.
                var created = await connection.Containers
                    .CreateContainerAsync(TaskContainerSpec.Build(spec, name, descriptionFile, checkout, session.AgentStateDirectory, workspace, egress), CancellationToken.None).ConfigureAwait(false);
                return created.ID;
            }
            catch (DockerImageNotFoundException e) when (EngineErrors.IsImageMissing(e))
            {
                throw EngineErrors.ImageMissing(spec.Image, connection);
            }
            catch (DockerApiException e) when (EngineErrors.InitMissing(EngineErrors.ApiMessage(e)))
            {
                throw new OrchestratorException(ErrorIds.EngineInitMissing, ErrorCategory.NotInstalled,
                    $"The engine at {connection.Endpoint} has no init binary ({EngineErrors.ApiMessage(e)}). The module runs one in front of the agent so the container's watcher can end it. " +
                    EngineErrors.InitMissingFix(connection.Facts?.Kind),
                    spec.ProjectPath, e);
            }
            catch (DockerApiException e)
            {
                throw new OrchestratorException(ErrorIds.EngineError, ErrorCategory.InvalidOperation,
                    $"The Docker engine refused to create the task container: {EngineErrors.ApiMessage(e)}", spec.ProjectPath, e);
            }
            catch (Exception e) when (!(e is OrchestratorException))
            {
                throw connection.Translate(e);
            }
        }

        private static async Task StartAsync(DockerConnection connection, string id, string name, CancellationToken cancel)
        {
            try
            {
                await connection.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancel).ConfigureAwait(false);
            }
            catch (DockerApiException e) when (EngineErrors.InitMissing(EngineErrors.ApiMessage(e)))
            {
                throw new OrchestratorException(ErrorIds.EngineInitMissing, ErrorCategory.NotInstalled,
                    $"The engine could not start {name}: it has no init binary ({EngineErrors.ApiMessage(e)}). " + EngineErrors.InitMissingFix(connection.Facts?.Kind), name, e);
            }
            catch (DockerApiException e)
            {
                var reason = EngineErrors.ApiMessage(e);
                throw new OrchestratorException(ErrorIds.ContainerStartFailed, ErrorCategory.InvalidOperation,
                    $"The Docker engine could not start the container {name}: {reason}{EngineErrors.StartHint(reason)}", name, e);
            }
        }

        /// <summary>
        /// The watcher holds every working container until the module attaches, so a container
        /// that is gone by then never ran its shell: with the engine's init process started in
        /// front of it, that is how a missing /bin/sh shows (the init's exec fails, code 127).
        /// </summary>
        private static async Task<MultiplexedStream> AttachAsync(DockerConnection connection, string id, string name, ContainerLifecycleWatch lifecycle, CancellationToken cancel)
        {
            var attach = new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true };
            try
            {
                return await connection.Containers.AttachContainerAsync(id, attach, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException) && !(e is OrchestratorException))
            {
                if (await AttemptOutcome.CompletesWithin(lifecycle.Exited, ExitedBeforeAttachGrace).ConfigureAwait(false))
                {
                    var code = lifecycle.Exited.Result;
                    var hint = code == 126 || code == 127
                        ? ": " + ContainerPaths.ShellNeeded
                        : ".";
                    throw new OrchestratorException(ErrorIds.ContainerStartFailed, ErrorCategory.InvalidOperation,
                        $"The container {name} exited with code {code} as soon as it started, before the module could attach to it{hint}", name, e);
                }

                throw connection.Translate(e);
            }
        }

        private static async Task CollectExitAsync(DockerConnection connection, string id, ContainerLifecycleWatch lifecycle, ClaudeTaskResult result)
        {
            long? code = null;
            if (await AttemptOutcome.CompletesWithin(lifecycle.Exited, ExitEventGrace).ConfigureAwait(false))
            {
                code = lifecycle.Exited.Result;
            }
            else
            {
                // No die event: ask directly, the container may still be there.
                try
                {
                    var state = (await connection.Containers.InspectContainerAsync(id, CancellationToken.None).ConfigureAwait(false)).State;
                    if (state != null && !state.Running)
                    {
                        code = state.ExitCode;
                    }
                }
                catch (Exception)
                {
                }
            }

            if (code == null)
            {
                result.Status = ClaudeTaskStatus.Failed;
                result.Reason = "The connection to the agent ended before it reported an exit code (was the Docker engine restarted?).";
                return;
            }

            result.ExitCode = (int)code.Value;
            result.Status = code.Value == 0 ? ClaudeTaskStatus.Succeeded : ClaudeTaskStatus.Failed;
            if (code.Value != 0)
            {
                result.Reason = $"The agent exited with code {code.Value}.";
            }
        }

        /// <summary>
        /// A stopping engine kills its containers (exit 143) after it stops answering requests: a
        /// failure with the engine gone is the engine's doing, and the reason must say so.
        /// </summary>
        private static async Task ExplainEngineLossAsync(DockerConnection connection, ClaudeTaskResult result)
        {
            var problem = await connection.ProblemAsync(EngineCheckLimit).ConfigureAwait(false);
            if (problem != null)
            {
                result.Status = ClaudeTaskStatus.Failed;
                result.Reason = $"{result.Reason} The Docker engine went away during the task (stopped or restarted?): {problem}".Trim();
            }
        }
    }
}
