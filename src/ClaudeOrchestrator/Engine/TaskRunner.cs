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
        private static readonly TimeSpan CleanupBudget = TimeSpan.FromSeconds(30);
        private static readonly TimeSpan EngineCheckLimit = TimeSpan.FromSeconds(2);

        public static async Task<ClaudeTaskResult> RunAsync(TaskSpec spec, ITaskObserver observer, CancellationToken cancel)
        {
            var connection = await DockerConnection.ReachAsync(cancel).ConfigureAwait(false);
            observer.Debug(connection.Description);
            var name = ContainerNames.NewName();
            var result = new ClaudeTaskResult
            {
                TaskId = spec.TaskId,
                Project = spec.ProjectName,
                Path = spec.ProjectPath,
                ContainerName = name,
                Image = spec.Image,
                StartTime = DateTime.Now,
                // Until an outcome says otherwise: an exception part-way is a failure.
                Status = ClaudeTaskStatus.Failed,
            };

            cancel.ThrowIfCancellationRequested();
            observer.Verbose($"Creating container {name} from image '{spec.Image}' with {spec.ProjectPath} at {WorkspacePath}.");
            var id = await CreateAsync(connection, spec, name).ConfigureAwait(false);
            var tracked = new TrackedContainer(id, name, spec.TaskId, spec.ProjectName, spec.ProjectPath, spec.RunspaceId, connection);
            ContainerTracker.Add(tracked);
            observer.ContainerCreated(id, name);

            var reader = new AgentOutputReader(observer.AgentOutput);
            // Restarted when the task ends: the journal reports how long the container outlived it.
            var cleanupClock = Stopwatch.StartNew();
            var gone = false;
            using (var timeout = new CancellationTokenSource())
            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel, tracked.StopRequested, timeout.Token))
            using (var lifecycle = ContainerLifecycleWatch.Start(connection, id))
            {
                try
                {
                    observer.Verbose($"Attaching to {name} (stdin held open for the life of the task).");
                    var attach = new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true };
                    using (var stream = await connection.Client.Containers.AttachContainerAsync(id, attach, stop.Token).ConfigureAwait(false))
                    {
                        observer.Verbose($"Starting {name}.");
                        await StartAsync(connection, id, name, stop.Token).ConfigureAwait(false);
                        result.StartTime = DateTime.Now;
                        if (spec.Timeout.HasValue)
                        {
                            timeout.CancelAfter(spec.Timeout.Value);
                        }

                        observer.AgentStarted();
                        var pump = reader.PumpAsync(stream, CancellationToken.None);
                        var stopped = Task.Delay(Timeout.Infinite, stop.Token);
                        var first = await Task.WhenAny(pump, stopped).ConfigureAwait(false);
                        cleanupClock.Restart();
                        if (first == pump)
                        {
                            if (pump.Status == TaskStatus.RanToCompletion)
                            {
                                await CollectExitAsync(connection, id, lifecycle, result).ConfigureAwait(false);
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
                            gone = await RemoveAsync(connection, id, name, result, cleanupClock, tracked).ConfigureAwait(false);
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
                        gone = await RemoveAsync(connection, id, name, result, cleanupClock, tracked).ConfigureAwait(false);
                    }

                    observer.Verbose(gone ? $"Container {name} removed." : $"Container {name} could not be removed; it stays tracked.");
                }
            }

            result.EndTime = DateTime.Now;
            result.Output = reader.StandardOutput;
            result.ErrorOutput = reader.StandardError;
            return result;
        }

        internal static CreateContainerParameters BuildCreateParameters(TaskSpec spec, string name)
        {
            var argv = new List<string>(spec.AgentCommand) { spec.Description };
            var environment = spec.Environment.Select(pair => pair.Key + "=" + pair.Value).ToList();
            var host = new HostConfig
            {
                Init = true,
                AutoRemove = true,
                // The project is the only host path the agent sees, and the only writable one.
                Mounts = new List<Mount>
                {
                    new Mount { Type = "bind", Source = spec.ProjectPath, Target = WorkspacePath },
                },
            };
            spec.Sandbox.Apply(host, environment);
            return new CreateContainerParameters
            {
                Name = name,
                Image = spec.Image,
                // Both set: an ENTRYPOINT in the image must not swallow the watcher.
                Entrypoint = new List<string> { AgentWatcher.Shell },
                Cmd = AgentWatcher.Arguments(argv),
                WorkingDir = WorkspacePath,
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

        internal static Dictionary<string, string> BuildLabels(TaskSpec spec) => new Dictionary<string, string>
        {
            [ContainerLabels.Managed] = "true",
            [ContainerLabels.TaskId] = spec.TaskId,
            [ContainerLabels.Project] = spec.ProjectName ?? string.Empty,
            [ContainerLabels.ProjectPath] = spec.ProjectPath,
            [ContainerLabels.OwnerPid] = SessionIdentity.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ContainerLabels.OwnerHost] = SessionIdentity.HostName,
            [ContainerLabels.OwnerStart] = SessionIdentity.ProcessStart,
            [ContainerLabels.SessionId] = SessionIdentity.SessionId,
            [ContainerLabels.Version] = ModuleVersion.Text,
        };

        private static async Task<string> CreateAsync(DockerConnection connection, TaskSpec spec, string name)
        {
            try
            {
                // Not cancellable: a create abandoned mid-flight could leave a container whose id we never learn.
                var created = await connection.Client.Containers
                    .CreateContainerAsync(BuildCreateParameters(spec, name), CancellationToken.None).ConfigureAwait(false);
                return created.ID;
            }
            catch (DockerImageNotFoundException)
            {
                throw new OrchestratorException(ErrorIds.ImageNotFound, ErrorCategory.ObjectNotFound,
                    $"The image '{spec.Image}' is not present on the Docker engine at {connection.Endpoint}. " +
                    "Build it from the module's docker/ folder (docker build -t claude-orchestrator-agent docker/), " +
                    "or name an existing image with -Image or $env:CLAUDE_ORCHESTRATOR_IMAGE.",
                    spec.Image);
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

        private static async Task StartAsync(DockerConnection connection, string id, string name, CancellationToken cancel)
        {
            try
            {
                await connection.Client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancel).ConfigureAwait(false);
            }
            catch (DockerApiException e)
            {
                throw new OrchestratorException(ErrorIds.ContainerStartFailed, ErrorCategory.InvalidOperation,
                    $"The container {name} could not start: {ApiMessage(e)} (the image needs {AgentWatcher.Shell}).", name, e);
            }
        }

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

        private static void MarkStopped(ClaudeTaskResult result, CancellationTokenSource timeout, CancellationToken cancel, TaskSpec spec)
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
                    : "The task's container was removed while it ran.";
            }
        }

        /// <summary>
        /// A container that could not be removed breaks the promise the task makes, so the result
        /// says so and is a failure whatever the agent did.
        /// </summary>
        private static async Task<bool> RemoveAsync(DockerConnection connection, string id, string name, ClaudeTaskResult result, Stopwatch cleanupClock, TrackedContainer tracked)
        {
            RemovalOutcome outcome;
            using (var budget = new CancellationTokenSource(CleanupBudget))
            {
                outcome = await ContainerRemover.RemoveAsync(connection, id, name, budget.Token).ConfigureAwait(false);
            }

            outcome = new RemovalOutcome(id, name, outcome.Removed, outcome.WasPresent, cleanupClock.Elapsed, outcome.Error);
            ContainerTracker.Settle(outcome, tracked.StopReason ?? ReasonFor(result));

            if (!outcome.Removed)
            {
                if (result.Status == ClaudeTaskStatus.Succeeded)
                {
                    result.Status = ClaudeTaskStatus.Failed;
                }

                var why = $"The container {name} could not be removed ({outcome.Error?.Message}); it stays tracked, and Remove-ClaudeContainer removes it once the engine answers again.";
                result.Reason = string.IsNullOrEmpty(result.Reason) ? why : result.Reason + " " + why;
            }

            return outcome.Removed;
        }

        private static CleanupReason ReasonFor(ClaudeTaskResult result)
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
        private static void Observe(Task task) =>
            task.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

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
