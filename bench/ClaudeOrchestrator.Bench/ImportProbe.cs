using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>Import-Module measured in a process that has never loaded the module.</summary>
public static class ImportProbe
{
    /// <summary>
    /// A runspace of a fresh process that has run one command already, so that what is timed
    /// after it is the module's import, not PowerShell's own first-command start-up.
    /// </summary>
    private static Runspace WarmRunspace()
    {
        var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        using var warmup = PowerShell.Create();
        warmup.Runspace = runspace;
        warmup.AddScript("$null = Get-Command Get-Command").Invoke();
        return runspace;
    }

    /// <summary>Imports the module into <paramref name="runspace"/>; returns how long that took, in ms, or null when it failed.</summary>
    private static double? TimeImport(Runspace runspace)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript($"Import-Module '{Repo.Manifest}' -ErrorAction Stop");
        var watch = Stopwatch.StartNew();
        ps.Invoke();
        return ps.HadErrors ? null : watch.Elapsed.TotalMilliseconds;
    }

    /// <summary>Prints the cold import time in ms (run as "import-probe" in a fresh process).</summary>
    public static int Run()
    {
        using var runspace = WarmRunspace();
        var imported = TimeImport(runspace);
        Console.WriteLine((imported ?? double.NaN).ToString("0.0", CultureInfo.InvariantCulture) + " ms");
        return imported == null ? 1 : 0;
    }

    /// <summary>
    /// Prints the cold import time and then the time from the import's end until no labelled
    /// container is left on the engine, all in ms (run as "sweep-probe" with orphans present).
    /// </summary>
    public static async Task<int> RunSweep()
    {
        using var runspace = WarmRunspace();
        var imported = TimeImport(runspace);
        if (imported == null)
        {
            return 1;
        }

        var watch = Stopwatch.StartNew();
        using var api = new EngineApi();
        while ((await api.ListByLabelAsync("io.claude-orchestrator.managed=true")).Count > 0)
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(30))
            {
                return 1;
            }

            await Task.Delay(5);
        }

        Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0:0.0} {1:0.0}", imported.Value, watch.Elapsed.TotalMilliseconds));
        return 0;
    }

    /// <summary>A fresh process's Import-Module and Get-ClaudeContainer -All; prints the count listed.</summary>
    public static int RunList()
    {
        using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript($"Import-Module '{Repo.Manifest}' -ErrorAction Stop; @(Get-ClaudeContainer -All).Count");
        var count = ps.Invoke().Single();
        Console.WriteLine(count);
        return ps.HadErrors ? 1 : 0;
    }

    /// <summary>Managed heap growth caused by a first import plus one Get-ClaudeContainer, in MB.</summary>
    public static double MeasureMemoryMb()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ClaudeOrchestrator.Bench.dll"));
        start.ArgumentList.Add("memory-probe");
        using var probe = Process.Start(start)!;
        var text = probe.StandardOutput.ReadToEnd();
        probe.WaitForExit();
        return double.Parse(text.Trim(), CultureInfo.InvariantCulture);
    }

    public static int RunMemory()
    {
        using var runspace = WarmRunspace();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript($"Import-Module '{Repo.Manifest}' -ErrorAction Stop; $null = Get-ClaudeContainer -All").Invoke();
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine(((after - before) / 1024.0 / 1024.0).ToString("0.00", CultureInfo.InvariantCulture));
        return 0;
    }
}
