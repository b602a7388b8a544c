using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// Many concurrent tasks from one process. Start: time until all run, for the piped fan-out
/// (one throttle, -ThrottleLimit = count), for as many separate Start-ClaudeTask -AsJob calls
/// (no throttle), and for the engine's own rates (raw API, 16 in flight): create+start of a plain
/// container of the same image, and create+start+attach of containers configured exactly as the
/// module's (a task's Config and HostConfig: init, mounts, sandbox, auto-remove, stdin held
/// open) — the second is what the engine itself needs for these containers, measured right
/// before and right after the fan-out and averaged, because the engine's rate drifts from one
/// run to the next by more than the module's overhead. Flush:
/// Remove-Module, SIGTERM to a host process and Ctrl+C (pipeline Stop) of that many running
/// tasks against raw parallel DELETE of as many running containers of either kind. Also what each running task costs this process
/// (file descriptors, threads, managed memory) and journal lines that disagree with the engine.
/// Every figure of one count comes from the same run.
/// </summary>
public static class Scale
{
    private const string OwnerLabel = "io.claude-orchestrator.owner-pid";
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    private sealed record Row(
        int Count, TimeSpan RawStart, TimeSpan RawRemove, TimeSpan SameStart, TimeSpan SameRemove, TimeSpan FanOut, TimeSpan Plain,
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
            var template = await Template(api, project.FullName, image);
            foreach (var count in counts)
            {
                var (rawStart, rawRemove) = await Raw(api, image, count);
                var before = await RawSame(api, template, count);
                var fanOut = await InRunspace(api, project.FullName, image, count, piped: true);
                var after = await RawSame(api, template, count);
                var (sameStart, sameRemove) = ((before.Start + after.Start) / 2, (before.Remove + after.Remove) / 2);
                Console.WriteLine(string.Format(Invariant, "{0} same containers, raw: {1:0.0} s before the fan-out, {2:0.0} s after", count, before.Start.TotalSeconds, after.Start.TotalSeconds));
                var plain = await InRunspace(api, project.FullName, image, count, piped: false);
                var sigterm = await Sigterm(api, project.FullName, image, count);
                var ctrlC = await CtrlC(api, project.FullName, image, count);
                var row = new Row(count, rawStart, rawRemove, sameStart, sameRemove, fanOut.Running, plain.Running, fanOut.Flush, sigterm.Flush, ctrlC.Flush,
                    fanOut.Left + sigterm.Left + ctrlC.Left, fanOut.Fds, fanOut.Threads, fanOut.ManagedKb,
                    fanOut.Disagreeing + sigterm.Disagreeing + ctrlC.Disagreeing);
                rows.Add(row);
                Console.WriteLine(string.Format(Invariant, "{0} tasks: fan-out {1:0.0} s, plain {2:0.0} s, raw {3:0.0} s, raw same {4:0.0} s; Remove-Module {5:0.0} s, SIGTERM {6:0.0} s, Ctrl+C {7:0.0} s, raw DELETE {8:0.0} s, same {9:0.0} s",
                    count, fanOut.Running.TotalSeconds, plain.Running.TotalSeconds, rawStart.TotalSeconds, sameStart.TotalSeconds,
                    fanOut.Flush.TotalSeconds, sigterm.Flush.TotalSeconds, ctrlC.Flush.TotalSeconds, rawRemove.TotalSeconds, sameRemove.TotalSeconds));
            }
        }
        finally
        {
            project.Delete(true);
        }

