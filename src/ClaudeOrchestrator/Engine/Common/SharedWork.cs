using System.Threading;
using System.Threading.Tasks;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>Work several callers share (a gateway starting, an image loading): one caller may stop waiting for it without stopping it for the others.</summary>
    internal static class SharedWork
    {
        /// <summary><paramref name="work"/>'s result, or an OperationCanceledException once <paramref name="cancel"/> fires; the work goes on either way.</summary>
        public static async Task<T> WaitAsync<T>(Task<T> work, CancellationToken cancel)
        {
            await Task.WhenAny(work, Task.Delay(Timeout.Infinite, cancel)).ConfigureAwait(false);
            cancel.ThrowIfCancellationRequested();
            return await work.ConfigureAwait(false);
        }
    }
}
