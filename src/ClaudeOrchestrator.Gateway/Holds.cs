using System;
using System.IO;
using System.Threading.Tasks;

namespace ClaudeOrchestrator.Gateway
{
    /// <summary>
    /// A network holder: a container on the tasks' network whose network one task's container
    /// shares, made ahead of the task so that it starts without joining a network. It runs this
    /// program as "hold", which waits for its stdin to close: the module holds it open, closes it
    /// when the holder's task has ended, and the engine closes it when the module's process is
    /// gone; either way it ends and the engine removes it, as it does the gateway.
    /// </summary>
    internal static class Holds
    {
        public static async Task<int> HoldAsync()
        {
            var buffer = new byte[256];
            using (var input = Console.OpenStandardInput())
            {
                try
                {
                    while (await input.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false) > 0)
                    {
                    }
                }
                catch (IOException)
                {
                    // Closed under it: the same as closed.
                }
            }

            return 0;
        }
    }
}
