using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// What outlives a task's container: its record, its transcript and, in a repository, its
    /// checkout and branch. Finishing saves the work and happens once, whoever asks first: the
    /// task itself, or a shutdown path (signal, exit, crash, module removal) after the flush
    /// removed the container. A session killed outright leaves record and checkout for the
    /// salvage sweep.
    /// </summary>
    internal sealed class TaskSession
    {
        private static readonly ConcurrentDictionary<string, TaskSession> Active = new ConcurrentDictionary<string, TaskSession>(StringComparer.Ordinal);

        private readonly object _gate = new object();
        private Task<WorkSave> _finish;

        private TaskSession(ClaudeTask record, Transcript transcript, TaskCheckout checkout, Guid runspaceId)
        {
            Record = record;
            Transcript = transcript;
            Checkout = checkout;
            RunspaceId = runspaceId;
        }

        public ClaudeTask Record { get; }
        public Transcript Transcript { get; }

        /// <summary>Null for a task run in place.</summary>
        public TaskCheckout Checkout { get; }

        public Guid RunspaceId { get; }

        /// <summary>Why the task has no record and transcript (the state directory was not writable); null normally.</summary>
        public string Unrecorded { get; private set; }

        /// <summary>Who stopped the container, when a flush did (signal, crash, module removal).</summary>
        public CleanupReason? StopReason { get; set; }

        /// <summary>The agent's own state directory on the host (its sessions, for -Resume); null for a task without record.</summary>
        public string AgentStateDirectory => Unrecorded == null ? Record.AgentStatePath : null;

        /// <summary>The volumes the workspace was copied into on a remote engine; null when it is bind-mounted.</summary>
        public ShippedWorkspace Shipped { get; private set; }

        private DockerConnection _shippedTo;
        private TaskSpec _spec;

        // Reading the volumes back: bounded, since a shutdown path waits for it; what does not come
        // back in time stays in the volumes for the salvage sweep.
        private static readonly TimeSpan BringBackLimit = TimeSpan.FromMinutes(5);

        /// <summary>The workspace is in <paramref name="shipped"/>'s volumes now: finishing brings it back before anything is saved.</summary>
        public void Copied(ShippedWorkspace shipped, DockerConnection connection, TaskSpec spec)
        {
            Shipped = shipped;
            _shippedTo = connection;
            _spec = spec;
        }

        private Task _returning;

        /// <summary>
        /// The work that is on its way back into the checkout (a swarm service's result, read from
        /// its log after the service was removed): saving waits for it, bounded, whoever saves.
        /// </summary>
        public void Returning(Task restore) => _returning = restore;

        /// <summary>Set once the agent's container has started: a task that never ran leaves no branch behind.</summary>
        public bool AgentStarted { get; set; }

        /// <summary>Where a swarm service's result parts are kept until they are in the checkout (beside the record, so a sweep finds them).</summary>
        public string ReturnedPartsDirectory => Unrecorded == null
            ? ReturnedParts.DirectoryFor(Record.TaskId)
            : System.IO.Path.Combine(System.IO.Path.GetTempPath(), "claude-orchestrator-" + Record.TaskId + "-" + ReturnedParts.DirectoryName);

        /// <summary>Why the agent's work did not come back from where it ran; null when it did (or nothing was to come).</summary>
        public string WorkLost { get; private set; }

        /// <summary>The agent's work did not come back (a swarm service's result cut, damaged or never printed): nothing of it may be saved, and the outcome says Lost.</summary>
        public void Lost(string why) => WorkLost = WorkLost ?? why;

        private string _notPlaced;

        /// <summary>The work came back but could not be put into the checkout: saving waits for the sweep, which puts it in place first.</summary>
        public void NotPlaced(string why) => _notPlaced = _notPlaced ?? why;

        /// <summary>
        /// Written into the record before the first container or service that runs the agent is
        /// created: until then nothing of the agent's can be in the checkout, and a sweep after a
        /// kill deletes the checkout instead of saving it.
        /// </summary>
        public void MarkLaunched()
        {
            if (Record.AgentLaunched == true || Unrecorded != null)
            {
                return;
            }

            Record.AgentLaunched = true;
            TaskStore.Save(Record);
        }

        /// <summary>Claims the task id, opens the transcript and, for an isolated task, creates branch and checkout.</summary>
        public static TaskSession Begin(TaskSpec spec)
        {
            var record = new ClaudeTask
            {
                TaskId = spec.TaskId,
                Project = spec.ProjectName,
                Path = spec.ProjectPath,
                Summary = TaskStore.Summarize(spec.Description),
                Status = ClaudeTaskStatus.Running,
                Work = spec.Repository == null ? ClaudeTaskWork.InPlace : ClaudeTaskWork.Pending,
                StartTime = DateTime.Now,
                Image = spec.Image,
                Engine = spec.EngineEndpoint,
                // Decided before the record is written: a salvage must know to look on the engine.
                Workspace = spec.Workspace,
                Backend = spec.Swarm ? ClaudeTaskBackend.SwarmService : ClaudeTaskBackend.Container,
                TranscriptPath = TaskStore.TranscriptFor(spec.TaskId),
                OwnerPid = SessionIdentity.ProcessId,
                OwnerHost = SessionIdentity.HostName,
                OwnerStart = SessionIdentity.ProcessStart,
                SessionId = SessionIdentity.SessionId,
                ResumedFrom = spec.Resumes?.TaskId,
                AgentStatePath = TaskStore.AgentStateFor(spec.TaskId),
                AgentLaunched = false,
            };
            if (spec.Repository != null)
            {
                record.Repository = spec.Repository.TopLevel;
                record.GitDirectory = spec.Repository.CommonDirectory;
                record.Branch = spec.Branch;
                record.BaseCommit = spec.BranchTip ?? spec.Repository.HeadCommit;
                record.CheckoutPath = System.IO.Path.Combine(TaskStore.DirectoryFor(spec.TaskId), "checkout");
            }

            bool created;
            try
            {
                created = TaskStore.TryCreate(record);
            }
            catch (Exception e) when ((e is UnauthorizedAccessException || e is System.IO.IOException) && spec.Repository == null)
            {
                // A task in place loses only its bookkeeping when the state directory is not
                // writable (another user's XDG_STATE_HOME, a read-only home): it runs without
                // record and transcript. A task on a branch needs the directory for its checkout.
                var unrecorded = new TaskSession(record, null, null, spec.RunspaceId) { Unrecorded = e.Message };
                record.TranscriptPath = null;
                record.AgentStatePath = null;
                return unrecorded;
            }
            catch (Exception e) when (e is UnauthorizedAccessException || e is System.IO.IOException)
            {
                throw new OrchestratorException(ErrorIds.IsolationFailed, System.Management.Automation.ErrorCategory.PermissionDenied,
                    $"The task's checkout goes in the state directory {TaskStore.Root}, which cannot be written ({e.Message}). Fix its permissions or XDG_STATE_HOME, or run the task in place with -Isolation None.", TaskStore.Root, e);
            }

            if (!created)
            {
                throw new OrchestratorException(ErrorIds.IsolationFailed, System.Management.Automation.ErrorCategory.ResourceExists,
                    $"A task with the id '{spec.TaskId}' already exists in {TaskStore.Root}.", spec.TaskId);
            }

            HaltPoint.Reached(HaltPoint.Steps.RecordWritten);

            TaskCheckout checkout = null;
            Transcript transcript;
            try
            {
                if (spec.Repository != null)
                {
                    checkout = spec.Resumes != null
                        ? TaskCheckout.Continue(spec.Repository, TaskStore.DirectoryFor(spec.TaskId), spec.Branch, spec.BranchTip, spec.TaskId)
                        : TaskCheckout.Create(spec.Repository, TaskStore.DirectoryFor(spec.TaskId), spec.Branch, spec.TaskId);
                }

                AgentState.Prepare(record.AgentStatePath, spec.Resumes?.AgentStatePath, spec.Sandbox.User);

                transcript = Transcript.Open(record.TranscriptPath);
            }
            catch
            {
                // Nothing ran yet: no branch, no checkout, no record may stay behind.
                checkout?.DeleteBranchAtBase();

                TaskStore.Delete(spec.TaskId);
                throw;
            }

            transcript.Note($"task {spec.TaskId} started: project {spec.ProjectName} ({spec.ProjectPath})" +
                            (checkout != null ? $", branch {checkout.Branch} from {checkout.BaseCommit}" : ", in place") +
                            (spec.Resumes != null ? $", resuming task {spec.Resumes.TaskId} (session {spec.Resumes.AgentSessionId})" : string.Empty));
            var session = new TaskSession(record, transcript, checkout, spec.RunspaceId);
            Active[spec.TaskId] = session;
            return session;
        }

        /// <summary>
        /// Saves the work (once), deletes the checkout when the container is gone and the work is
        /// safe, and writes the final record. Never throws: a failure to save is in the outcome.
        /// </summary>
        public Task<WorkSave> FinishAsync(ClaudeTaskResult result, bool containerGone, CleanupReason reason)
        {
            lock (_gate)
            {
                return _finish ?? (_finish = Task.Run(() => Finish(result, containerGone, reason)));
            }
        }

        private WorkSave Finish(ClaudeTaskResult result, bool containerGone, CleanupReason reason)
        {
            WorkSave save = null;
            if (Unrecorded != null)
            {
                return null;
            }

            try
            {
                try
                {
                    _returning?.Wait(BringBackLimit);
                }
                catch (AggregateException)
                {
                    // The runner says why in the result; what did come back is saved.
                }

                var onEngine = Shipped == null ? _notPlaced : BringBack(containerGone);
                if (onEngine != null)
                {
                    // The work is in the volumes (or the received parts), not in the checkout: saving it now would save nothing.
                    save = new WorkSave { Saved = false, Work = ClaudeTaskWork.NotSaved, Branch = Checkout?.Branch, Error = onEngine };
                    Transcript.Note("work NOT brought back: " + onEngine);
                    if (Checkout != null)
                    {
                        save.ApplyTo(Record);
                        Record.WorkError = onEngine;
                        CleanupJournal.Append(CleanupRecords.ForWork(Record, save, reason));
                    }

                    result.Status = result.Status == ClaudeTaskStatus.Succeeded ? ClaudeTaskStatus.Failed : result.Status;
                    result.Reason = string.IsNullOrEmpty(result.Reason) ? onEngine : result.Reason + " " + onEngine;
                }
                else if (Checkout != null)
                {
                    save = KeepWork(Checkout, Record, result.Status, salvage: false, containerGone, dropEmptyBranch: !AgentStarted, reason, Transcript.Note, WorkLost);
                    if (save.Saved)
                    {
                        ReturnedParts.Clear(Record.TaskId);
                    }
                }
                else if (WorkLost != null)
                {
                    // In place: the project was never touched by what did not come back.
                    Record.Work = ClaudeTaskWork.Lost;
                    result.Work = ClaudeTaskWork.Lost;
                }

                Transcript.Note($"task ended: {result.Status}{(result.Reason != null ? " - " + result.Reason : string.Empty)}");
                Record.Status = result.Status;
                Record.EndTime = DateTime.Now;
                AgentReport.Copy(result, Record);
                Record.ResumedFrom = Record.ResumedFrom ?? result.ResumedFrom;
                if (Record.CostUsd.HasValue || Record.InputTokens.HasValue)
                {
                    CleanupJournal.Append(CleanupRecords.ForUsage(Record));
                }
                Record.ExitCode = result.ExitCode;
                Record.Reason = result.Reason;
                Record.ContainerName = result.ContainerName ?? Record.ContainerName;
                TaskStore.Save(Record);
            }
            catch (Exception e)
            {
                // The record is bookkeeping; the branch and the checkout are what must not be lost.
                save = save ?? new WorkSave { Work = ClaudeTaskWork.NotSaved, Error = e.Message };
            }
            finally
            {
                Transcript.Dispose();
                Active.TryRemove(Record.TaskId, out _);
            }

            return save;
        }

        /// <summary>
        /// The copied workspace back onto this machine, then its volumes removed; null when done,
        /// else why the work is still on the engine (the salvage sweep brings it back later).
        /// </summary>
        private string BringBack(bool containerGone)
        {
            var where = $"The task's work is still in the volume(s) {Shipped.Describe()} on the engine at {_shippedTo.Endpoint}";
            if (!containerGone)
            {
                return where + ", whose container could not be removed; the next orphan sweep or Remove-ClaudeContainer -Orphaned brings it back once the container is gone.";
            }

            try
            {
                using (var limit = new CancellationTokenSource(BringBackLimit))
                {
                    Shipped.BringBackAsync(_shippedTo, _spec, limit.Token).GetAwaiter().GetResult();
                }
            }
            catch (Exception e)
            {
                return Shipped.NotReadBack(_shippedTo.Endpoint, ShippedWorkspace.Why(_shippedTo, e));
            }

            var problem = Shipped.RemoveVolumesAsync(_shippedTo).GetAwaiter().GetResult();
            Transcript.Note($"workspace copied back from {_shippedTo.Endpoint}" + (problem == null ? "; volumes removed" : $"; a volume could not be removed ({problem}), the sweep removes it"));
            return null;
        }

        /// <summary>
        /// The one order in which work is kept, for a task that ends and for a salvage: commit
        /// into the branch; record that the work is in the branch; only then delete the checkout
        /// (when no container can still write into it), so that a kill at any moment leaves
        /// either a checkout to save or one to delete, never one saved twice; then say so in the
        /// transcript, the journal and the record. A failure to save is said once per cause.
        /// </summary>
        /// <param name="dropEmptyBranch">True when the agent never ran: a branch still at its base commit is only noise.</param>
        /// <param name="lost">Why the agent's work did not come back, when it did not: an unchanged checkout is then Lost, not NoChanges.</param>
        internal static WorkSave KeepWork(TaskCheckout checkout, ClaudeTask record, ClaudeTaskStatus status, bool salvage, bool containerGone,
            bool dropEmptyBranch, CleanupReason reason, Action<string> note, string lost = null)
        {
            var save = checkout.Save(status, salvage);
            if (save.Saved && dropEmptyBranch && save.Work == ClaudeTaskWork.NoChanges)
            {
                checkout.DeleteBranchAtBase();
                save.Branch = null;
            }

            if (save.Saved && lost != null && save.Work == ClaudeTaskWork.NoChanges)
            {
                save.Work = ClaudeTaskWork.Lost;
                save.Error = lost;
            }

            var news = save.Saved || record.Work != ClaudeTaskWork.NotSaved || record.WorkError != save.Error;
            save.ApplyTo(record);
            record.WorkError = save.Saved && save.Work != ClaudeTaskWork.Lost ? null : save.Error;
            var delete = save.Saved && containerGone;
            if (delete)
            {
                // The branch has the work: from here a sweep only deletes what is left of the checkout.
                TrySave(record);
            }

            if (news)
            {
                note(save.Work == ClaudeTaskWork.Lost
                    ? $"work LOST: {lost}"
                    : save.Saved
                    ? $"work {(salvage ? "salvaged after the session died" : "saved")}: {save.Work}, branch {save.Branch ?? "(deleted, nothing ran)"} at {save.HeadCommit}, {save.Commits} commit(s), {save.FilesChanged} file(s) +{save.Insertions} -{save.Deletions}"
                    : $"work NOT saved: {save.Error}; the checkout stays at {checkout.CheckoutDirectory}");
                CleanupJournal.Append(CleanupRecords.ForWork(record, save, reason));
            }

            if (delete)
            {
                HaltPoint.Reached(HaltPoint.Steps.WorkRecorded);
                checkout.DeleteFiles();
                HaltPoint.Reached(HaltPoint.Steps.CheckoutDeleted);
                record.CheckoutPath = null;
            }

            return save;
        }

        private static void TrySave(ClaudeTask record)
        {
            try
            {
                TaskStore.Save(record);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // The record is bookkeeping: the branch already has the work.
            }
        }

        public static bool IsActive(string taskId) => Active.ContainsKey(taskId);

        /// <summary>Whether a task of this process has its workspace copied to an engine right now.</summary>
        public static bool AnyCopied => Active.Values.Any(s => s.Shipped != null);

        /// <summary>
        /// For shutdown paths, after the container flush: finishes the matching tasks as
        /// cancelled and waits (within <paramref name="budget"/> for that many tasks) until their work is saved.
        /// </summary>
        public static void FinishAll(Func<TaskSession, bool> which, CleanupReason reason, Func<int, TimeSpan> budget)
        {
            var sessions = Active.Values.Where(which).ToList();
            if (sessions.Count == 0)
            {
                return;
            }

            var tracked = new HashSet<string>(ContainerTracker.Snapshot().Select(c => c.TaskId), StringComparer.Ordinal);
            var finishing = sessions.Select(s => s.FinishAsync(new ClaudeTaskResult
            {
                TaskId = s.Record.TaskId,
                Status = ClaudeTaskStatus.Cancelled,
                Reason = $"The session ended ({reason}) while the task ran.",
            }, !tracked.Contains(s.Record.TaskId), reason)).ToArray();
            Task.WaitAny(new[] { Task.WhenAll(finishing), Task.Delay(budget(sessions.Count)) });
        }
    }
}
