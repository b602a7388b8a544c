using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// The test host (a stand-in for pwsh) as a real child process, in its own session and process
/// group so a signal can go to the whole group the way a terminal sends Ctrl+C.
/// </summary>
public sealed class HostProcess : IDisposable
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGQUIT = 3;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = new();
    private readonly ConcurrentQueue<string> _all = new();

    private HostProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (s, e) => Add(e.Data);
        _process.ErrorDataReceived += (s, e) => Add(e.Data == null ? null : "STDERR: " + e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public string Transcript => string.Join("\n", _all);

    /// <param name="script">The PowerShell script the host runs after importing the module.</param>
    /// <param name="user">Run as this (unprivileged) user instead; needs root.</param>
    /// <param name="group">With <paramref name="user"/>: its primary group (e.g. docker, for socket access).</param>
    /// <param name="environment">Variables to set (or, with a null value, remove) for the host.</param>
    /// <param name="hostName">Run in a UTS namespace of its own under this host name: to the module, a session on another machine.</param>
    public static HostProcess Start(string script, string user = null, string group = null, IDictionary<string, string> environment = null, string hostName = null)
    {
        var hostDll = Path.Combine(AppContext.BaseDirectory, "ClaudeOrchestrator.TestHost.dll");
        var start = new ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        // A parent started in the background (nohup, "&" in a script) hands down SIGHUP or SIGINT
        // as ignored; pwsh started from a terminal has them at their defaults, so restore those.
        var command = new List<string>();
        if (hostName != null)
        {
            command.AddRange(new[] { "unshare", "--uts", "sh", "-c", "hostname \"$0\" && exec \"$@\"", hostName });
        }

        command.AddRange(new[] { "env", "--default-signal=HUP,INT,TERM,QUIT" });
        if (user != null)
        {
            command.AddRange(new[] { "runuser", "-u", user });
            if (group != null)
            {
                command.AddRange(new[] { "-g", group });
            }

            command.AddRange(new[] { "--", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp" });
        }

        foreach (var pair in environment ?? new Dictionary<string, string>())
        {
            start.Environment[pair.Key] = pair.Value;
        }

        command.AddRange(new[] { "dotnet", hostDll, Repo.Manifest, script });
        foreach (var arg in command)
        {
            start.ArgumentList.Add(arg);
        }

        return new HostProcess(Process.Start(start)!);
    }

    /// <summary>
    /// A host process that runs one task as a job (<paramref name="taskArguments"/>: Start-ClaudeTask's,
    /// with the stand-in's "write-then-sleep FILE TEXT SECONDS" or "write-then-ignore-term FILE TEXT"), handed back once the agent wrote
    /// <paramref name="file"/>: the moment to signal it with the work in the workspace only.
    /// </summary>
    public static HostProcess StartWhenWritten(string taskArguments, string file, IDictionary<string, string> environment = null, string hostName = null)
    {
        var script = $$"""
            $j = Start-ClaudeTask {{taskArguments}} -AsJob
            while (-not ($j.Information | Where-Object { "$_" -like 'agent: wrote {{file}}, *' })) { [System.Threading.Thread]::Sleep(20) }
            'READY'
            Wait-Job $j | Out-Null
            """;
        var host = Start(script, environment: environment, hostName: hostName);
        try
        {
            host.WaitForLine(l => l == "OUTPUT: READY", TimeSpan.FromSeconds(120));
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    private void Add(string line)
    {
        if (line != null)
        {
            _all.Enqueue(line);
            _lines.Add(line);
        }
    }

    /// <summary>Reads lines until one matches; returns it.</summary>
    public string WaitForLine(Func<string, bool> predicate, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < limit)
        {
            if (_lines.TryTake(out var line, TimeSpan.FromMilliseconds(50)) && predicate(line))
            {
                return line;
            }
        }

        throw new TimeoutException("The host never printed the expected line. Transcript:\n" + Transcript);
    }

    public void Signal(int signal) => Check(kill(_process.Id, signal));

    /// <summary>Writes one line to the host's stdin.</summary>
    public void SendLine(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Signals the host's whole process group, as a terminal does for Ctrl+C.</summary>
    public void SignalGroup(int signal) => Check(kill(-_process.Id, signal));

    /// <summary>
    /// Waits for the host to exit and for its output to be read to the end: the timed
    /// Process.WaitForExit returns before the last lines reach the transcript.
    /// </summary>
    public bool WaitForExit(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            _process.WaitForExitAsync(timeout.Token).GetAwaiter().GetResult();
            return true;
        }
        catch (OperationCanceledException)
        {
            return _process.HasExited;
        }
    }

    public int ExitCode => _process.ExitCode;

    private static void Check(int result)
    {
        if (result != 0)
        {
            throw new InvalidOperationException("kill failed: errno " + Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Sends <paramref name="signal"/> to any process by id.</summary>
    public static void Kill(int pid, int signal) => Check(kill(pid, signal));

    /// <summary>The pid of a process of this host that has ended (for labels of a session that is gone).</summary>
    public static int DeadPid()
    {
        using var process = System.Diagnostics.Process.Start("true")!;
        process.WaitForExit();
        return process.Id;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            kill(_process.Id, SIGKILL);
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }
}
