using System;
using System.Collections.Generic;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Live;
using ClaudeOrchestrator.Engine.Egress;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Tasks;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Engine.Cleanup
{
    /// <summary>
    /// Removes every tracked container when the process is going away: normal exit, SIGTERM,
    /// SIGHUP (terminal closed), SIGQUIT and unhandled exceptions. SIGKILL cannot be caught; the
    /// in-container watcher covers it.
    /// </summary>
    internal static class ShutdownHooks
    {
        /// <summary>
        /// How long the work of the stopped tasks may take to save once their containers are gone
        /// (git on the host, no engine involved): a base plus a little per task.
        /// </summary>
        internal static TimeSpan SaveBudget(int tasks) => TimeSpan.FromSeconds(30 + tasks);

        // Above this many containers a shutdown flush says on stderr what it is doing.
        private const int AnnounceAbove = 20;

        // Registrations unregister when collected: keep them for the life of the process.
        private static readonly List<object> SignalRegistrations = new List<object>();
        private static int _installed;

        public static void Install()
        {
            if (Interlocked.Exchange(ref _installed, 1) == 1)
            {
                return;
            }

            // The first contact with each engine sweeps its orphans, in the background.
            DockerConnection.Reached += OrphanSweeper.EnsureSwept;
            AppDomain.CurrentDomain.ProcessExit += (sender, args) => FlushEverything(CleanupReason.ProcessExit);
            AppDomain.CurrentDomain.UnhandledException += (sender, args) => FlushEverything(CleanupReason.Crash);
            RegisterPosixSignals("SIGHUP", "SIGTERM", "SIGQUIT");
        }

        /// <summary>
        /// Removes the containers of <paramref name="runspace"/> (every runspace when null), then
        /// saves their tasks' work: with the containers gone, nothing writes into the checkouts.
        /// </summary>
        /// <param name="progress">Hears (removed, total) every quarter second while containers remain, on the calling thread.</param>
        public static void Flush(Guid? runspace, CleanupReason reason, Action<int, int> progress = null)
        {
            ContainerTracker.Close(runspace);
            ContainerTracker.Flush(c => runspace == null || c.RunspaceId == runspace.Value, reason, progress);
            // The gateways once the tasks they served are gone (all of them when the process goes, the idle ones when one
            // runspace does), while the tasks' work is saved: an exit should take no longer than the longer of the two.
            var gateways = runspace == null ? EgressGateways.StopAllAsync() : EgressGateways.StopIdleAsync();
            TaskSession.FinishAll(s => runspace == null || s.RunspaceId == runspace.Value, reason, SaveBudget);
            gateways.Wait(TimeSpan.FromSeconds(10));
            if (runspace == null)
            {
                // Last: the gateways on remote engines were stopped through these.
                SshTunnel.CloseAll();
            }
        }

        private static void FlushEverything(CleanupReason reason)
        {
            ProcessEnding.Begin();
            try
            {
                // No host to draw progress on while the process goes away: one line on stderr when it takes a while.
                var announced = false;
                Flush(null, reason, (done, total) =>
                {
                    if (!announced && total > AnnounceAbove)
                    {
                        announced = true;
                        Console.Error.WriteLine($"claude-orchestrator: removing {total - done} of {total} task containers before exit ...");
                    }
                });
            }
            catch (Exception)
            {
                // The process is going away regardless; the in-container watcher removes the rest.
            }
            finally
            {
                // The board's file of this process: readers would skip it once the process is gone, but need not.
                LiveBoard.Close();
                ProcessEnding.End();
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
