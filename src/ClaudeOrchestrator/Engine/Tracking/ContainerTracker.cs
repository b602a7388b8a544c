using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Journal;

namespace ClaudeOrchestrator.Engine.Tracking
{
    /// <summary>
    /// The one process-wide record of active containers, shared by every runspace that imports
    /// the module. Containers enter it the moment they exist and leave it once they are gone.
    /// </summary>
    internal static class ContainerTracker
    {
        private static readonly ConcurrentDictionary<string, TrackedContainer> Active =
            new ConcurrentDictionary<string, TrackedContainer>(StringComparer.Ordinal);

        // Containers whose create request is in flight, by name: their id is not known yet, but a
        // flush must not miss them, or a signal during the create would leave one behind.
        private static readonly ConcurrentDictionary<string, Task<TrackedContainer>> Creating =
            new ConcurrentDictionary<string, Task<TrackedContainer>>(StringComparer.Ordinal);

        public static int Count => Active.Count;

        public static void Add(TrackedContainer container) => Active[container.Id] = container;

        private static readonly object CreateGate = new object();
        private static readonly HashSet<Guid> ClosedRunspaces = new HashSet<Guid>();
        private static bool _closedToAll;

        /// <summary>
        /// From now on no container is created for <paramref name="runspace"/> (null: for anyone,
        /// the process is going): a flush is about to take its snapshot. A create already
        /// announced is waited for by the flush; one announced after this is refused, so a task
        /// that was still waiting to launch (hundreds may be) cannot create one behind the flush.
        /// </summary>
        public static void Close(Guid? runspace)
        {
            lock (CreateGate)
            {
                if (runspace == null)
                {
                    _closedToAll = true;
                }
                else
                {
                    ClosedRunspaces.Add(runspace.Value);
                }
            }
        }

        /// <summary>The module was imported again into <paramref name="runspace"/>: its tasks may create containers again.</summary>
        public static void Reopen(Guid runspace)
        {
            lock (CreateGate)
            {
                ClosedRunspaces.Remove(runspace);
            }
        }

        /// <summary>
        /// Announces a create request about to be sent; complete it with <see cref="EndCreate"/>.
        /// Refused (OperationCanceledException) once <see cref="Close"/> covers the runspace.
        /// </summary>
        public static TaskCompletionSource<TrackedContainer> BeginCreate(string name, Guid runspace)
        {
            lock (CreateGate)
            {
                if (_closedToAll || ClosedRunspaces.Contains(runspace))
                {
                    throw new OperationCanceledException("The module is being removed (or the process is exiting): the task's container was not created.");
                }

                var pending = new TaskCompletionSource<TrackedContainer>(TaskCreationOptions.RunContinuationsAsynchronously);
                Creating[name] = pending.Task;
                return pending;
            }
        }

        /// <summary>The create returned (<paramref name="created"/>) or failed (null); a waiting flush goes on.</summary>
        public static void EndCreate(string name, TaskCompletionSource<TrackedContainer> pending, TrackedContainer created)
        {
            // Tracked before it stops being "creating", so a flush always sees it in one or the other.
            if (created != null)
            {
                Add(created);
            }

            Creating.TryRemove(name, out _);
            pending.TrySetResult(created);
        }

        /// <summary>
        /// Records how a removal of a tracked container went: a container that is gone leaves the
        /// tracker, and the journal gets one line for it, whoever got there first.
        /// </summary>
        public static void Settle(RemovalOutcome outcome, CleanupReason reason)
        {
            if (outcome.Removed)
            {
                if (Active.TryRemove(outcome.Id, out var gone))
                {
                    CleanupJournal.Append(outcome.ToRecord(gone.StopReason ?? reason, gone.TaskId, gone.ProjectName));
                    gone.MarkSettled(outcome);
                }
            }
            else if (Active.TryGetValue(outcome.Id, out var stuck))
            {
                // Only a confirmed failure gets here (the engine stopped answering, or refused
                // repeatedly): the container stays tracked, and a later removal journals again.
                CleanupJournal.Append(outcome.ToRecord(reason, stuck.TaskId, stuck.ProjectName));
                stuck.MarkSettled(outcome);
            }
        }

