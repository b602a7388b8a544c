using System;
using System.Collections.Generic;
using System.Reflection;
using System.Threading;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// Removes every tracked container when the process is going away: normal exit, SIGTERM,
    /// SIGHUP (terminal closed), SIGQUIT and unhandled exceptions. SIGKILL cannot be caught; the
    /// in-container watcher covers it.
    /// </summary>
    internal static class ShutdownHooks
    {
        internal static readonly TimeSpan Budget = TimeSpan.FromSeconds(10);

        // Registrations unregister when collected: keep them for the life of the process.
        private static readonly List<object> SignalRegistrations = new List<object>();
        private static int _installed;

        public static void Install()
        {
            if (Interlocked.Exchange(ref _installed, 1) == 1)
            {
                return;
            }

            AppDomain.CurrentDomain.ProcessExit += (sender, args) => FlushEverything(CleanupReason.ProcessExit);
            AppDomain.CurrentDomain.UnhandledException += (sender, args) => FlushEverything(CleanupReason.Crash);
            RegisterPosixSignals("SIGHUP", "SIGTERM", "SIGQUIT");
        }

        /// <summary>
        /// Removes the containers of <paramref name="runspace"/> (every runspace when null), then
        /// saves their tasks' work: with the containers gone, nothing writes into the checkouts.
        /// </summary>
        public static void Flush(Guid? runspace, CleanupReason reason)
        {
            ContainerTracker.Flush(c => runspace == null || c.RunspaceId == runspace.Value, reason, Budget);
            TaskSession.FinishAll(s => runspace == null || s.RunspaceId == runspace.Value, reason, Budget);
        }

        private static void FlushEverything(CleanupReason reason)
        {
            try
            {
                Flush(null, reason);
            }
            catch (Exception)
            {
                // The process is going away regardless; the in-container watcher removes the rest.
            }
        }

        /// <summary>
        /// PosixSignalRegistration exists on .NET 6+ only, and the module targets netstandard2.0,
        /// so it is reached by reflection. On Windows PowerShell it is absent and nothing happens.
        /// The handler does not cancel the signal: after the flush the process ends as it would have.
        /// SIGINT is left alone on purpose: in pwsh it means "stop the pipeline", not "exit".
        /// </summary>
        private static void RegisterPosixSignals(params string[] signals)
        {
            var registration = Type.GetType("System.Runtime.InteropServices.PosixSignalRegistration, System.Runtime.InteropServices", false);
            var signalType = Type.GetType("System.Runtime.InteropServices.PosixSignal, System.Runtime.InteropServices", false);
            var contextType = Type.GetType("System.Runtime.InteropServices.PosixSignalContext, System.Runtime.InteropServices", false);
            if (registration == null || signalType == null || contextType == null)
            {
                return;
            }

            var create = registration.GetMethod("Create", BindingFlags.Public | BindingFlags.Static);
            var handler = typeof(ShutdownHooks).GetMethod(nameof(Handler), BindingFlags.NonPublic | BindingFlags.Static)
                .MakeGenericMethod(contextType).Invoke(null, null);
            foreach (var name in signals)
            {
                try
                {
                    SignalRegistrations.Add(create.Invoke(null, new[] { Enum.Parse(signalType, name), handler }));
                }
                catch (TargetInvocationException)
                {
                    // Not supported on this platform (e.g. SIGHUP on Windows).
                }
            }
        }

        private static Action<T> Handler<T>() => _ => FlushEverything(CleanupReason.Signal);
    }
}
