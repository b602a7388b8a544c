using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// Each figure: the module's time and an anchor measured in the same run on the same engine,
/// median of N runs with min and max, and the ratio ours / anchor.
/// </summary>
public static class Benchmarks
{
    private const string ManagedLabel = "io.claude-orchestrator.managed";
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(int runs, string image)
    {
        var project = Directory.CreateTempSubdirectory("co-bench-");
        using var api = new EngineApi();
        var rows = new List<string>();
        var clock = Stopwatch.StartNew();
        void Add(string row)
        {
            rows.Add(row);
            Console.Error.WriteLine($"[{clock.Elapsed:mm\\:ss}] {row}");
        }

        Console.WriteLine($"Engine: {DockerCli.Run("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})").Stdout.Trim()}; " +
                          $"{Environment.ProcessorCount} cores; {runs} runs per figure");

        using (var session = Session())
        {
            Add(Row("Start-ClaudeTask, trivial agent", StartTask(session, project.FullName, image, runs),
                "docker run --rm --init", DockerRun(image, runs)));
            Add(Row("Ctrl+C to no container (agent ignores SIGTERM)", CtrlC(session, project.FullName, image, runs),
                "docker stop (default grace) + rm", DockerStop(image, runs)));
        }

        Add(Row("SIGKILL of host to no container", await KillHost(api, project.FullName, image, runs), null, null));

        var removeOurs = await RemoveAll(api, image, runs, 100, () =>
        {
            using var session = Session();
            Invoke(session, "Remove-ClaudeContainer -All -Confirm:$false");
        });
        var removeCli = await RemoveAll(api, image, runs, 100, () =>
            DockerCli.Exec("sh", "-c", $"docker ps -aq --filter label={ManagedLabel}=true | xargs docker rm -f >/dev/null").EnsureSuccess());
        var removeApi = await RemoveAll(api, image, runs, 100, () =>
        {
            var ids = DockerCli.Run("ps", "-aq", "--no-trunc", "--filter", $"label={ManagedLabel}=true").Stdout
                .Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Task.WhenAll(ids.Select(api.ForceRemoveAsync)).GetAwaiter().GetResult();
        });
        Add(Row("Remove-ClaudeContainer -All, 100 running", removeOurs, "docker ps -aq \\| xargs docker rm -f", removeCli));
        Add(Row("Remove-ClaudeContainer -All, 100 running", removeOurs, "raw parallel DELETE ?force=true", removeApi));

        var (cold, warm, memoryMb) = ImportModule(runs);
        Add(Row("Import-Module, first in process", cold, null, null));
        Add(Row("Import-Module, again in a new runspace", warm, null, null));

        var (listOurs, listCli) = await ListThousand(api, image, runs);
        Add(Row("Get-ClaudeContainer -All, 1,000 containers", listOurs, "docker ps -a --filter label=...", listCli));

        project.Delete(recursive: true);
        Console.WriteLine();
        Console.WriteLine($"| Figure | Ours (median, min–max) | Anchor | Anchor (median, min–max) | Ratio |");
        Console.WriteLine($"| --- | --- | --- | --- | --- |");
        rows.ForEach(Console.WriteLine);
        Console.WriteLine($"Import-Module memory (first import, managed heap growth): {memoryMb:0.0} MB");
        var left = DockerCli.ManagedNames().Count;
        Console.WriteLine($"Labelled containers left: {left}");
        return left == 0 ? 0 : 1;
    }

    private static string Row(string figure, Distribution ours, string anchorName, Distribution anchor)
    {
        string Cell(Distribution d) => string.Format(Invariant, "{0:0} ms ({1:0}–{2:0})", d.Median, d.Min, d.Max);
        return anchor == null
            ? $"| {figure} | {Cell(ours)} | (none) | | |"
            : string.Format(Invariant, "| {0} | {1} | {2} | {3} | {4:0.00}× |", figure, Cell(ours), anchorName, Cell(anchor), ours.Median / anchor.Median);
    }

    private static Runspace Session()
    {
        var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        Invoke(runspace, $"Import-Module '{Repo.Manifest}' -ErrorAction Stop");
        return runspace;
    }

    private static PowerShell Create(Runspace runspace, string script)
    {
        var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        return ps;
    }

    private static void Invoke(Runspace runspace, string script)
    {
        using var ps = Create(runspace, script);
        ps.Invoke();
        if (ps.HadErrors)
        {
            throw new InvalidOperationException(script + ": " + string.Join("; ", ps.Streams.Error));
        }
    }

    private static Distribution StartTask(Runspace session, string project, string image, int runs)
    {
        var d = new Distribution();
        Invoke(session, $"Start-ClaudeTask -Path '{project}' -Description 'true' -Image {image} -AgentCommand '/bin/true'"); // warm-up
        for (var i = 0; i < runs; i++)
        {
            var watch = Stopwatch.StartNew();
            Invoke(session, $"$null = Start-ClaudeTask -Path '{project}' -Description 'x' -Image {image} -AgentCommand '/bin/true'");
            d.Add(watch.Elapsed);
        }

        return d;
    }

    private static Distribution DockerRun(string image, int runs)
    {
        var d = new Distribution();
        DockerCli.Run("run", "--rm", "--init", image, "/bin/true").EnsureSuccess(); // warm-up
        for (var i = 0; i < runs; i++)
        {
            var watch = Stopwatch.StartNew();
            DockerCli.Run("run", "--rm", "--init", image, "/bin/true", "x").EnsureSuccess();
            d.Add(watch.Elapsed);
        }

        return d;
    }

    private static Distribution CtrlC(Runspace session, string project, string image, int runs)
    {
        var d = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            using var ps = Create(session, $"Start-ClaudeTask -Path '{project}' -Description 'ignore-term 600' -Image {image}");
            var started = new ManualResetEventSlim();
            ps.Streams.Information.DataAdded += (s, e) => started.Set();
            var handle = ps.BeginInvoke();
            if (!started.Wait(TimeSpan.FromSeconds(60)))
            {
                throw new TimeoutException("agent never started");
            }

            var name = DockerCli.NamesWithLabel(ManagedLabel).Single();
            var watch = Stopwatch.StartNew();
            ps.Stop();
            d.Add(watch.Elapsed);
            if (DockerCli.Exists(name))
            {
                throw new InvalidOperationException("container survived Ctrl+C");
            }
        }

        return d;
    }

    private static Distribution DockerStop(string image, int runs)
    {
        var d = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            var id = DockerCli.Run("run", "-d", "--init", image, "claude", "ignore-term 600").EnsureSuccess().Stdout.Trim();
            Thread.Sleep(300);
            var watch = Stopwatch.StartNew();
            DockerCli.Run("stop", id).EnsureSuccess();
            DockerCli.Run("rm", id).EnsureSuccess();
            d.Add(watch.Elapsed);
        }

        return d;
    }

    private static async Task<Distribution> KillHost(EngineApi api, string project, string image, int runs)
    {
        var d = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            using var host = HostProcess.Start($"Start-ClaudeTask -Path '{project}' -Description 'ignore-term 600' -Image {image} -Verbose");
            var name = host.WaitForLine(l => l.StartsWith("VERBOSE: Creating container "), TimeSpan.FromSeconds(60)).Split(' ')[3];
            host.WaitForLine(l => l == "INFO: agent: ignoring SIGTERM", TimeSpan.FromSeconds(30));
            host.Signal(HostProcess.SIGKILL);
            d.Add(await api.WaitGoneAsync(name, TimeSpan.FromSeconds(10)) ?? throw new InvalidOperationException("leak: " + name));
        }

        return d;
    }

    private static async Task<Distribution> RemoveAll(EngineApi api, string image, int runs, int count, Action remove)
    {
        var d = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            await Populate(api, image, count, start: true);
            var watch = Stopwatch.StartNew();
            remove();
            d.Add(watch.Elapsed);
            var left = DockerCli.ManagedNames().Count;
            if (left != 0)
            {
                throw new InvalidOperationException($"{left} containers survived the removal");
            }
        }

        return d;
    }

    private static Task Populate(EngineApi api, string image, int count, bool start)
    {
        var labels = new Dictionary<string, string> { [ManagedLabel] = "true", ["io.claude-orchestrator.project"] = "bench" };
        var prefix = "claude-bench-" + Guid.NewGuid().ToString("N")[..6] + "-";
        return EngineApi.ForEachAsync(Enumerable.Range(0, count), 16,
            n => api.CreateAsync(prefix + n, image, new[] { "sleep", "600" }, labels, start));
    }

    private static (Distribution Cold, Distribution Warm, double MemoryMb) ImportModule(int runs)
    {
        // The first import in this process is the cold one (assembly load and JIT); the bench's
        // earlier sessions loaded it already, so measure cold in a fresh host process instead.
        var cold = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ClaudeOrchestrator.Bench.dll"));
            start.ArgumentList.Add("import-probe");
            using var probe = Process.Start(start)!;
            var text = probe.StandardOutput.ReadToEnd();
            probe.WaitForExit();
            cold.Add(double.Parse(text.Split(' ')[0], Invariant));
        }

        var warm = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
            runspace.Open();
            var watch = Stopwatch.StartNew();
            Invoke(runspace, $"Import-Module '{Repo.Manifest}' -ErrorAction Stop");
            warm.Add(watch.Elapsed);
        }

        var memory = ImportProbe.MeasureMemoryMb();
        return (cold, warm, memory);
    }

    private static async Task<(Distribution Ours, Distribution Cli)> ListThousand(EngineApi api, string image, int runs)
    {
        await Populate(api, image, 1000, start: false);
        var ours = new Distribution();
        var cli = new Distribution();
        using (var session = Session())
        {
            Invoke(session, "$null = Get-ClaudeContainer -All"); // warm-up
            for (var i = 0; i < runs; i++)
            {
                var watch = Stopwatch.StartNew();
                using var ps = Create(session, "Get-ClaudeContainer -All");
                var count = ps.Invoke().Count;
                ours.Add(watch.Elapsed);
                if (count != 1000)
                {
                    throw new InvalidOperationException($"listed {count} containers, expected 1000");
                }

                watch.Restart();
                DockerCli.Run("ps", "-a", "--filter", $"label={ManagedLabel}=true").EnsureSuccess();
                cli.Add(watch.Elapsed);
            }

            Invoke(session, "Remove-ClaudeContainer -All -Confirm:$false");
        }

        return (ours, cli);
    }
}
