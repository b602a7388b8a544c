using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// Many concurrent tasks from one process. Start: time until all run, for the piped fan-out
/// (one throttle, -ThrottleLimit = count), for as many separate Start-ClaudeTask -AsJob calls
/// (no throttle), and for the engine's own create+start (raw API, 16 in flight). Flush: Remove-Module,
/// SIGTERM to a host process and Ctrl+C (pipeline Stop) of that many running tasks against raw
/// parallel DELETE of as many running containers. Also what each running task costs this process
/// (file descriptors, threads, managed memory) and journal lines that disagree with the engine.
/// Every figure of one count comes from the same run.
/// </summary>
public static class Scale
{
    private const string OwnerLabel = "io.claude-orchestrator.owner-pid";
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    private sealed record Row(
        int Count, TimeSpan RawStart, TimeSpan RawRemove, TimeSpan FanOut, TimeSpan Plain,
        TimeSpan RemoveModule, TimeSpan Sigterm, TimeSpan CtrlC, int LeftAtReturn,
        double FdsPerTask, double ThreadsPerTask, double ManagedKbPerTask, int Disagreeing);

    public static async Task<int> RunAsync(int[] counts, string image)
    {
        Console.WriteLine($"Engine: {DockerCli.Run("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})").Stdout.Trim()}; {Environment.ProcessorCount} cores; one run per count and way");
        using var api = new EngineApi();
        var project = Directory.CreateTempSubdirectory("co-scale-");
        var rows = new List<Row>();
        try
        {
            foreach (var count in counts)
            {
                var (rawStart, rawRemove) = await Raw(api, image, count);
                var fanOut = await InRunspace(api, project.FullName, image, count, piped: true);
                var plain = await InRunspace(api, project.FullName, image, count, piped: false);
                var sigterm = await Sigterm(api, project.FullName, image, count);
                var ctrlC = await CtrlC(api, project.FullName, image, count);
                var row = new Row(count, rawStart, rawRemove, fanOut.Running, plain.Running, fanOut.Flush, sigterm.Flush, ctrlC.Flush,
                    fanOut.Left + sigterm.Left + ctrlC.Left, fanOut.Fds, fanOut.Threads, fanOut.ManagedKb,
                    fanOut.Disagreeing + sigterm.Disagreeing + ctrlC.Disagreeing);
                rows.Add(row);
                Console.WriteLine(string.Format(Invariant, "{0} tasks: fan-out {1:0.0} s, plain {2:0.0} s, raw {3:0.0} s; Remove-Module {4:0.0} s, SIGTERM {5:0.0} s, Ctrl+C {6:0.0} s, raw DELETE {7:0.0} s",
                    count, fanOut.Running.TotalSeconds, plain.Running.TotalSeconds, rawStart.TotalSeconds, fanOut.Flush.TotalSeconds, sigterm.Flush.TotalSeconds, ctrlC.Flush.TotalSeconds, rawRemove.TotalSeconds));
            }
        }
        finally
        {
            project.Delete(true);
        }

        Console.WriteLine();
        Console.WriteLine("| Tasks | All running: piped fan-out | separate -AsJob calls | engine's own (raw create+start) | fan-out / raw | fan-out / separate |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Format(Invariant, "| {0} | {1:0.0} s | {2:0.0} s | {3:0.0} s | {4:0.00}× | {5:0.00}× |",
                r.Count, r.FanOut.TotalSeconds, r.Plain.TotalSeconds, r.RawStart.TotalSeconds, r.FanOut / r.RawStart, r.FanOut / r.Plain));
        }

        Console.WriteLine();
        Console.WriteLine("| Tasks | Remove-Module | SIGTERM (until the process exits) | Ctrl+C (until Stop returns) | raw parallel DELETE | ratios to raw | left when each returned | per task: fds / threads / managed KB | journal lines disagreeing |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Format(Invariant, "| {0} | {1:0.0} s | {2:0.0} s | {3:0.0} s | {4:0.0} s | {5:0.00}× / {6:0.00}× / {7:0.00}× | {8} | {9:0.00} / {10:0.00} / {11:0} | {12} |",
                r.Count, r.RemoveModule.TotalSeconds, r.Sigterm.TotalSeconds, r.CtrlC.TotalSeconds, r.RawRemove.TotalSeconds,
                r.RemoveModule / r.RawRemove, r.Sigterm / r.RawRemove, r.CtrlC / r.RawRemove, r.LeftAtReturn,
                r.FdsPerTask, r.ThreadsPerTask, r.ManagedKbPerTask, r.Disagreeing));
        }

        var left = DockerCli.ManagedNames().Count;
        Console.WriteLine($"Labelled containers left: {left}");
        return left == 0 && rows.All(r => r.Disagreeing == 0 && r.LeftAtReturn == 0) ? 0 : 1;
    }

    /// <summary>The engine's own rates: create+start and force-delete of <paramref name="count"/> containers, 16 requests in flight.</summary>
    private static async Task<(TimeSpan Start, TimeSpan Remove)> Raw(EngineApi api, string image, int count)
    {
        var names = Enumerable.Range(0, count).Select(i => $"co-scale-raw-{Guid.NewGuid().ToString("N")[..8]}").ToList();
        var labels = new Dictionary<string, string> { ["io.claude-orchestrator.bench"] = "scale" };
        var watch = Stopwatch.StartNew();
        await EngineApi.ForEachAsync(names, 16, name => api.CreateAsync(name, image, new[] { "sleep", "600" }, labels, start: true));
        var start = watch.Elapsed;
        watch.Restart();
        await EngineApi.ForEachAsync(names, 16, name => api.ForceRemoveAsync(name));
        return (start, watch.Elapsed);
    }

    private sealed record Measured(TimeSpan Running, TimeSpan Flush, int Left, double Fds = 0, double Threads = 0, double ManagedKb = 0, int Disagreeing = 0);

    private static string Tasks(string project, int count) =>
        $"1..{count} | ForEach-Object {{ [pscustomobject]@{{ Path = '{project}'; Description = 'ignore-term 600' }} }}";

    /// <summary>
    /// Tasks as jobs in this process: <paramref name="piped"/> through one fan-out, otherwise one
    /// Start-ClaudeTask -AsJob call each (no throttle); then Remove-Module flushes them.
    /// </summary>
    private static async Task<Measured> InRunspace(EngineApi api, string project, string image, int count, bool piped)
    {
        using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        Benchmarks.Invoke(runspace, $"Import-Module '{Repo.Manifest}' -ErrorAction Stop");
        var (fds, threads, managed) = Footprint();
        var label = OwnerLabel + "=" + Environment.ProcessId;
        var watch = Stopwatch.StartNew();
        Benchmarks.Invoke(runspace, piped
            ? $"$j = {Tasks(project, count)} | Start-ClaudeTask -Image {image} -Isolation None -AsJob -ThrottleLimit {count}"
            : $"$j = 1..{count} | ForEach-Object {{ Start-ClaudeTask -Path '{project}' -Description 'ignore-term 600' -Image {image} -Isolation None -AsJob }}");
        await WaitAllRunning(api, label, count, watch);
        var running = watch.Elapsed;
        // Settled: every task attached and streaming.
        await Task.Delay(2000);
        var (fdsAt, threadsAt, managedAt) = Footprint();
        var ids = await Ids(api, label);

        watch.Restart();
        Benchmarks.Invoke(runspace, "Remove-Module ClaudeOrchestrator");
        var flush = watch.Elapsed;
        var left = (await api.ListByLabelAsync(label)).Count;
        return new Measured(running, flush, left, (double)(fdsAt - fds) / count, (double)(threadsAt - threads) / count,
            (managedAt - managed) / 1024.0 / count, await Disagreeing(api, ids));
    }

    /// <summary>SIGTERM to a host process running <paramref name="count"/> task jobs: time until it exits.</summary>
    private static async Task<Measured> Sigterm(EngineApi api, string project, string image, int count)
    {
        using var host = HostProcess.Start(
            $"$j = {Tasks(project, count)} | Start-ClaudeTask -Image {image} -Isolation None -AsJob -ThrottleLimit {count}; [Console]::WriteLine('submitted'); $j | Wait-Job");
        var watch = Stopwatch.StartNew();
        host.WaitForLine(l => l.Contains("submitted"), Limit);
        var label = OwnerLabel + "=" + host.Id;
        await WaitAllRunning(api, label, count, watch);
        await Task.Delay(2000);
        var ids = await Ids(api, label);
        watch.Restart();
        host.Signal(HostProcess.SIGTERM);
        if (!host.WaitForExit(Limit))
        {
            throw new TimeoutException("The host did not exit after SIGTERM.");
        }

        var flush = watch.Elapsed;
        var left = (await api.ListByLabelAsync(label)).Count;
        return new Measured(watch.Elapsed, flush, left, Disagreeing: await Disagreeing(api, ids));
    }

    /// <summary>Ctrl+C of a piped fan-out of <paramref name="count"/> running tasks: time until Stop returns.</summary>
    private static async Task<Measured> CtrlC(EngineApi api, string project, string image, int count)
    {
        using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        Benchmarks.Invoke(runspace, $"Import-Module '{Repo.Manifest}' -ErrorAction Stop");
        var label = OwnerLabel + "=" + Environment.ProcessId;
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript($"{Tasks(project, count)} | Start-ClaudeTask -Image {image} -Isolation None -ThrottleLimit {count}");
        var watch = Stopwatch.StartNew();
        var pending = ps.BeginInvoke();
        await WaitAllRunning(api, label, count, watch);
        await Task.Delay(2000);
        var ids = await Ids(api, label);
        watch.Restart();
        ps.Stop();
        var flush = watch.Elapsed;
        var left = (await api.ListByLabelAsync(label)).Count;
        try
        {
            ps.EndInvoke(pending);
        }
        catch (PipelineStoppedException)
        {
        }

        Benchmarks.Invoke(runspace, "Remove-Module ClaudeOrchestrator");
        return new Measured(flush, flush, left, Disagreeing: await Disagreeing(api, ids));
    }

    private static async Task WaitAllRunning(EngineApi api, string label, int count, Stopwatch watch)
    {
        while ((await api.ListByLabelAsync(label)).Count(c => c.State == "running") < count)
        {
            if (watch.Elapsed > Limit)
            {
                throw new TimeoutException($"{count} tasks were not all running after {Limit.TotalMinutes} minutes.");
            }

            await Task.Delay(200);
        }
    }

    private static async Task<List<string>> Ids(EngineApi api, string label) => (await api.ListByLabelAsync(label)).Select(c => c.Id).ToList();

    /// <summary>Containers whose journal line (exactly one expected) says other than what the engine shows now.</summary>
    private static async Task<int> Disagreeing(EngineApi api, IEnumerable<string> ids)
    {
        var journal = Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator", "cleanup.jsonl");
        var lines = File.Exists(journal) ? File.ReadAllLines(journal) : Array.Empty<string>();
        var disagreeing = 0;
        foreach (var id in ids)
        {
            var mine = lines.Where(l => l.Contains($"\"id\":\"{id[..12]}\"") && !l.Contains("\"outcome\":\"Usage\"")).ToList();
            var gone = !await api.ExistsAsync(id);
            var saysGone = mine.Count == 1 && (mine[0].Contains("\"outcome\":\"Removed\"") || mine[0].Contains("\"outcome\":\"AlreadyGone\""));
            if (mine.Count != 1 || saysGone != gone)
            {
                disagreeing++;
            }
        }

        return disagreeing;
    }

    private static (int Fds, int Threads, long Managed) Footprint()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var self = Process.GetCurrentProcess();
        return (Directory.GetFiles("/proc/self/fd").Length, self.Threads.Count, GC.GetTotalMemory(true));
    }
}
