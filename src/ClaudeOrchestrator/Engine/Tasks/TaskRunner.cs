using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using TaskStatus = System.Threading.Tasks.TaskStatus;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// Runs one task from container creation to confirmed removal. Every path out of RunAsync,
    /// including exceptions and cancellation, passes through the removal in the finally block.
    /// </summary>
    internal static class TaskRunner
    {
        public const string WorkspacePath = "/workspace";

        // The die event follows the end of output within milliseconds; these bound a sick engine.
        private static readonly TimeSpan ExitEventGrace = TimeSpan.FromSeconds(5);
        private static readonly TimeSpan AutoRemoveGrace = TimeSpan.FromSeconds(5);
        private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(1);
        private static readonly TimeSpan ExitedBeforeAttachGrace = TimeSpan.FromSeconds(2);
        private static readonly TimeSpan EngineCheckLimit = TimeSpan.FromSeconds(2);

        // How long a task waits for a flush that is removing its container to say how that went.
        private static readonly TimeSpan SettleWait = TimeSpan.FromMinutes(2);

        public static async Task<ClaudeTaskResult> RunAsync(TaskSpec spec, ITaskObserver observer, CancellationToken cancel)
        {
            var connection = await DockerConnection.ReachAsync(spec.Engine, cancel).ConfigureAwait(false);
            observer.Debug(connection.Description);
            spec.Sandbox.AdaptTo(connection.Facts);
            spec.EngineEndpoint = connection.Endpoint;
            if (spec.Swarm)
            {
                ServiceRunner.Check(connection, spec);
            }

            // A service's workspace travels in configs, not volumes: it is copied, but per attempt, by the service runner.
            var copy = !spec.Swarm && (spec.Workspace == WorkspaceTransfer.Copy || (spec.Workspace == WorkspaceTransfer.Auto && !connection.IsOnThisMachine));
            spec.Workspace = copy || spec.Swarm ? WorkspaceTransfer.Copy : WorkspaceTransfer.Mount;
            if (!copy && !spec.Swarm)
            {
                // Only a bind mount can expose the engine's own store; a copy names no host path.
                MountGuard.CheckEngineDataRoot(spec.ProjectPath, await connection.DataRootAsync(cancel).ConfigureAwait(false));
            }

            if (spec.Repository != null)
            {
                observer.Verbose($"Task {spec.TaskId}: making its record, the branch '{spec.Branch}' and a private checkout.");
            }

            var session = TaskSession.Begin(spec);
            if (session.Unrecorded != null)
            {
                observer.Verbose($"The task runs without record or transcript: the state directory cannot be written ({session.Unrecorded}).");
            }
            if (session.Checkout != null)
            {
                observer.Verbose($"Task {spec.TaskId}: branch '{spec.Branch}' from {spec.Repository.HeadCommit.Substring(0, 12)} in {spec.Repository.TopLevel}; private checkout {session.Checkout.CheckoutDirectory}.");
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

                if (copy)
                {
                    // Once per task, before the first attempt: a retry continues in the same volumes, as it would in the same checkout.
                    var shipped = ShippedWorkspace.Plan(spec, session.Checkout, session.AgentStateDirectory, descriptionFile);
                    observer.Verbose((connection.IsOnThisMachine ? "-Workspace Copy" : $"The engine at {connection.Endpoint} is not on this machine") +
                                     $": copying the workspace into {shipped.Describe()}.");
                    await shipped.ShipAsync(connection, spec, cancel).ConfigureAwait(false);
                    session.Copied(shipped, connection, spec);
                }

                for (var attempt = 1; ; attempt++)
                {
                    result.Attempts = attempt;
                    var activity = new AgentActivity();
                    // The seam between the two ways a task runs: a container on an engine, or a one-off service on a swarm.
                    containerGone = spec.Swarm
                        ? await ServiceRunner.RunAsync(connection, spec, session, descriptionFile, observer, result, activity, cancel).ConfigureAwait(false)
                        : await RunContainerAsync(connection, spec, session, descriptionFile, observer, result, activity, cancel).ConfigureAwait(false);
                    if (!AgentReport.IsRetryable(result.ErrorKind) || attempt >= spec.MaxAttempts || !containerGone)
                    {
                        break;
                    }

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
                // A container that could not be removed may still be writing into the checkout.
                containerGone = containerGone && !ContainerTracker.Snapshot().Any(c => c.TaskId == spec.TaskId);
                if (result.EndTime == default(DateTime))
                {
                    result.EndTime = DateTime.Now;
                }

                // After the container is gone, before anyone sees the result: the work goes into the branch.
                HaltPoint.Reached(HaltPoint.Steps.AgentEnded);
                var save = await session.FinishAsync(result, containerGone, session.StopReason ?? ReasonFor(result)).ConfigureAwait(false);
                ApplySave(result, session, save, observer);
            }
        }

        /// <summary>The wait before retry number <paramref name="attempt"/>: doubling from the first, a fifth either way at random, never over the cap.</summary>
        internal static TimeSpan RetryDelay(TimeSpan first, int attempt)
        {
            var doubled = first.TotalMilliseconds * Math.Pow(2, attempt - 1);
            var jitter = 0.8 + 0.4 * new Random(Guid.NewGuid().GetHashCode()).NextDouble();
            return TimeSpan.FromMilliseconds(Math.Min(doubled * jitter, TaskDefaults.MaxRetryDelay.TotalMilliseconds));
        }

        private static ClaudeTaskResult NewResult(TaskSpec spec, TaskSession session) => new ClaudeTaskResult
        {
            ResumedFrom = spec.Resumes?.TaskId,
            TaskId = spec.TaskId,
            Project = spec.ProjectName,
            Path = spec.ProjectPath,
            Image = spec.Image,
            Engine = spec.EngineEndpoint,
            Workspace = spec.Workspace,
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

        /// <summary>Runs the container; returns whether it is confirmed gone.</summary>
        private static async Task<bool> RunContainerAsync(DockerConnection connection, TaskSpec spec, TaskSession session, string descriptionFile, ITaskObserver observer, ClaudeTaskResult result, AgentActivity activity, CancellationToken cancel)
        {
            var name = ContainerNames.NewName();
            result.ContainerName = name;
            session.Record.ContainerName = name;

            cancel.ThrowIfCancellationRequested();
            // Normally released once attached; at the end when the launch failed before that.
            using (var launch = await connection.EnterLaunchAsync(cancel).ConfigureAwait(false))
            {
                observer.Verbose($"Creating container {name} from image '{spec.Image}' with {MountSource(spec, session)} at {WorkspacePath}.");
                var creating = ContainerTracker.BeginCreate(name, spec.RunspaceId);
                TrackedContainer tracked = null;
                try
                {
                    session.MarkLaunched();
                HaltPoint.Reached(HaltPoint.Steps.Launched);
                var created = await CreateAsync(connection, spec, name, descriptionFile, session).ConfigureAwait(false);
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
                using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel, tracked.StopRequested, timeout.Token))
                using (var lifecycle = ContainerLifecycleWatch.Start(connection, id))
                {
                    try
                    {
                        // Started before attaching: from the moment it runs, the container removes
                        // itself if this process dies (the watcher's deadline, then its EOF check), so
                        // only the create-to-start gap is left for the orphan sweep.
                        observer.Verbose($"Starting {name}.");
                        await StartAsync(connection, id, name, stop.Token).ConfigureAwait(false);
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
                                await CompletesWithin(pump, DrainGrace).ConfigureAwait(false);
                                first = pump.IsCompleted ? pump : lifecycle.Exited;
                                if (first != pump)
                                {
                                    Observe(pump);
                                }
                            }

                            cleanupClock.Restart();
                            if (first == pump || first == lifecycle.Exited)
                            {
                                if (first == lifecycle.Exited || pump.Status == TaskStatus.RanToCompletion)
                                {
                                    await CollectExitAsync(connection, id, lifecycle, result).ConfigureAwait(false);
                                    ExplainCommandNotRun(result, reader.StandardOutput, reader.StandardError, spec);
                                    ExplainAgentError(result, activity, spec);
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
                                        ContainerTracker.Settle(new RemovalOutcome(id, name, true, true, cleanupClock.Elapsed, null), ReasonFor(result));
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
                                MarkStopped(result, timeout, cancel, spec);
                                observer.Verbose($"Removing {name}: {result.Reason}");
                                gone = await RemoveAsync(connection, tracked, result, cleanupClock).ConfigureAwait(false);
                                // What the agent printed before it died still belongs in the result.
                                await CompletesWithin(pump, DrainGrace).ConfigureAwait(false);
                                Observe(pump);
                            }
                        }
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        MarkStopped(result, timeout, cancel, spec);
                    }
                    finally
                    {
                        if (!gone)
                        {
                            gone = await RemoveAsync(connection, tracked, result, cleanupClock).ConfigureAwait(false);
                        }

                        observer.Verbose(gone ? $"Container {name} removed." : $"Container {name} could not be removed; it stays tracked.");
                        // A signal, crash or module removal stopped it: the saved work is journaled with that reason.
                        session.StopReason = tracked.StopReason;
                    }
                }

                Conclude(result, activity, reader);
                return gone;
            }
        }

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

        private static string MountSource(TaskSpec spec, TaskSession session) =>
            session?.Shipped != null ? "the volume " + ShippedWorkspace.VolumeName(spec.TaskId, "workspace") : session?.Checkout?.CheckoutDirectory ?? spec.ProjectPath;

        /// <param name="descriptionFile">Host path of the description when it goes on the agent's stdin (too long for an argument); null otherwise.</param>
        /// <param name="checkout">The task's private checkout, mounted instead of the project; null to mount the project in place.</param>
        /// <param name="agentState">Host directory kept as the agent's own state (its sessions, for -Resume); null for none.</param>
        /// <param name="shipped">The volumes the workspace was copied into, mounted instead of every bind mount; null to bind.</param>
        internal static CreateContainerParameters BuildCreateParameters(TaskSpec spec, string name, string descriptionFile = null, TaskCheckout checkout = null, string agentState = null, ShippedWorkspace shipped = null)
        {
            var argv = new List<string>(spec.AgentCommand);
            if (descriptionFile == null)
            {
                argv.Add(spec.Description);
            }

            var environment = spec.Environment.Select(pair => pair.Key + "=" + pair.Value).ToList();
            var host = new HostConfig
            {
                Init = true,
                AutoRemove = true,
                // The project (or its checkout) is the only host path the agent sees, and the only writable one.
                Mounts = new List<Mount>
                {
                    new Mount { Type = "bind", Source = checkout?.CheckoutDirectory ?? spec.ProjectPath, Target = WorkspacePath },
                },
            };
            var workingDirectory = WorkspacePath;
            if (checkout != null)
            {
                // The repository's objects, read-only: the checkout's alternates point here, so git
                // works inside the container and no object is copied.
                host.Mounts.Add(new Mount { Type = "bind", Source = checkout.ObjectsDirectory, Target = TaskCheckout.ContainerObjectsPath, ReadOnly = true });
                if (!string.IsNullOrEmpty(spec.Repository?.Prefix))
                {
                    workingDirectory = WorkspacePath + "/" + spec.Repository.Prefix;
                }

                if (!environment.Any(e => e.StartsWith("GIT_CONFIG_COUNT=", StringComparison.Ordinal)))
                {
                    // Git refuses a repository owned by another uid (a -User other than the caller's).
                    environment.Add("GIT_CONFIG_COUNT=1");
                    environment.Add("GIT_CONFIG_KEY_0=safe.directory");
                    environment.Add("GIT_CONFIG_VALUE_0=" + WorkspacePath);
                }
            }

            if (descriptionFile != null)
            {
                host.Mounts.Add(new Mount { Type = "bind", Source = descriptionFile, Target = DescriptionDelivery.ContainerPath, ReadOnly = true });
            }

            if (agentState != null)
            {
                // Claude Code keeps its sessions here; on the tmpfs home they would vanish with the
                // container, and -Resume needs them.
                host.Mounts.Add(new Mount { Type = "bind", Source = agentState, Target = Sandbox.AgentStatePath });
                if (!environment.Any(e => e.StartsWith(Sandbox.AgentStateVariable + "=", StringComparison.Ordinal)))
                {
                    environment.Add(Sandbox.AgentStateVariable + "=" + Sandbox.AgentStatePath);
                }
            }

            spec.Sandbox.Apply(host, environment);
            if (shipped != null)
            {
                // The same targets, from volumes on the engine's machine: no path of this one is named.
                host.Mounts = shipped.Mounts();
            }

            return new CreateContainerParameters
            {
                Name = name,
                Image = spec.Image,
                // Both set: an ENTRYPOINT in the image must not swallow the watcher.
                Entrypoint = new List<string> { AgentWatcher.Shell },
                Cmd = AgentWatcher.Arguments(argv, descriptionFile == null ? null : DescriptionDelivery.ContainerPath),
                WorkingDir = workingDirectory,
                User = spec.Sandbox.User,
                Env = environment,
                Labels = BuildLabels(spec),
                AttachStdin = true,
                AttachStdout = true,
                AttachStderr = true,
                OpenStdin = true,
                StdinOnce = true,
                Tty = false,
                HostConfig = host,
            };
        }

        internal static Dictionary<string, string> BuildLabels(TaskSpec spec) => ContainerLabels.For(spec.TaskId, spec.ProjectName, spec.ProjectPath);

        private static async Task<string> CreateAsync(DockerConnection connection, TaskSpec spec, string name, string descriptionFile, TaskSession session)
        {
            var checkout = session.Checkout;
            try
            {
                // Not cancellable: a create abandoned mid-flight could leave a container whose id we never learn.
                var created = await connection.Client.Containers
                    .CreateContainerAsync(BuildCreateParameters(spec, name, descriptionFile, checkout, session.AgentStateDirectory, session.Shipped), CancellationToken.None).ConfigureAwait(false);
                return created.ID;
            }
            catch (DockerImageNotFoundException e) when (IsImageMissing(e))
            {
                throw ImageMissing(spec, connection);
            }
            catch (DockerApiException e) when (InitMissing(ApiMessage(e)))
            {
                throw new OrchestratorException(ErrorIds.EngineInitMissing, ErrorCategory.NotInstalled,
                    $"The engine at {connection.Endpoint} has no init binary ({ApiMessage(e)}). The module runs one in front of the agent so the container's watcher can end it. " +
                    InitMissingFix(connection.Facts?.Kind),
                    spec.ProjectPath, e);
            }
            catch (DockerApiException e)
            {
                throw new OrchestratorException(ErrorIds.EngineError, ErrorCategory.InvalidOperation,
                    $"The Docker engine refused to create the task container: {ApiMessage(e)}", spec.ProjectPath, e);
            }
            catch (Exception e) when (!(e is OrchestratorException))
            {
                throw connection.Translate(e);
            }
        }

        /// <summary>A create refused because the image is not there (not a missing volume or network).</summary>
        internal static bool IsImageMissing(DockerImageNotFoundException e) => ApiMessage(e).IndexOf("image", StringComparison.OrdinalIgnoreCase) >= 0;

        internal static OrchestratorException ImageMissing(TaskSpec spec, DockerConnection connection) =>
            new OrchestratorException(ErrorIds.ImageNotFound, ErrorCategory.ObjectNotFound,
                $"The image '{spec.Image}' is not present on the Docker engine at {connection.Endpoint}. " +
                "Build it from the module's docker/ folder (docker build -t claude-orchestrator-agent docker/), " +
                "or name an existing image with -Image or $env:CLAUDE_ORCHESTRATOR_IMAGE.",
                spec.Image);

        /// <summary>Podman: "container-init binary not found on the host"; Docker: "exec: \"docker-init\": executable file not found".</summary>
        internal static bool InitMissing(string reason) =>
            reason != null &&
            (reason.IndexOf("container-init binary not found", StringComparison.OrdinalIgnoreCase) >= 0 ||
             reason.IndexOf("docker-init", StringComparison.OrdinalIgnoreCase) >= 0 && reason.IndexOf("not found", StringComparison.OrdinalIgnoreCase) >= 0);

        /// <summary>What to install when <see cref="InitMissing"/>: for the engine's kind, or for both when it is not known.</summary>
        internal static string InitMissingFix(EngineKind? kind)
        {
            const string podman = "catatonit on the engine's host (apt install catatonit, dnf install catatonit) or set init_path in containers.conf";
            const string docker = "docker-init (it ships with the docker package) or set init-path in daemon.json";
            switch (kind)
            {
                case EngineKind.Podman:
                    return "Install " + podman + ".";
                case EngineKind.Docker:
                    return "Install " + docker + ".";
                default:
                    return "Podman: install " + podman + "; Docker: install " + docker + ".";
            }
        }

        private static async Task StartAsync(DockerConnection connection, string id, string name, CancellationToken cancel)
        {
            try
            {
                await connection.Client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancel).ConfigureAwait(false);
            }
            catch (DockerApiException e) when (InitMissing(ApiMessage(e)))
            {
                throw new OrchestratorException(ErrorIds.EngineInitMissing, ErrorCategory.NotInstalled,
                    $"The engine could not start {name}: it has no init binary ({ApiMessage(e)}). " + InitMissingFix(connection.Facts?.Kind), name, e);
            }
            catch (DockerApiException e)
            {
                var reason = ApiMessage(e);
                throw new OrchestratorException(ErrorIds.ContainerStartFailed, ErrorCategory.InvalidOperation,
                    $"The Docker engine could not start the container {name}: {reason}{StartHint(reason)}", name, e);
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
                return await connection.Client.Containers.AttachContainerAsync(id, attach, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException) && !(e is OrchestratorException))
            {
                if (await CompletesWithin(lifecycle.Exited, ExitedBeforeAttachGrace).ConfigureAwait(false))
                {
                    var code = lifecycle.Exited.Result;
                    var hint = code == 126 || code == 127
                        ? ": " + AgentWatcher.ShellNeeded
                        : ".";
                    throw new OrchestratorException(ErrorIds.ContainerStartFailed, ErrorCategory.InvalidOperation,
                        $"The container {name} exited with code {code} as soon as it started, before the module could attach to it{hint}", name, e);
                }

                throw connection.Translate(e);
            }
        }

        /// <summary>
        /// The one start failure the image's author can fix: no shell for the watcher. Any other
        /// reason (a missing network, a device, a runtime error) is the engine's own to explain.
        /// </summary>
        internal static string StartHint(string reason) =>
            reason != null && reason.IndexOf(AgentWatcher.Shell, StringComparison.Ordinal) >= 0 &&
            (reason.IndexOf("no such file", StringComparison.OrdinalIgnoreCase) >= 0 ||
             reason.IndexOf("not found", StringComparison.OrdinalIgnoreCase) >= 0)
                ? $" ({AgentWatcher.ShellNeeded})"
                : string.Empty;

        private static async Task CollectExitAsync(DockerConnection connection, string id, ContainerLifecycleWatch lifecycle, ClaudeTaskResult result)
        {
            long? code = null;
            if (await CompletesWithin(lifecycle.Exited, ExitEventGrace).ConfigureAwait(false))
            {
                code = lifecycle.Exited.Result;
            }
            else
            {
                // No die event: ask directly, the container may still be there.
                try
                {
                    var state = (await connection.Client.Containers.InspectContainerAsync(id).ConfigureAwait(false)).State;
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
        /// Exit codes 126 and 127 mean a program could not be run at all: the watcher's shell
        /// (when the engine's init reports it) or the agent command. Say which, and what to fix.
        /// </summary>
        internal static void ExplainCommandNotRun(ClaudeTaskResult result, string standardOutput, string standardError, TaskSpec spec)
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
                      (standardError ?? string.Empty).IndexOf(AgentWatcher.Shell, StringComparison.Ordinal) >= 0))
            {
                // Nothing ran, or the engine's init said it could not run the watcher's shell.
                result.Reason += $" ({AgentWatcher.ShellNeeded}).";
            }
        }

        /// <summary>
        /// The agent's own account of a failure (auth, rate limit, limits reached) replaces the bare
        /// exit code; a result event that reports an error fails the task whatever the exit code.
        /// </summary>
        internal static void ExplainAgentError(ClaudeTaskResult result, AgentActivity activity, TaskSpec spec)
        {
            var kind = activity.ErrorKind;
            if (kind == null)
            {
                return;
            }

            var code = result.ExitCode.HasValue ? $" (exit code {result.ExitCode})" : string.Empty;
            result.Status = ClaudeTaskStatus.Failed;
            result.Reason = AgentReport.Explain(kind.Value, activity.ErrorText, spec) + code;
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

        /// <param name="what">What was removed from under the task when nobody here stopped it: "container" or "service".</param>
        internal static void MarkStopped(ClaudeTaskResult result, CancellationTokenSource timeout, CancellationToken cancel, TaskSpec spec, string what = "container")
        {
            if (timeout.IsCancellationRequested && !cancel.IsCancellationRequested)
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

                var why = $"The {tracked.Kind} {name} could not be removed ({outcome.Error?.Message}); it stays tracked, and Remove-ClaudeContainer removes it once the engine answers again.";
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

        private static async Task<bool> CompletesWithin(Task task, TimeSpan limit)
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

        internal static string ApiMessage(DockerApiException e)
        {
            var body = e.ResponseBody;
            if (string.IsNullOrWhiteSpace(body))
            {
                return e.StatusCode.ToString();
            }

            try
            {
                using (var doc = System.Text.Json.JsonDocument.Parse(body))
                {
                    if (doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object &&
                        doc.RootElement.TryGetProperty("message", out var message))
                    {
                        return message.GetString();
                    }
                }
            }
            catch (System.Text.Json.JsonException)
            {
            }

            return body.Trim();
        }
    }
}
