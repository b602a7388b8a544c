using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Live;

namespace ClaudeOrchestrator.Engine.Planning
{
    /// <summary>
    /// What the tasks of one Start-ClaudeTask have spent: the cost the ended ones reported plus
    /// the cost so far of the running ones (estimated from their tokens until their agent
    /// reports it). Once that reaches the limit no further task starts; with -StopAtBudget the
    /// running ones are stopped too, as Ctrl+C stops them (their work is saved). Checked as a
    /// task asks to start, as one ends, and every second while any runs.
    /// </summary>
    internal sealed class FanOutBudget
    {
        private static readonly TimeSpan CheckPeriod = TimeSpan.FromSeconds(1);

        private readonly object _gate = new object();
        private readonly List<LiveTask> _running = new List<LiveTask>();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly bool _stopAtBudget;
        private double? _limit;
        private double _ended;
        private double _spentWhenReached;
        private bool _reached;
        private bool _told;
        private Timer _timer;

        public FanOutBudget(bool stopAtBudget)
        {
            _stopAtBudget = stopAtBudget;
        }

        public bool StopAtBudget => _stopAtBudget;

        /// <summary>Cancelled once the budget is reached with -StopAtBudget: every running task stops as on Ctrl+C.</summary>
        public CancellationToken StopRequested => _stop.Token;

        public bool Stopped => _stop.IsCancellationRequested;

        /// <summary>A task's plan names a limit: the smallest one named applies to the whole fan-out.</summary>
        public void Apply(double limit)
        {
            lock (_gate)
            {
                _limit = _limit == null ? limit : Math.Min(_limit.Value, limit);
            }

            Check();
        }

        /// <summary>Before anything of the task exists: false once the budget is spent, and the task never starts.</summary>
        public bool TryStart(LiveTask task)
        {
            Check();
            lock (_gate)
            {
                if (_reached)
                {
                    return false;
                }

                _running.Add(task);
                _timer = _timer ?? new Timer(_ => Check(), null, CheckPeriod, CheckPeriod);
                return true;
            }
        }

        /// <summary>The task ended having reported <paramref name="cost"/> over all its attempts.</summary>
        public void Ended(LiveTask task, double? cost)
        {
            lock (_gate)
            {
                if (_running.Remove(task))
                {
                    _ended += cost ?? 0;
                }

                if (_running.Count == 0)
                {
                    _timer?.Dispose();
                    _timer = null;
                }
            }

            Check();
        }

        /// <summary>True the first time it is asked after the budget was reached: who asks says so, once.</summary>
        public bool TellOnce()
        {
            lock (_gate)
            {
                if (!_reached || _told)
                {
                    return false;
                }

                _told = true;
                return true;
            }
        }

        /// <summary>The budget in words, for reasons and warnings.</summary>
        public string Describe()
        {
            lock (_gate)
            {
                return string.Format(CultureInfo.InvariantCulture, "the fan-out's budget of ${0:0.00##} (-MaxTotalBudgetUsd) was reached: ${1:0.0000} spent",
                    _limit ?? 0, _reached ? _spentWhenReached : SpentLocked());
            }
        }

        /// <summary>Under the gate: what ended tasks reported and running ones have spent so far.</summary>
        private double SpentLocked() => _ended + _running.Sum(t => t.Cost(out _) ?? 0);

        private void Check()
        {
            var stop = false;
            lock (_gate)
            {
                if (_reached || _limit == null)
                {
                    return;
                }

                var spent = SpentLocked();
                if (spent < _limit.Value)
                {
                    return;
                }

                _reached = true;
                _spentWhenReached = spent;
                stop = _stopAtBudget;
            }

            if (stop)
            {
                // Not under the lock nor on the caller's thread: cancelling runs each task's stop.
                Task.Run(() => _stop.Cancel());
            }
        }
    }
}
