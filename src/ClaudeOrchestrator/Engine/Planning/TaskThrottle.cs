using System;

namespace ClaudeOrchestrator.Engine.Planning
{
    /// <summary>
    /// How many tasks of one fan-out run at once. The limit halves (down to one) each time a task
    /// is pushed back by the API (rate limited, overloaded) and climbs back by one with each task
    /// that succeeds, so a pipeline slows down while the API asks it to instead of failing.
    /// </summary>
    internal sealed class TaskThrottle
    {
        private readonly object _gate = new object();
        private int _running;

        public TaskThrottle(int limit)
        {
            MaxLimit = Math.Max(1, limit);
            Limit = MaxLimit;
        }

        public int MaxLimit { get; }

        /// <summary>The current limit, between 1 and <see cref="MaxLimit"/>.</summary>
        public int Limit { get; private set; }

        public int Running
        {
            get
            {
                lock (_gate)
                {
                    return _running;
                }
            }
        }

        /// <summary>True when another task may start now.</summary>
        public bool HasRoom
        {
            get
            {
                lock (_gate)
                {
                    return _running < Limit;
                }
            }
        }

        /// <summary>Claims a place; the one scheduler checks <see cref="HasRoom"/> first.</summary>
        public void Enter()
        {
            lock (_gate)
            {
                _running++;
            }
        }

        public void Leave()
        {
            lock (_gate)
            {
                _running--;
            }
        }

        /// <summary>The API pushed back: fewer tasks at once. Returns the new limit.</summary>
        public int Lower()
        {
            lock (_gate)
            {
                Limit = Math.Max(1, Limit / 2);
                return Limit;
            }
        }

        /// <summary>A task succeeded: one more at once, up to the limit asked for.</summary>
        public void Succeeded()
        {
            lock (_gate)
            {
                if (Limit < MaxLimit)
                {
                    Limit++;
                }
            }
        }
    }
}