        Console.WriteLine();
        Console.WriteLine("| Tasks | All running: piped fan-out | separate -AsJob calls | raw, same containers (create+start+attach) | raw, plain container (create+start) | fan-out / same | fan-out / plain | fan-out / separate |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Format(Invariant, "| {0} | {1:0.0} s | {2:0.0} s | {3:0.0} s | {4:0.0} s | {5:0.00}× | {6:0.00}× | {7:0.00}× |",
                r.Count, r.FanOut.TotalSeconds, r.Plain.TotalSeconds, r.SameStart.TotalSeconds, r.RawStart.TotalSeconds,
                r.FanOut / r.SameStart, r.FanOut / r.RawStart, r.FanOut / r.Plain));
        }

        Console.WriteLine();
        Console.WriteLine("| Tasks | Remove-Module | SIGTERM (until the process exits) | Ctrl+C (until Stop returns) | raw parallel DELETE: same containers / plain | ratios to same | left when each returned | per task: fds / threads / managed KB | journal lines disagreeing |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Format(Invariant, "| {0} | {1:0.0} s | {2:0.0} s | {3:0.0} s | {4:0.0} s / {13:0.0} s | {5:0.00}× / {6:0.00}× / {7:0.00}× | {8} | {9:0.00} / {10:0.00} / {11:0} | {12} |",
                r.Count, r.RemoveModule.TotalSeconds, r.Sigterm.TotalSeconds, r.CtrlC.TotalSeconds, r.SameRemove.TotalSeconds,
                r.RemoveModule / r.SameRemove, r.Sigterm / r.SameRemove, r.CtrlC / r.SameRemove, r.LeftAtReturn,
                r.FdsPerTask, r.ThreadsPerTask, r.ManagedKbPerTask, r.Disagreeing, r.RawRemove.TotalSeconds));
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

    /// <summary>
    /// The engine's own rates for containers configured as the module's (<paramref name="template"/>):
    /// create+start+attach, the announcement written, 16 in flight; then force-delete of all.
    /// </summary>
    private static async Task<(TimeSpan Start, TimeSpan Remove)> RawSame(EngineApi api, string template, int count)
    {
        var names = Enumerable.Range(0, count).Select(i => $"co-scale-same-{Guid.NewGuid().ToString("N")[..8]}").ToList();
        var attached = new System.Collections.Concurrent.ConcurrentBag<Stream>();
        try
        {
            var watch = Stopwatch.StartNew();
            await EngineApi.ForEachAsync(names, 16, async name => attached.Add(await api.AttachAsync(await api.CreateFromAsync(name, template), new[] { (byte)'\n' })));
            var start = watch.Elapsed;
            watch.Restart();
            await EngineApi.ForEachAsync(names, 16, name => api.ForceRemoveAsync(name));
            return (start, watch.Elapsed);
        }
        finally
        {
            foreach (var stream in attached)
            {
                stream.Dispose();
            }
        }
    }

    private sealed record Measured(TimeSpan Running, TimeSpan Flush, int Left, double Fds = 0, double Threads = 0, double ManagedKb = 0, int Disagreeing = 0);

    /// <summary>The create body of a container exactly as the module makes it for these tasks: one task's, inspected.</summary>
    private static async Task<string> Template(EngineApi api, string project, string image)
    {
        using var runspace = Benchmarks.Session();
        Benchmarks.Invoke(runspace, $"$j = {Tasks(project, 1)} | Start-ClaudeTask -Image {image} -Isolation None -AsJob");
        var label = OwnerLabel + "=" + Environment.ProcessId;
        await WaitAllRunning(api, label, 1, Stopwatch.StartNew());
        var template = await api.CreateBodyLikeAsync((await Ids(api, label))[0], new Dictionary<string, string> { ["io.claude-orchestrator.bench"] = "scale" });
        Benchmarks.Invoke(runspace, "Remove-Module ClaudeOrchestrator");
        return template;
    }

    private static string Tasks(string project, int count) =>
        $"1..{count} | ForEach-Object {{ [pscustomobject]@{{ Path = '{project}'; Description = 'ignore-term 600' }} }}";

    /// <summary>
    /// Tasks as jobs in this process: <paramref name="piped"/> through one fan-out, otherwise one
    /// Start-ClaudeTask -AsJob call each (no throttle); then Remove-Module flushes them.
    /// </summary>
    private static async Task<Measured> InRunspace(EngineApi api, string project, string image, int count, bool piped)
    {
        using var runspace = Benchmarks.Session();
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
        using var runspace = Benchmarks.Session();
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
