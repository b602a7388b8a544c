using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace ClaudeOrchestrator.Engine.Records
{
    /// <summary>
    /// A task's salvage claim: a lock file in its directory, gone when disposed, held by whoever
    /// is bringing its work back or saving it, so that two sweeps (this process's background one
    /// and a command's, or another process's) never work on one task at once. Another sweep
    /// holding the claim is finishing this very task: waiting for it (bounded) makes a command
    /// that asked for the salvage return after it, not before.
    /// </summary>
    internal static class SalvageClaim
    {
        private const string LockName = "salvage.lock";
        private static readonly TimeSpan ClaimWait = TimeSpan.FromSeconds(60);
        private static readonly TimeSpan ClaimPoll = TimeSpan.FromMilliseconds(50);

        /// <summary>The claim, or null when another holds it past the wait.</summary>
        public static async Task<FileStream> AcquireAsync(string taskId, CancellationToken cancel)
        {
            var lockFile = Path.Combine(TaskStore.DirectoryFor(taskId), LockName);
            for (var waited = TimeSpan.Zero; ; waited += ClaimPoll)
            {
                try
                {
                    return new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
                }
                catch (IOException) when (waited < ClaimWait)
                {
                    await Task.Delay(ClaimPoll, cancel).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    return null;
                }
            }
        }
    }
}
