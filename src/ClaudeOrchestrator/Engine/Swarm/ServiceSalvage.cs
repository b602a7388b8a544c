using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;

namespace ClaudeOrchestrator.Engine
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
            var record = service.TaskId == null || TaskSession.IsActive(service.TaskId) ? null : TaskStore.Load(service.TaskId);
            string mark = null;
            if (record != null)
            {
                try
                {
                    var inspected = await connection.Client.Swarm.InspectServiceAsync(service.Id, cancel).ConfigureAwait(false);
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
            var claim = await TaskSalvager.ClaimAsync(record.TaskId, cancel).ConfigureAwait(false);
            using (claim)
            using (var output = new ServiceResult(mark, ReturnedParts.DirectoryFor(record.TaskId)))
            using (var logsDone = new CancellationTokenSource())
            {
                var reader = new AgentOutputReader((_, __) => { }) { Divert = output.Take };
                Task pump = null;
                try
                {
                    var logs = await connection.Client.Swarm.GetServiceLogsAsync(service.Id, false,
                        new ServiceLogsParameters { Follow = true, ShowStdout = true, ShowStderr = false }, logsDone.Token).ConfigureAwait(false);
                    pump = reader.PumpAsync(logs, logsDone.Token);
                }
                catch (Exception e) when (!(e is OperationCanceledException))
                {
                }

                var outcome = await SwarmServices.RemoveServiceAsync(connection, service.Id, service.Name, cancel).ConfigureAwait(false);
                if (pump != null && outcome.Removed)
                {
                    await output.AwaitAfterStopAsync(BeginWait, ServiceRunner.StopGrace, pump, cancel).ConfigureAwait(false);
                }

                logsDone.Cancel();
                TaskRunner.Observe(pump);
                if (outcome.Removed && (output.Started || output.Begun))
                {
                    // The received parts wait beside the record; the salvage puts them in place and saves.
                    try
                    {
                        output.Received(TaskRunner.WorkspacePath);
                    }
                    catch (InvalidDataException e)
                    {
                        TaskSalvager.MarkLost(record, $"The agent's work did not come back from its swarm service when the sweep removed it ({e.Message.TrimEnd('.')}); what it wrote there lived only in the service and is lost.");
                    }
                }

                return outcome;
            }
        }
    }
}
