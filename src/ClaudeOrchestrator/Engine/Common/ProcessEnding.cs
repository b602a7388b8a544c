using System;
using System.Threading;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>
    /// Whether the process is on its way out (an exit, a fatal signal, a crash) and the module is
    /// removing what it made. A task's result waits for that to finish before it is reported, so
    /// the pipeline cannot end the process first: with the exit code it chose, and with its
    /// gateways and networks still there.
    /// </summary>
    internal static class ProcessEnding
    {
        private static readonly ManualResetEventSlim Done = new ManualResetEventSlim(false);
        private static int _ending;

        public static bool IsEnding => Volatile.Read(ref _ending) == 1;

        public static void Begin() => Interlocked.Exchange(ref _ending, 1);

        public static void End() => Done.Set();

        /// <summary>Waits (at most <paramref name="limit"/>) while the process's own cleanup runs; returns at once otherwise.</summary>
        public static void WaitWhileEnding(TimeSpan limit)
        {
            if (IsEnding)
            {
                Done.Wait(limit);
            }
        }
    }
}
