using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// Many concurrent tasks from one process: time until all run against the engine's own rate
/// (raw create+start, 16 in flight, same image, same run), what each running task costs this
/// process (file descriptors, threads, managed memory), Remove-Module's flush against raw
/// parallel DELETE of as many running containers, and journal lines that disagree with the engine.
/// </summary>
public static class Scale
{
    private const string OwnerLabel = "io.claude-orchestrator.owner-pid";
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(int[] counts, string image)
    {
        Console.WriteLine($"Engine: {DockerCli.Run("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})").Stdout.Trim()}; {Environment.ProcessorCount} cores; one run per count");
        Console.WriteLine();
        Console.WriteLine("| Tasks | All running | Engine's own (raw create+start) | Ratio | Remove-Module flush | Raw parallel DELETE | Ratio | Per task: fds / threads / managed KB | Journal lines disagreeing |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        using var api = new EngineApi();
        var project = Directory.CreateTempSubdirectory("co-scale-");
        try
        {
            foreach (var count in counts)
            {
                var (rawStart, rawRemove) = await Raw(api, image, count);
                var ours = await Ours(api, project.FullName, image, count);
                Console.WriteLine(string.Format(Invariant,
                    "| {0} | {1:0.0} s | {2:0.0} s | {3:0.00}× | {4:0.0} s | {5:0.0} s | {6:0.00}× | {7:0.00} / {8:0.00} / {9:0} | {10} |",
                    count, ours.Running.TotalSeconds, rawStart.TotalSeconds, ours.Running / rawStart, ours.Flush.TotalSeconds, rawRemove.TotalSeconds,
                    ours.Flush / rawRemove, ours.FdsPerTask, ours.ThreadsPerTask, ours.ManagedKbPerTask, ours.Disagreeing));
            }
        }
        finally
        {
            project.Delete(true);
        }

        var left = DockerCli.ManagedNames().Count;
        Console.WriteLine($"Labelled containers left: {left}");
        return left == 0 ? 0 : 1;
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

    private sealed record Measured(TimeSpan Running, TimeSpan Flush, double FdsPerTask, double ThreadsPerTask, double ManagedKbPerTask, int Disagreeing);

    private static async Task<Measured> Ours(EngineApi api, string project, string image, int count)
    {
        using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        Benchmarks.Invoke(runspace, $"Import-Module '{Repo.Manifest}' -ErrorAction Stop");
        var (fds, threads, managed) = Footprint();
        var watch = Stopwatch.StartNew();
        Benchmarks.Invoke(runspace, $"$j = 1..{count} | ForEach-Object {{ [pscustomobject]@{{ Path = '{project}'; Description = 'ignore-term 600' }} }} | " +
                      $"Start-ClaudeTask -Image {image} -Isolation None -AsJob -ThrottleLimit {count}");
        var label = OwnerLabel + "=" + Environment.ProcessId;
        while ((await api.ListByLabelAsync(label)).Count(c => c.State == "running") < count)
        {
            if (watch.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException($"{count} tasks were not all running after 10 minutes.");
            }

            await Task.Delay(50);
        }

        var running = watch.Elapsed;
        // Settled: every task attached and streaming.
        await Task.Delay(2000);
        var (fdsAt, threadsAt, managedAt) = Footprint();
        var ids = (await api.ListByLabelAsync(label)).Select(c => c.Id).ToList();

        watch.Restart();
        Benchmarks.Invoke(runspace, "Remove-Module ClaudeOrchestrator");
        var flush = watch.Elapsed;

        var journal = Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator", "cleanup.jsonl");
        var lines = File.Exists(journal) ? File.ReadAllLines(journal) : Array.Empty<string>();
        var disagreeing = 0;
        foreach (var id in ids)
        {
            var mine = lines.Where(l => l.Contains($"\"id\":\"{id[..12]}\"")).ToList();
            var gone = !await api.ExistsAsync(id);
            var saysGone = mine.Count == 1 && (mine[0].Contains("\"outcome\":\"Removed\"") || mine[0].Contains("\"outcome\":\"AlreadyGone\""));
            if (mine.Count != 1 || saysGone != gone)
            {
                disagreeing++;
            }
        }

        return new Measured(running, flush, (double)(fdsAt - fds) / count, (double)(threadsAt - threads) / count, (managedAt - managed) / 1024.0 / count, disagreeing);
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
