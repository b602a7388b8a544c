using System.Diagnostics;

namespace ClaudeOrchestrator.Testing;

/// <summary>A test's own daemon (dockerd, sshd): started with its output kept, and waited for until it answers.</summary>
public static class DaemonProcess
{
    /// <summary>Starts <paramref name="start"/> and waits until <paramref name="answers"/>; throws with what it printed if it exits or a minute passes.</summary>
    public static Process StartAndWait(ProcessStartInfo start, Func<bool> answers, string what)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var daemon = Process.Start(start)!;
        var log = new System.Text.StringBuilder();
        daemon.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        daemon.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();

        if (!Eventually.Last(() => !daemon.HasExited && answers(), up => up || daemon.HasExited, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100)))
        {
            lock (log)
            {
                throw new InvalidOperationException($"{what} did not come up: {log}");
            }
        }

        return daemon;
    }

    /// <summary>Stops a daemon the way a service manager does (SIGTERM to <paramref name="pid"/>, by default the process itself), waits a minute, then kills it.</summary>
    public static void Stop(Process daemon, int? pid = null)
    {
        if (daemon == null || daemon.HasExited)
        {
            daemon?.Dispose();
            return;
        }

        HostProcess.Kill(pid ?? daemon.Id, HostProcess.SIGTERM);
        if (!daemon.WaitForExit(60_000))
        {
            daemon.Kill(entireProcessTree: true);
            daemon.WaitForExit();
        }

        daemon.Dispose();
    }
}
