using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Planning;

namespace ClaudeOrchestrator.Jobs
{
    /// <summary>
    /// Piped Start-ClaudeTask -AsJob: one job whose child jobs are the tasks, started as the
    /// shared throttle has room. Receive-Job on it receives every task's result; Stop-Job stops
    /// them all and returns when every container is gone.
    /// </summary>
    public sealed class ClaudeTaskFanOutJob : Job
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<ClaudeTaskFanOutJob, Guid> Live =
            new System.Collections.Concurrent.ConcurrentDictionary<ClaudeTaskFanOutJob, Guid>();

        private readonly object _gate = new object();
        private readonly TaskThrottle _throttle;
        private readonly Queue<ClaudeTaskJob> _pending = new Queue<ClaudeTaskJob>();
        private readonly SemaphoreSlim _wake = new SemaphoreSlim(0);
        private readonly Task _scheduler;
        private volatile bool _closed;
        private volatile bool _stopping;

        internal ClaudeTaskFanOutJob(string command, string name, TaskThrottle throttle, Guid runspaceId)
            : base(command, name)
        {
            _throttle = throttle;
            Live[this] = runspaceId;
            PSJobTypeName = "ClaudeTaskFanOutJob";
            SetJobState(JobState.Running);
            _scheduler = Task.Run(ScheduleAsync);
        }

        public override string Location => Environment.MachineName;

        public override bool HasMoreData => ChildJobs.Any(c => c.HasMoreData);

        public override string StatusMessage =>
            $"{ChildJobs.Count(c => ClaudeTaskJob.IsFinishedState(c.JobStateInfo.State))} of {ChildJobs.Count} done, {_throttle.Running} running (limit {_throttle.Limit})";

        internal void Add(ClaudeTaskJob child)
        {
            child.StateChanged += (_, __) => _wake.Release();
            lock (_gate)
            {
                ChildJobs.Add(child);
                _pending.Enqueue(child);
            }

            _wake.Release();
        }

        /// <summary>No more tasks will be added: the job ends when the last one does.</summary>
        internal void Close()
        {
            _closed = true;
            _wake.Release();
        }

        private async Task ScheduleAsync()
        {
            while (true)
            {
                lock (_gate)
                {
                    while (!_stopping && _pending.Count > 0 && _throttle.HasRoom)
                    {
                        var next = _pending.Dequeue();
                        _throttle.Enter();
                        next.StateChanged += (_, e) =>
                        {
                            if (ClaudeTaskJob.IsFinishedState(e.JobStateInfo.State))
                            {
                                _throttle.Leave();
                            }
                        };
                        next.Start();
                    }

                    if (_closed && (_pending.Count == 0 || _stopping) && ChildJobs.All(c => ClaudeTaskJob.IsFinishedState(c.JobStateInfo.State)))
                    {
                        break;
                    }
                }

                // Woken by a child's state change or a new child; the timeout covers a throttle that rose.
                await _wake.WaitAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
            }

            Live.TryRemove(this, out _);
            var states = ChildJobs.Select(c => c.JobStateInfo.State).ToList();
            SetJobState(states.Contains(JobState.Failed) ? JobState.Failed
                : states.Contains(JobState.Stopped) || _stopping ? JobState.Stopped
                : JobState.Completed);
        }

        /// <summary>
        /// Module removal in <paramref name="runspaceId"/>: tasks still waiting for a place never
        /// start (their containers would outlive the module's flush); running ones end with it.
        /// </summary>
        internal static void HoldPending(Guid runspaceId)
        {
            foreach (var job in Live.Where(j => j.Value == runspaceId).Select(j => j.Key).ToList())
            {
                List<ClaudeTaskJob> pending;
                lock (job._gate)
                {
                    job._stopping = true;
                    job._closed = true;
                    pending = job._pending.ToList();
                    job._pending.Clear();
                }

                foreach (var child in pending)
                {
                    child.StopJob();
                }

                job._wake.Release();
            }
        }

        public override void StopJob()
        {
            if (ClaudeTaskJob.IsFinishedState(JobStateInfo.State))
            {
                return;
            }

            SetJobState(JobState.Stopping);
            _stopping = true;
            _closed = true;
            List<Job> children;
            lock (_gate)
            {
                children = ChildJobs.ToList();
            }

            // All at once: each stop returns when its container is gone.
            Task.WaitAll(children.Select(c => Task.Run(() => c.StopJob())).ToArray());
            _wake.Release();
            _scheduler.GetAwaiter().GetResult();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                foreach (var child in ChildJobs)
                {
                    child.Dispose();
                }
            }

            base.Dispose(disposing);
        }
    }
}
