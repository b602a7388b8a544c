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

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// One attempt of a task as a swarm one-off service, where <see cref="TaskRunner"/> runs a
    /// container: one replica, no restart, the module's labels and the sandbox as services allow
    /// it. The workspace goes in configs and comes back in the service's log (see
    /// <see cref="ServiceScript"/>); the exit code comes from the swarm task's state. Every path
    /// out removes the service (and so its container, on whichever node) and then its configs.
    /// </summary>
    internal static class ServiceRunner
    {
        /// <summary>A config holds at most 500 KB; the workspace is cut below that.</summary>
        internal const int ConfigChunk = 480 * 1024;

        /// <summary>How long a stopped service's container has to print the agent's work before the node's engine kills it.</summary>
        internal static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(30);

        private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

        // After the swarm says the task ended, its last log lines may still be on their way.
        private static readonly TimeSpan LogGrace = TimeSpan.FromSeconds(5);

        /// <summary>Refuses -Swarm before anything exists when the engine cannot run services.</summary>
        public static void Check(DockerConnection connection, TaskSpec spec)
        {
            if (connection.Facts == null || !connection.Facts.SwarmManager)
            {
                var state = connection.Facts?.SwarmState;
                throw new OrchestratorException(ErrorIds.SwarmUnavailable, ErrorCategory.InvalidOperation,
                    $"-Swarm: the engine at {connection.Endpoint} is not a swarm manager (its swarm state is '{(string.IsNullOrEmpty(state) ? "unknown" : state)}'). " +
                    "Name a manager with -Engine or the profile's docker.engine, or run the task without -Swarm.", spec.ProjectPath);
            }

            if (spec.Workspace == WorkspaceTransfer.Mount)
            {
                throw new OrchestratorException(ErrorIds.SwarmUnavailable, ErrorCategory.InvalidArgument,
                    "-Workspace Mount cannot be used with -Swarm: a bind mount names a path on whichever node runs the task. On a swarm the workspace is always copied.", spec.ProjectPath);
            }
        }

        /// <summary>Runs the service; returns whether it is confirmed gone.</summary>
        public static async Task<bool> RunAsync(DockerConnection connection, TaskSpec spec, TaskSession session, string descriptionFile, ITaskObserver observer,
            ClaudeTaskResult result, AgentActivity activity, CancellationToken cancel)
        {
            var name = ContainerNames.NewName();
            result.ContainerName = name;
            session.Record.ContainerName = name;
            var nonce = Guid.NewGuid().ToString("N");
            var shipped = ShippedWorkspace.Plan(spec, session.Checkout, session.AgentStateDirectory, descriptionFile);
            var returned = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            session.Returning(returned.Task);

            cancel.ThrowIfCancellationRequested();
            var launch = await connection.EnterLaunchAsync(cancel).ConfigureAwait(false);
            IList<SwarmConfigReference> configs = Array.Empty<SwarmConfigReference>();
            TrackedContainer tracked = null;
            var gone = true;
            try
            {
                observer.Verbose($"Copying the workspace into swarm configs for the service {name} ({shipped.Describe()} in the container).");
                configs = await CreateConfigsAsync(connection, spec, shipped, name, nonce, cancel).ConfigureAwait(false);

                observer.Verbose($"Creating the one-off service {name} from image '{spec.Image}' on the swarm managed at {connection.Endpoint}.");
                session.MarkLaunched();
                var creating = ContainerTracker.BeginCreate(name, spec.RunspaceId);
                try
                {
                    var created = await CreateServiceAsync(connection, BuildSpec(spec, name, nonce, shipped, descriptionFile, session.Checkout, session.AgentStateDirectory, configs)).ConfigureAwait(false);
                    tracked = new TrackedContainer(created, name, spec.TaskId, spec.ProjectName, spec.ProjectPath, spec.RunspaceId, connection, ContainerKinds.Service);
                }
                finally
                {
                    ContainerTracker.EndCreate(name, creating, tracked);
                }

                gone = false;
                SwarmServices.StartHeartbeat(connection, tracked.Id);
                observer.ContainerCreated(tracked.Id, name);
                launch.Dispose();
                gone = await FollowAsync(connection, spec, session, observer, result, activity, tracked, shipped, nonce, cancel).ConfigureAwait(false);
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
                        gone = await TaskRunner.RemoveAsync(connection, tracked, result, Stopwatch.StartNew()).ConfigureAwait(false);
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
        private static async Task<bool> FollowAsync(DockerConnection connection, TaskSpec spec, TaskSession session, ITaskObserver observer, ClaudeTaskResult result, AgentActivity activity,
            TrackedContainer service, ShippedWorkspace shipped, string nonce, CancellationToken cancel)
        {
            var reader = new AgentOutputReader(observer.AgentOutput, session.Transcript, new ClaudeEventStream(activity));
            var removed = false;
            var nodeLost = false;
            var sawRunning = false;
            using (var output = new ServiceResult(nonce, session.ReturnedPartsDirectory))
            using (var logsDone = new CancellationTokenSource())
            using (var timeout = new CancellationTokenSource())
            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel, service.StopRequested, timeout.Token))
            {
                reader.Divert = output.Take;
                Task pump;
                try
                {
                    var logs = await connection.Client.Swarm.GetServiceLogsAsync(service.Id, false,
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
                        TaskRunner.MarkStopped(result, timeout, cancel, spec, "service");
                        observer.Verbose($"Removing the service {service.Name}: {result.Reason}");
                        removed = await TaskRunner.RemoveAsync(connection, service, result, cleanupClock).ConfigureAwait(false);
                        await output.AwaitAfterStopAsync(LogGrace, StopGrace, pump).ConfigureAwait(false);
                    }
                }
                finally
                {
                    logsDone.Cancel();
                    TaskRunner.Observe(pump);
                    TaskRunner.Conclude(result, activity, reader);
                }

                if (!removed)
                {
                    removed = await TaskRunner.RemoveAsync(connection, service, result, cleanupClock).ConfigureAwait(false);
                }

                // The script says when the agent starts; a log cut before that line cannot, and then a running task is the best sign.
                session.AgentStarted = output.Started || output.Begun || (sawRunning && output.MissingTools == null && output.NotArrived == null);
                Restore(shipped, output, session, result, nodeLost);
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
        internal static void Restore(ShippedWorkspace workspace, ServiceResult output, TaskSession session, ClaudeTaskResult result, bool nodeLost)
        {
            if (!session.AgentStarted)
            {
                return;
            }

            var lost = new List<string>();
            string lostWhy = null;
            string notPlaced = null;
            foreach (var target in workspace.ReturnedTargets)
            {
                string file = null;
                try
                {
                    file = output.Received(target);
                    workspace.RestoreReceived(target, file);
                    ReturnedParts.MarkRestored(session.ReturnedPartsDirectory, target);
                    session.Transcript?.Note($"{target} came back from the service's log");
                }
                catch (InvalidDataException e)
                {
                    // Cut, damaged, never printed, or an archive that does not hold the tree: never restored.
                    if (file != null)
                    {
                        ShippedWorkspace.TryDelete(file);
                    }

                    ReturnedParts.MarkLost(session.ReturnedPartsDirectory, target, e.Message);
                    lost.Add(target);
                    lostWhy = lostWhy ?? e.Message;
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    notPlaced = notPlaced ?? $"the agent's work in {target} came back from the swarm service but could not be put into {session.Checkout?.CheckoutDirectory ?? session.Record.Path} ({e.Message}); it is kept in {session.ReturnedPartsDirectory} and the next sweep puts it in place and saves it";
                }
            }

            if (notPlaced != null)
            {
                session.NotPlaced(notPlaced);
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
            if (lost.Contains(TaskRunner.WorkspacePath))
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
        private static void Outcome(ClaudeTaskResult result, ServiceResult output, TaskResponse ended, TaskSpec spec, AgentOutputReader reader, AgentActivity activity)
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

            TaskRunner.ExplainCommandNotRun(result, reader.StandardOutput, reader.StandardError, spec);
            TaskRunner.ExplainAgentError(result, activity, spec);
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
                    tasks = await connection.Client.Tasks.ListAsync(new TasksListParameters
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
                    node = await NodeNameAsync(connection, task.NodeID, cancel).ConfigureAwait(false);
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
                    var lost = await NodeLostAsync(connection, task.NodeID, cancel).ConfigureAwait(false);
                    if (lost != null)
                    {
                        result.Reason = $"The node {node} running the task went away ({lost}); what the agent did there since the task began is lost with it.";
                        return (task, true);
                    }
                }

                await Task.Delay(PollInterval, cancel).ConfigureAwait(false);
            }
        }

        private static async Task<string> NodeNameAsync(DockerConnection connection, string nodeId, CancellationToken cancel)
        {
            try
            {
                var node = await connection.Client.Swarm.InspectNodeAsync(nodeId, cancel).ConfigureAwait(false);
                return node.Description?.Hostname ?? nodeId;
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                return nodeId;
            }
        }

        /// <summary>The node's state when the manager no longer reaches it (down, disconnected); null while it is ready.</summary>
        private static async Task<string> NodeLostAsync(DockerConnection connection, string nodeId, CancellationToken cancel)
        {
            try
            {
                var node = await connection.Client.Swarm.InspectNodeAsync(nodeId, cancel).ConfigureAwait(false);
                var state = node.Status?.State;
                return state == null || string.Equals(state, "ready", StringComparison.OrdinalIgnoreCase)
                    ? null
                    : $"node state {state}" + (string.IsNullOrEmpty(node.Status.Message) ? string.Empty : ": " + node.Status.Message);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                return null;
            }
        }

        private static async Task<string> CreateServiceAsync(DockerConnection connection, ServiceSpec spec)
        {
            try
            {
                // Not cancellable, as a container's create: an abandoned request could leave a service whose id we never learn.
                var created = await connection.Client.Swarm.CreateServiceAsync(new ServiceCreateParameters { Service = spec }, CancellationToken.None).ConfigureAwait(false);
                return created.ID;
            }
            catch (DockerApiException e)
            {
                throw new OrchestratorException(ErrorIds.EngineError, ErrorCategory.InvalidOperation,
                    $"The swarm manager at {connection.Endpoint} refused to create the task's service: {TaskRunner.ApiMessage(e)}", spec.Name, e);
            }
            catch (Exception e) when (!(e is OrchestratorException))
            {
                throw connection.Translate(e);
            }
        }

        /// <summary>The workspace as one gzip'd tar cut into configs; on failure the ones made are removed and the error says why.</summary>
        private static async Task<List<SwarmConfigReference>> CreateConfigsAsync(DockerConnection connection, TaskSpec spec, ShippedWorkspace shipped, string name, string nonce, CancellationToken cancel)
        {
            var made = new List<SwarmConfigReference>();
            var packs = new List<string>();
            try
            {
                using (var archive = new MemoryStream())
                {
                    shipped.WriteCompressedArchive(archive, packs, ServiceScript.ArrivalEntry, nonce);
                    var data = archive.ToArray();
                    for (var offset = 0; offset < data.Length || made.Count == 0; offset += ConfigChunk)
                    {
                        var chunk = new byte[Math.Min(ConfigChunk, data.Length - offset)];
                        Array.Copy(data, offset, chunk, 0, chunk.Length);
                        var file = ServiceScript.InputPrefix + made.Count.ToString("000", System.Globalization.CultureInfo.InvariantCulture);
                        var labels = TaskRunner.BuildLabels(spec);
                        labels[ShippedWorkspace.RoleLabel] = SwarmServices.ConfigRole;
                        var config = await connection.Client.Configs.CreateConfigAsync(new SwarmCreateConfigParameters
                        {
                            Config = new SwarmConfigSpec { Name = name + "-" + file.Replace('.', '-'), Labels = labels, Data = chunk },
                        }, cancel).ConfigureAwait(false);
                        made.Add(new SwarmConfigReference
                        {
                            ConfigID = config.ID,
                            ConfigName = name + "-" + file.Replace('.', '-'),
                            File = new ConfigReferenceFileTarget { Name = ServiceScript.InputDirectory + "/" + file, UID = "0", GID = "0", Mode = Convert.ToUInt32("444", 8) },
                        });
                    }
                }

                return made;
            }
            catch (Exception e)
            {
                foreach (var config in made)
                {
                    await SwarmServices.RemoveConfigAsync(connection, config.ConfigID, config.ConfigName, CancellationToken.None).ConfigureAwait(false);
                }

                if (e is OperationCanceledException && cancel.IsCancellationRequested)
                {
                    throw;
                }

                throw new OrchestratorException(ErrorIds.WorkspaceNotShipped, ErrorCategory.InvalidOperation,
                    $"The task's workspace could not be copied into swarm configs on {connection.Endpoint}: {ShippedWorkspace.Why(connection, e)}", spec.ProjectPath, e);
            }
            finally
            {
                foreach (var pack in packs)
                {
                    ShippedWorkspace.TryDelete(pack);
                }
            }
        }

        /// <summary>
        /// The service: what <see cref="TaskRunner.BuildCreateParameters"/> gives a container
        /// (environment, user, limits, capabilities, read-only root, tmpfs, labels), as a swarm
        /// service spec, with tmpfs mounts where a container binds the workspace.
        /// </summary>
        internal static ServiceSpec BuildSpec(TaskSpec spec, string name, string nonce, ShippedWorkspace shipped, string descriptionFile,
            TaskCheckout checkout, string agentState, IList<SwarmConfigReference> configs)
        {
            var container = TaskRunner.BuildCreateParameters(spec, name, descriptionFile, checkout, agentState, shipped);
            var host = container.HostConfig;
            var argv = new List<string>(spec.AgentCommand);
            if (descriptionFile == null)
            {
                argv.Add(spec.Description);
            }

            var mounts = new List<Mount>();
            foreach (var tmpfs in host.Tmpfs)
            {
                mounts.Add(Tmpfs(tmpfs.Key, tmpfs.Value));
            }

            // The parts' own directories, unless a tmpfs of the sandbox holds them already; and the script's own for its proof and packing.
            foreach (var target in shipped.Targets.Where(t => !host.Tmpfs.Keys.Any(k => t.StartsWith(k + "/", StringComparison.Ordinal))).Concat(new[] { ServiceScript.OutputDirectory }))
            {
                mounts.Add(new Mount { Type = "tmpfs", Target = target, TmpfsOptions = new TmpfsOptions { Mode = Convert.ToUInt32("1777", 8) } });
            }

            var labels = TaskRunner.BuildLabels(spec);
            labels[ShippedWorkspace.RoleLabel] = SwarmServices.ServiceRole;
            labels[SwarmServices.HeartbeatLabel] = SwarmServices.Now();
            labels[ServiceSalvage.MarkLabel] = nonce;
            var network = spec.Sandbox.Network;
            return new ServiceSpec
            {
                Name = name,
                Labels = labels,
                Mode = new ServiceMode { Replicated = new ReplicatedService { Replicas = 1 } },
                TaskTemplate = new Docker.DotNet.Models.TaskSpec
                {
                    ContainerSpec = new ContainerSpec
                    {
                        Image = spec.Image,
                        Command = new List<string> { AgentWatcher.Shell },
                        Args = ServiceScript.Arguments(nonce, shipped.Targets, shipped.ReturnedTargets, argv, descriptionFile == null ? null : DescriptionDelivery.ContainerPath),
                        Env = container.Env,
                        Dir = container.WorkingDir,
                        User = container.User,
                        // Not the managed label: the node's engine sees a container of the swarm's, which a sweep there must leave to the service.
                        Labels = new Dictionary<string, string> { [SwarmServices.ServiceLabel] = name, [ContainerLabels.TaskId] = spec.TaskId },
                        Init = true,
                        ReadOnly = true,
                        Mounts = mounts,
                        CapabilityDrop = host.CapDrop,
                        CapabilityAdd = host.CapAdd,
                        Privileges = new Privileges { NoNewPrivileges = true },
                        StopGracePeriod = StopGrace,
                        Configs = configs,
                    },
                    Resources = new ResourceRequirements
                    {
                        Limits = new SwarmLimit { NanoCPUs = host.NanoCPUs, MemoryBytes = host.Memory, Pids = host.PidsLimit },
                        // A quarter of each limit is held for the task on its node: the scheduler spreads tasks by it and never overfills a node.
                        Reservations = new SwarmResources { NanoCPUs = host.NanoCPUs / 4, MemoryBytes = host.Memory / 4 },
                    },
                    RestartPolicy = new SwarmRestartPolicy { Condition = "none", MaxAttempts = 0 },
                    Placement = new Placement { Constraints = spec.Placement?.ToList() ?? new List<string>() },
                    // The default bridge is each node's own; any other network must be one the swarm knows (an overlay, or none).
                    Networks = string.Equals(network, Sandbox.DefaultNetwork, StringComparison.Ordinal)
                        ? null
                        : new List<NetworkAttachmentConfig> { new NetworkAttachmentConfig { Target = network } },
                },
            };
        }

        /// <summary>"rw,noexec,nosuid,nodev,size=512m,mode=1777" as a service's tmpfs mount (size and mode; the others are the engine's defaults for services).</summary>
        private static Mount Tmpfs(string target, string options)
        {
            var tmpfs = new TmpfsOptions();
            foreach (var option in options.Split(','))
            {
                if (option.StartsWith("size=", StringComparison.Ordinal))
                {
                    tmpfs.SizeBytes = Sandbox.ParseMemory(option.Substring(5));
                }
                else if (option.StartsWith("mode=", StringComparison.Ordinal))
                {
                    tmpfs.Mode = Convert.ToUInt32(option.Substring(5), 8);
                }
            }

            return new Mount { Type = "tmpfs", Target = target, TmpfsOptions = tmpfs };
        }
    }
}
