using System;
using System.IO;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Threading;
using ClaudeOrchestrator.Engine.Cleanup;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator
{
    /// <summary>
    /// Import and removal hooks. Removing the module removes the containers its runspace started;
    /// process exit, signals and crashes remove every container the process still tracks.
    /// </summary>
    public sealed class ModuleLifecycle : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        private static int _resolverInstalled;
        private static readonly string ModuleDirectory = Path.GetDirectoryName(typeof(ModuleLifecycle).Assembly.Location);

        public void OnImport()
        {
            if (Interlocked.Exchange(ref _resolverInstalled, 1) == 0)
            {
                AppDomain.CurrentDomain.AssemblyResolve += ResolveFromModuleDirectory;
            }

            ShutdownHooks.Install();
            if (Runspace.DefaultRunspace != null)
            {
                // Removed and imported again: this runspace's tasks may create containers again.
                ContainerTracker.Reopen(Runspace.DefaultRunspace.InstanceId);
            }

            OrphanSweeper.SweepCurrentInBackground();
        }

        public void OnRemove(PSModuleInfo psModuleInfo)
        {
            var runspace = Runspace.DefaultRunspace?.InstanceId;
            if (runspace == null)
            {
                return;
            }

            // Other runspaces in this process keep their containers: they are still using them.
            Jobs.ClaudeTaskFanOutJob.HoldPending(runspace.Value);
            var progress = new RemovalProgress(psModuleInfo);
            ShutdownHooks.Flush(runspace.Value, CleanupReason.ModuleRemoved, progress.Report);
            progress.Complete();
        }

        /// <summary>
        /// Remove-Module runs OnRemove on its pipeline thread, so a long flush (hundreds of
        /// containers) can show a progress bar on the session's host: after its first second.
        /// </summary>
        private sealed class RemovalProgress
        {
            private const int ActivityId = 0x434f;
            private readonly System.Management.Automation.Host.PSHostUserInterface _ui;
            private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
            private bool _shown;

            public RemovalProgress(PSModuleInfo module)
            {
                _ui = (module?.SessionState?.PSVariable.GetValue("Host") as System.Management.Automation.Host.PSHost)?.UI;
            }

            public void Report(int done, int total)
            {
                if (_ui == null || total == 0 || _clock.Elapsed < TimeSpan.FromSeconds(1))
                {
                    return;
                }

                Write(new ProgressRecord(ActivityId, "Remove-Module ClaudeOrchestrator", $"Removing task containers: {done} of {total} gone")
                {
                    PercentComplete = Math.Min(99, done * 100 / total),
                });
            }

            public void Complete()
            {
                if (_shown)
                {
                    Write(new ProgressRecord(ActivityId, "Remove-Module ClaudeOrchestrator", "Done") { RecordType = ProgressRecordType.Completed });
                }
            }

            private void Write(ProgressRecord record)
            {
                try
                {
                    _ui.WriteProgress(0, record);
                    _shown = true;
                }
                catch (Exception)
                {
                    // A host that cannot draw progress simply shows none.
                }
            }
        }

        /// <summary>
        /// Windows PowerShell binds dependencies by exact version and does not look beside the
        /// module; pwsh may also miss them. Serve any dependency shipped in the module folder.
        /// </summary>
        private static Assembly ResolveFromModuleDirectory(object sender, ResolveEventArgs args)
        {
            var name = new AssemblyName(args.Name).Name;
            var candidate = Path.Combine(ModuleDirectory ?? string.Empty, name + ".dll");
            return File.Exists(candidate) ? Assembly.LoadFrom(candidate) : null;
        }
    }
}
