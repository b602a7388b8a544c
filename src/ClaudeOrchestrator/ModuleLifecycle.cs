using System;
using System.IO;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Threading;
using ClaudeOrchestrator.Engine;

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
            ShutdownHooks.Flush(runspace.Value, CleanupReason.ModuleRemoved);
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
