using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Backends;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Records;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Engine.Workspaces;

namespace ClaudeOrchestrator.Engine.Backends.Swarm
{
    /// <summary>
    /// The work of a killed session's service. Its agent runs on, with nobody reading the log, until
    /// a sweep removes the service; the removal makes the service's script print the work, as
    /// Ctrl+C does. A sweep on the machine that has the task's record follows the log while it
    /// removes the service, and puts what comes back into the task's checkout (or beside its
    /// record, for a task in place), where the salvage then commits it into the branch. Any other
    /// machine only removes the service.
    /// </summary>
    internal static class ServiceSalvage
    {
        /// <summary>On the service: the nonce of its result's markers, so a sweep can read the result.</summary>
        public const string MarkLabel = ContainerLabels.Prefix + "result-mark";

        private static readonly TimeSpan BeginWait = TimeSpan.FromSeconds(5);

        /// <summary>Removes the orphaned service; first, when its task is recorded here, starts reading its work out of the log.</summary>
        public static async Task<RemovalOutcome> RemoveCollectingAsync(DockerConnection connection, ClaudeContainer service, CancellationToken cancel)
        {
            var record = service.TaskId == null || ActiveTasks.IsActive(service.TaskId) ? null : TaskStore.Load(service.TaskId);
            string mark = null;
            if (record != null)
            {
                try
                {
                    var inspected = await connection.Swarm.InspectServiceAsync(service.Id, cancel).ConfigureAwait(false);
                    inspected.Spec?.Labels?.TryGetValue(MarkLabel, out mark);
                }
                catch (Exception e) when (!(e is OperationCanceledException))
                {
                }
            }

            if (mark == null)
            {
                return await SwarmServices.RemoveServiceAsync(connection, service.Id, service.Name, cancel).ConfigureAwait(false);
            }

            // Under the task's salvage claim: a salvage that saw the service gone waits until its work is received.
            var claim = await SalvageClaim.AcquireAsync(record.TaskId, cancel).ConfigureAwait(false);
            using (claim)
            using (var output = new ServiceResult(mark, ReturnedParts.DirectoryFor(record.TaskId)))
            using (var logsDone = new CancellationTokenSource())
            {
                var reader = new AgentOutputReader((_, __) => { }) { Divert = output.Take };
                Task pump = null;
                try
                {
                    var logs = await connection.Swarm.GetServiceLogsAsync(service.Id, false,
                        new ServiceLogsParameters { Follow = true, ShowStdout = true, ShowStderr = false }, logsDone.Token).ConfigureAwait(false);
                    pump = reader.PumpAsync(logs, logsDone.Token);
                }
                catch (Exception e) when (!(e is OperationCanceledException))
                {
                }

                var outcome = await SwarmServices.RemoveServiceAsync(connection, service.Id, service.Name, cancel).ConfigureAwait(false);
                if (pump != null && outcome.Removed)
                {
                    await output.AwaitAfterStopAsync(BeginWait, ServiceSpecs.StopGrace, pump, cancel).ConfigureAwait(false);
                }

                logsDone.Cancel();
                AttemptOutcome.Observe(pump);
                if (outcome.Removed && (output.Started || output.Begun))
                {
                    // The received parts wait beside the record; the salvage puts them in place and saves.
                    try
                    {
                        output.Received(ContainerPaths.Workspace);
                    }
                    catch (InvalidDataException e)
                    {
                        ReturnedParts.MarkLost(ReturnedParts.DirectoryFor(record.TaskId), ContainerPaths.Workspace, $"The agent's work did not come back from its swarm service when the sweep removed it ({e.Message.TrimEnd('.')}); what it wrote there lived only in the service and is lost.");
                    }
                }

                return outcome;
            }
        }

        /// <summary>
        /// A swarm task's received parts put in place (idempotent: a kill during the last try
        /// left them). Returns why the workspace is lost (its part failed, or its service went
        /// without its work reaching this machine) and why parts could not be put in place.
        /// </summary>
        public static (string Lost, string NotPlaced) PutReturnedParts(ClaudeTask record)
        {
            if (record.AgentLaunched == false)
            {
                return (null, null);
            }

            var workspace = ShippedWorkspace.ForRecord(record);
            var directory = ReturnedParts.DirectoryFor(record.TaskId);
            string lost = ReturnedParts.LostWhy(directory, ContainerPaths.Workspace);
            foreach (var target in ReturnedParts.Waiting(record.TaskId).Where(t => workspace.ReturnedTargets.Contains(t)))
            {
                try
                {
                    workspace.RestoreReceived(target, ReturnedParts.PathFor(directory, target));
                    ReturnedParts.MarkRestored(directory, target);
                }
                catch (InvalidDataException e)
                {
                    ReturnedParts.MarkLost(directory, target, e.Message);
                    lost = target == ContainerPaths.Workspace ? $"The agent's work came back from its swarm service unreadable ({e.Message.TrimEnd('.')}); it is lost." : lost;
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    return (null, $"the agent's work in {target} came back from its swarm service but could not be put into place ({e.Message}); it is kept in {directory}");
                }
            }

            if (lost == null && !ReturnedParts.WasRestored(directory, ContainerPaths.Workspace))
            {
                lost = "Its swarm service is gone and the agent's work never reached this machine (the service was removed by another machine's sweep after its heartbeat went stale, or its node went away); what the agent wrote there is lost.";
            }

            return (lost, null);
        }
    }
}