        public static bool IsTracked(string id) => Active.ContainsKey(id);

        /// <summary>Stops tracking <paramref name="id"/> without a journal line: an object that ends by itself once its engine connection is gone.</summary>
        public static void Forget(string id) => Active.TryRemove(id, out _);

        /// <summary>
        /// Settles as AlreadyGone the containers of <paramref name="connection"/> tracked before
        /// <paramref name="listedFrom"/> that a complete listing of this session's containers
        /// (<paramref name="listedIds"/>) no longer shows; returns their names.
        /// </summary>
        public static IReadOnlyList<string> ForgetGone(DockerConnection connection, IEnumerable<string> listedIds, DateTime listedFrom)
        {
            var listed = new HashSet<string>(listedIds, StringComparer.Ordinal);
            var gone = Active.Values
                .Where(c => c.Connection == connection && c.TrackedAt < listedFrom && !listed.Contains(c.Id))
                .ToList();
            foreach (var container in gone)
            {
                Settle(new RemovalOutcome(container.Id, container.Name, true, false, DateTime.UtcNow - container.TrackedAt, null), container.StopReason ?? CleanupReason.Manual);
            }

            return gone.Select(c => c.Name).ToList();
        }

        public static IReadOnlyList<TrackedContainer> Snapshot() => Active.Values.ToList();

        public static bool TryGet(string id, out TrackedContainer container) => Active.TryGetValue(id, out container);

        /// <summary>
        /// Stops the owning tasks and removes the matching containers, as many at once as the
        /// engine takes, until each is confirmed gone: no fixed budget, only the engine's answers
        /// bound it (see <see cref="ContainerRemover.RemoveConfirmedAsync"/>). Returns the outcome
        /// of each removal; <paramref name="progress"/> hears (done, total) after each. Never throws.
        /// </summary>
        public static async Task<IReadOnlyList<RemovalOutcome>> FlushAsync(Func<TrackedContainer, bool> which, CleanupReason reason, Action<int, int> progress = null)
        {
            List<Task<TrackedContainer>> creating;
            lock (CreateGate)
            {
                creating = Creating.Values.ToList();
            }

            if (creating.Count > 0)
            {
                // A create takes tens of milliseconds: wait for its id rather than leave its container.
                await Task.WhenAny(Task.WhenAll(creating), Task.Delay(ContainerRemover.RequestLimit)).ConfigureAwait(false);
            }

            var targets = Active.Values.Where(which).ToList();
            foreach (var target in targets)
            {
                target.RequestStop(reason);
            }

            var done = 0;
            return await ContainerRemover.InParallelAsync(targets, ContainerRemover.MaxParallelRemovals, async target =>
            {
                var outcome = await ContainerRemover.RemoveConfirmedAsync(target.Connection, target.Id, target.Name, kind: target.Kind).ConfigureAwait(false);
                Settle(outcome, reason);
                progress?.Invoke(Interlocked.Increment(ref done), targets.Count);
                return outcome;
            }).ConfigureAwait(false);
        }

        /// <summary>
        /// Blocking flush for shutdown paths (process exit, signals, module removal). The flush runs
        /// on the thread pool (no caller's synchronization context can deadlock it); the calling
        /// thread reports progress through <paramref name="progress"/> every quarter second while it waits.
        /// </summary>
        public static IReadOnlyList<RemovalOutcome> Flush(Func<TrackedContainer, bool> which, CleanupReason reason, Action<int, int> progress = null)
        {
            if (Active.IsEmpty && Creating.IsEmpty)
            {
                return Array.Empty<RemovalOutcome>();
            }

            var done = 0;
            var total = Active.Values.Count(which);
            var flush = Task.Run(() => FlushAsync(which, reason, (d, t) => { Volatile.Write(ref done, d); Volatile.Write(ref total, t); }));
            while (!flush.Wait(TimeSpan.FromMilliseconds(250)))
            {
                progress?.Invoke(Volatile.Read(ref done), Volatile.Read(ref total));
            }

            return flush.GetAwaiter().GetResult();
        }
    }
}
