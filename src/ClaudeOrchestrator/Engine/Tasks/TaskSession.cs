using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Backends;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Journal;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Records;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Engine.Workspaces;

namespace ClaudeOrchestrator.Engine.Tasks
{
    /// <summary>
    /// What outlives a task's container: its record, its transcript and, in a repository, its
    /// checkout and branch. Finishing saves the work and happens once, whoever asks first: the
    /// task itself, or a shutdown path (signal, exit, crash, module removal) after the flush
    /// removed the container. A session killed outright leaves record and checkout for the
    /// salvage sweep.
    /// </summary>
    internal sealed class TaskSession : IAttemptHost
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

        /// <summary>How the workspace reaches the agent; finishing brings the agent's work back through it before anything is saved.</summary>
        public IWorkspaceDelivery Workspace { get; private set; }

        /// <summary>The task's workspace travels through <paramref name="workspace"/> from now on.</summary>
        public void Use(IWorkspaceDelivery workspace) => Workspace = workspace;

        public string ReturnedPartsDirectory => Unrecorded == null
            ? ReturnedParts.DirectoryFor(Record.TaskId)
            : System.IO.Path.Combine(System.IO.Path.GetTempPath(), "claude-orchestrator-" + Record.TaskId + "-" + ReturnedParts.DirectoryName);

        /// <summary>Set once the agent's container has started: a task that never ran leaves no branch behind.</summary>
        public bool AgentStarted { get; set; }

        /// <summary>Why the agent's work did not come back from where it ran; null when it did (or nothing was to come).</summary>
        public string WorkLost { get; private set; }

        /// <summary>The agent's work did not come back (a swarm service's result cut, damaged or never printed): nothing of it may be saved, and the outcome says Lost.</summary>
        public void Lost(string why) => WorkLost = WorkLost ?? why;

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
        public static TaskSession Begin(TaskPlan spec)
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
                Backend = spec.Backend,
                Egress = spec.Egress,
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
                record.Checkout = spec.Checkout == CheckoutMethod.Overlay ? CheckoutMethod.Overlay : CheckoutMethod.Full;
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
                        ? TaskCheckout.Continue(spec.Repository, TaskStore.DirectoryFor(spec.TaskId), spec.Branch, spec.BranchTip, spec.TaskId, record.Checkout.Value)
                        : TaskCheckout.Create(spec.Repository, TaskStore.DirectoryFor(spec.TaskId), spec.Branch, spec.TaskId, record.Checkout.Value);
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
            ActiveTasks.Add(spec.TaskId);
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
                var onEngine = Workspace?.BringBack(containerGone);
                if (onEngine != null)
                {
                    // The work is in the volumes (or the received parts), not in the checkout: saving it now would save nothing.
                    save = new WorkSave { Saved = false, Work = ClaudeTaskWork.NotSaved, Branch = Checkout?.Branch, Error = onEngine };
                    Transcript.Note("work NOT brought back: " + onEngine);
                    if (Checkout != null)
                    {
                        save.ApplyTo(Record);
                        Record.WorkError = onEngine;
                        CleanupJournal.Append(save.ToRecord(Record, reason));
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
                if (Record.CostUsd.HasValue || Record.InputTokens.HasValue || Record.ConnectionsRefused > 0)
                {
                    CleanupJournal.Append(CleanupRecords.ForUsage(Record));
                }
                Record.ExitCode = result.ExitCode;
                Record.Egress = result.Egress;
                Record.ConnectionsAllowed = result.ConnectionsAllowed;
                Record.ConnectionsRefused = result.ConnectionsRefused;
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
                ActiveTasks.Remove(Record.TaskId);
            }

            return save;
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
                CleanupJournal.Append(save.ToRecord(record, reason));
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
