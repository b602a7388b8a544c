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
            var ctrlC = CtrlC(session, project.FullName, image, runs);
            Add(Row("Ctrl+C to no container (agent ignores SIGTERM)", ctrlC,
                "docker rm -f of the same running container", DockerRemoveRunning(image, runs)));
            Add(Row("Ctrl+C to no container (agent ignores SIGTERM)", ctrlC,
                "docker stop (10 s grace) + rm", DockerStop(image, runs)));
        }

        double peakMb, retainedMb, hugeSeconds;
        using (var session = Session())
        {
            foreach (var row in IsolationRows(Isolation.StartCost(session, image, runs)))
            {
                Add(row);
            }

            (peakMb, retainedMb, hugeSeconds) = Isolation.MemoryForHugeOutput(session, image);
        }

        Add(Row("SIGKILL of host to no container", await KillHost(api, project.FullName, image, runs, null), null, null));
        using (var tcpEngine = new PrivateEngine(listenOnTcp: true))
        {
            tcpEngine.Load(image);
            using var tcpApi = new EngineApi(tcpEngine.Host["unix://".Length..]);
            Add(Row("SIGKILL of host to no container, engine over TCP", await KillHost(tcpApi, project.FullName, image, runs, tcpEngine.TcpHost), null, null));
            Add(Row("Engine stopped mid-task to task ended (Failed, engine named)", EngineStop(tcpEngine, project.FullName, image, runs), null, null));
        }

        // Interleaved, so that a drift of the engine over the run cannot favour one method.
        var removers = new (string Name, Action Remove)[]
        {
            ("ours", () =>
            {
                using var session = Session();
                Invoke(session, "Remove-ClaudeContainer -All -Confirm:$false");
            }),
            ("cli", () => DockerCli.Exec("sh", "-c", $"docker ps -aq --filter label={ManagedLabel}=true | xargs docker rm -f >/dev/null").EnsureSuccess()),
            ("api", () =>
            {
                var ids = DockerCli.Run("ps", "-aq", "--no-trunc", "--filter", $"label={ManagedLabel}=true").Stdout
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Task.WhenAll(ids.Select(api.ForceRemoveAsync)).GetAwaiter().GetResult();
            }),
        };
        var removals = await RemoveAllInterleaved(api, image, runs, 100, removers);
        Add(Row("Remove-ClaudeContainer -All, 100 running", removals["ours"], "docker ps -aq \\| xargs docker rm -f", removals["cli"]));
        Add(Row("Remove-ClaudeContainer -All, 100 running", removals["ours"], "raw parallel DELETE ?force=true", removals["api"]));

        var (cold, warm, memoryMb) = ImportModule(runs);
        Add(Row("Import-Module, first in process", cold, null, null));
        Add(Row("Import-Module, again in a new runspace", warm, null, null));
        var (sweptImport, sweptGone) = await ImportWithOrphans(api, image, runs, 50);
        Add(Row("Import-Module, first in process, 50 created orphans present", sweptImport, "Import-Module, first in process, none", cold));
        Add(Row("Import to 50 created orphans swept (background)", sweptGone, null, null));

        var (listWarm, listCold, listCli) = await ListThousand(api, image, runs);
        Add(Row("Get-ClaudeContainer -All, 1,000 containers, warm runspace", listWarm, "docker ps -a --filter label=...", listCli));
        Add(Row("Fresh process: import + Get-ClaudeContainer -All, 1,000", listCold, "docker ps -a --filter label=...", listCli));

        project.Delete(recursive: true);
        Console.WriteLine();
        Console.WriteLine($"| Figure | Ours (median, min–max) | Anchor | Anchor (median, min–max) | Ratio |");
        Console.WriteLine($"| --- | --- | --- | --- | --- |");
        rows.ForEach(Console.WriteLine);
        Console.WriteLine($"Import-Module memory (first import, managed heap growth): {memoryMb:0.0} MB");
        Console.WriteLine($"Task printing 100 MB ({hugeSeconds:0.0} s): managed heap growth peak {peakMb:0.0} MB, retained with the result {retainedMb:0.0} MB");
        var left = DockerCli.ManagedNames().Count;
        Console.WriteLine($"Labelled containers left: {left}");
        return left == 0 ? 0 : 1;
    }

    /// <summary>
    /// The main figures on Docker and on Podman (a rootful `podman system service` on a socket of
    /// its own, as the tests run it), each against its own engine's anchor, and Podman / Docker.
    /// </summary>
    public static async Task<int> RunEngines(int runs, string image)
    {
        var project = Directory.CreateTempSubdirectory("co-bench-");
        var figures = new List<(string Figure, Distribution Docker, Distribution Podman, string Anchor, Distribution DockerAnchor, Distribution PodmanAnchor)>();
        using var podman = PodmanEngine.StartRootful();
        podman.LoadImage(image);
        Console.WriteLine($"Docker {DockerCli.Run("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})").Stdout.Trim()}; Podman {podman.Version}; {Environment.ProcessorCount} cores; {runs} runs per figure");
        var measured = new Dictionary<string, Dictionary<string, Distribution>>();
        foreach (var (engine, host, socket) in new[] { ("docker", (string)null, "/var/run/docker.sock"), ("podman", podman.Host, podman.SocketPath) })
        {
            var previous = Environment.GetEnvironmentVariable("DOCKER_HOST");
            Environment.SetEnvironmentVariable("DOCKER_HOST", host);
            try
            {
                using var api = new EngineApi(socket);
                var m = new Dictionary<string, Distribution>();
                using (var session = Session())
                {
                    m["start"] = StartTask(session, project.FullName, image, runs);
                    m["run"] = DockerRun(image, runs);
                    m["ctrlc"] = CtrlC(session, project.FullName, image, runs);
                    m["rm"] = DockerRemoveRunning(image, runs);
                }

                m["kill"] = await KillHost(api, project.FullName, image, runs, host);
                var removals = await RemoveAllInterleaved(api, image, runs, 100, new (string Name, Action Remove)[]
                {
                    ("ours", () =>
                    {
                        using var session = Session();
                        Invoke(session, "Remove-ClaudeContainer -All -Confirm:$false");
                    }),
                    ("api", () =>
                    {
                        var ids = DockerCli.Run("ps", "-aq", "--no-trunc", "--filter", $"label={ManagedLabel}=true").Stdout
                            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
                        EngineApi.ForEachAsync(ids, 16, api.ForceRemoveAsync).GetAwaiter().GetResult();
                    }),
                });
                m["removeAll"] = removals["ours"];
                m["delete"] = removals["api"];
                measured[engine] = m;
                Console.Error.WriteLine($"{engine}: done");
            }
            finally
            {
                Environment.SetEnvironmentVariable("DOCKER_HOST", previous);
            }
        }

        project.Delete(recursive: true);
        string Cell(Distribution d) => d == null ? string.Empty : string.Format(Invariant, "{0:0} ms ({1:0}–{2:0})", d.Median, d.Min, d.Max);
        string Ratio(Distribution a, Distribution b) => a == null || b == null ? string.Empty : string.Format(Invariant, "{0:0.00}×", a.Median / b.Median);
        Console.WriteLine();
        Console.WriteLine("| Figure | Docker | Podman | Podman / Docker | Anchor (same engine) | Docker anchor | Podman anchor | Ours / anchor: Docker, Podman |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (figure, key, anchor, anchorKey) in new[]
        {
            ("Start-ClaudeTask, trivial agent", "start", "docker run --rm --init", "run"),
            ("Ctrl+C to no container (agent ignores SIGTERM)", "ctrlc", "docker rm -f of the same running container", "rm"),
            ("SIGKILL of host to no container", "kill", null, null),
            ("Remove-ClaudeContainer -All, 100 running", "removeAll", "raw parallel DELETE ?force=true", "delete"),
        })
        {
            var d = measured["docker"];
            var p = measured["podman"];
            Console.WriteLine($"| {figure} | {Cell(d[key])} | {Cell(p[key])} | {Ratio(p[key], d[key])} | {anchor ?? "(none)"} | " +
                              $"{(anchorKey == null ? "" : Cell(d[anchorKey]))} | {(anchorKey == null ? "" : Cell(p[anchorKey]))} | " +
                              $"{(anchorKey == null ? "" : Ratio(d[key], d[anchorKey]) + ", " + Ratio(p[key], p[anchorKey]))} |");
        }

        var left = DockerCli.ManagedNames().Count + podman.ManagedNames().Count;
        Console.WriteLine($"Labelled containers left: {left}");
        return left == 0 ? 0 : 1;
    }

    /// <summary>The isolation figures alone, in the same format.</summary>
    public static int RunIsolation(int runs, string image)
    {
        Console.WriteLine($"Engine: {DockerCli.Run("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})").Stdout.Trim()}; " +
                          $"{Environment.ProcessorCount} cores; {runs} runs per figure");
        using var session = Session();
        var small = Isolation.StartCost(session, image, runs, 10_000);
        var large = Isolation.StartCost(session, image, Math.Max(3, runs / 2), 100_000);
        var (treeMb, stateMb, volumesMb, running) = Isolation.DiskForConcurrentTasks(session, image);
        var (peakMb, retainedMb, seconds) = Isolation.MemoryForHugeOutput(session, image);
        Console.WriteLine();
        Console.WriteLine($"| Figure | Ours (median, min–max) | Anchor | Anchor (median, min–max) | Ratio |");
        Console.WriteLine($"| --- | --- | --- | --- | --- |");
        foreach (var row in IsolationRows(small).Concat(IsolationRows(large)))
        {
            Console.WriteLine(row);
        }

        Console.WriteLine();
        Console.WriteLine(string.Format(Invariant, "{0} overlay tasks running at once on one commit of a {1:0} MB working tree: state directory (base tree and every layer) {2:0} MB, engine volumes {3:0} MB: {4:0.00}× one working tree.",
            running, treeMb, stateMb, volumesMb, (stateMb + volumesMb) / treeMb));
        Console.WriteLine($"Task printing 100 MB ({seconds:0.0} s): managed heap growth peak {peakMb:0.0} MB, retained with the result {retainedMb:0.0} MB");
        return DockerCli.ManagedNames().Count == 0 ? 0 : 1;
    }

    private static IEnumerable<string> IsolationRows(Isolation.StartCosts c)
    {
        var files = c.Files.ToString("N0", Invariant);
        yield return Row($"Start-ClaudeTask on a branch, {files}-file repository, -Checkout Overlay (base tree written; first task on the commit: {c.FirstOverlay.TotalMilliseconds:0} ms)", c.Overlay, "same task, -Isolation None", c.InPlace);
        yield return Row($"Start-ClaudeTask on a branch, {files}-file repository, -Checkout Full", c.Full, "same task, -Isolation None", c.InPlace);
    }

    internal static string Row(string figure, Distribution ours, string anchorName, Distribution anchor)
    {
        string Cell(Distribution d) => string.Format(Invariant, "{0:0} ms ({1:0}–{2:0})", d.Median, d.Min, d.Max);
        if (anchor == null)
        {
            return $"| {figure} | {Cell(ours)} | (none) | | |";
        }

        // Where the two ranges overlap, the medians' ratio is within the run-to-run noise.
        var overlap = ours.Min <= anchor.Max && anchor.Min <= ours.Max ? " (ranges overlap)" : "";
        return string.Format(Invariant, "| {0} | {1} | {2} | {3} | {4:0.00}×{5} |", figure, Cell(ours), anchorName, Cell(anchor), ours.Median / anchor.Median, overlap);
    }

    /// <summary>A runspace with the module imported.</summary>
    internal static Runspace Session()
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

    /// <summary>Runs a script in the runspace; any error fails the figure.</summary>
    internal static void Invoke(Runspace runspace, string script)
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

    /// <summary>The like-for-like anchor of Ctrl+C: kill and remove a running SIGTERM-ignoring container in one call.</summary>
    private static Distribution DockerRemoveRunning(string image, int runs) =>
        TimeRemovalOfRunning(image, runs, id => DockerCli.Run("rm", "-f", id).EnsureSuccess());

    /// <summary>A graceful stop: the agent ignores SIGTERM, so the engine waits out its grace period.</summary>
    private static Distribution DockerStop(string image, int runs) =>
        TimeRemovalOfRunning(image, runs, id =>
        {
            DockerCli.Run("stop", id).EnsureSuccess();
            DockerCli.Run("rm", id).EnsureSuccess();
        });

    private static Distribution TimeRemovalOfRunning(string image, int runs, Action<string> remove)
    {
        var d = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            var id = DockerCli.Run("run", "-d", "--init", image, "claude", "ignore-term 600").EnsureSuccess().Stdout.Trim();
            Thread.Sleep(300);
            var watch = Stopwatch.StartNew();
            remove(id);
            d.Add(watch.Elapsed);
        }

        return d;
    }

    /// <param name="dockerHost">The engine the host talks to (null: the default one); <paramref name="api"/> watches the same engine.</param>
    private static async Task<Distribution> KillHost(EngineApi api, string project, string image, int runs, string dockerHost)
    {
        var d = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            using var host = HostProcess.Start($"Start-ClaudeTask -Path '{project}' -Description 'ignore-term 600' -Image {image} -Verbose",
                environment: dockerHost == null ? null : new Dictionary<string, string> { ["DOCKER_HOST"] = dockerHost });
            var name = host.WaitForLine(l => l.StartsWith("VERBOSE: Creating container "), TimeSpan.FromSeconds(60)).Split(' ')[3];
            host.WaitForLine(l => l == "INFO: agent: ignoring SIGTERM", TimeSpan.FromSeconds(30));
            host.Signal(HostProcess.SIGKILL);
            d.Add(await api.WaitGoneAsync(name, TimeSpan.FromSeconds(10)) ?? throw new InvalidOperationException("leak: " + name));
        }

        return d;
    }

    /// <summary>A task whose engine is stopped under it: from the stop to the cmdlet returning its Failed result.</summary>
    private static Distribution EngineStop(PrivateEngine engine, string project, string image, int runs)
    {
        var d = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            using var session = Session();
            Invoke(session, $"$env:DOCKER_HOST = '{engine.Host}'");
            using var ps = Create(session, $"Start-ClaudeTask -Path '{project}' -Description 'sleep 600' -Image {image}");
            var started = new ManualResetEventSlim();
            ps.Streams.Information.DataAdded += (s, e) => started.Set();
            var handle = ps.BeginInvoke();
            if (!started.Wait(TimeSpan.FromSeconds(60)))
            {
                throw new TimeoutException("agent never started on the private engine");
            }

            var watch = Stopwatch.StartNew();
            engine.Stop();
            // The bench loads the module like pwsh does, not by reference: read the result's properties.
            var result = ps.EndInvoke(handle).Single(o => o.Properties["Status"] != null);
            d.Add(watch.Elapsed);
            engine.Start();
            var status = result.Properties["Status"].Value?.ToString();
            var reason = result.Properties["Reason"].Value?.ToString();
            if (status != "Failed" || reason?.Contains("engine", StringComparison.OrdinalIgnoreCase) != true)
            {
                throw new InvalidOperationException($"unexpected result after the engine stopped: {status} {reason}");
            }

            Invoke(session, "Remove-ClaudeContainer -Confirm:$false; $env:DOCKER_HOST = $null");
        }

        return d;
    }

    private static async Task<Dictionary<string, Distribution>> RemoveAllInterleaved(EngineApi api, string image, int runs, int count, (string Name, Action Remove)[] removers)
    {
        var results = removers.ToDictionary(r => r.Name, _ => new Distribution());
        for (var i = 0; i < runs; i++)
        {
            // Rotate the order too: no method always goes first after the engine's idle moment.
            foreach (var (name, remove) in removers.Skip(i % removers.Length).Concat(removers.Take(i % removers.Length)))
            {
                await Populate(api, image, count, start: true);
                var watch = Stopwatch.StartNew();
                remove();
                results[name].Add(watch.Elapsed);
                var left = DockerCli.ManagedNames().Count;
                if (left != 0)
                {
                    throw new InvalidOperationException($"{left} containers survived the removal by {name}");
                }
            }
        }

        return results;
    }

    /// <summary>
    /// A fresh process imports the module while created orphans of a dead session are on the
    /// engine: the import time, and the time from the import to the last orphan gone.
    /// </summary>
    private static async Task<(Distribution Import, Distribution Swept)> ImportWithOrphans(EngineApi api, string image, int runs, int count)
    {
        var import = new Distribution();
        var swept = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            using var dead = Process.Start("sleep", "0.2")!;
            var start = dead.StartTime.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", Invariant);
            dead.WaitForExit();
            var labels = new Dictionary<string, string>
            {
                [ManagedLabel] = "true",
                ["io.claude-orchestrator.session-id"] = Guid.NewGuid().ToString("N"),
                ["io.claude-orchestrator.owner-host"] = Environment.MachineName,
                ["io.claude-orchestrator.owner-pid"] = dead.Id.ToString(Invariant),
                ["io.claude-orchestrator.owner-start"] = start,
            };
            var prefix = "claude-bench-orphan-" + Guid.NewGuid().ToString("N")[..6] + "-";
            await EngineApi.ForEachAsync(Enumerable.Range(0, count), 16, n => api.CreateAsync(prefix + n, image, new[] { "true" }, labels, start: false));

            var probe = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
            probe.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ClaudeOrchestrator.Bench.dll"));
            probe.ArgumentList.Add("sweep-probe");
            using var process = Process.Start(probe)!;
            var parts = process.StandardOutput.ReadToEnd().Trim().Split(' ');
            process.WaitForExit();
            import.Add(double.Parse(parts[0], Invariant));
            swept.Add(double.Parse(parts[1], Invariant));
            if (DockerCli.ManagedNames().Count != 0)
            {
                throw new InvalidOperationException("the sweep left orphans behind");
            }
        }

        return (import, swept);
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

    private static async Task<(Distribution Warm, Distribution Cold, Distribution Cli)> ListThousand(EngineApi api, string image, int runs)
    {
        await Populate(api, image, 1000, start: false);
        var ours = new Distribution();
        var cold = new Distribution();
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

                // Like docker ps, a process of its own each time: start, import, list, exit.
                watch.Restart();
                var probe = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
                probe.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ClaudeOrchestrator.Bench.dll"));
                probe.ArgumentList.Add("list-probe");
                using var process = Process.Start(probe)!;
                var listed = process.StandardOutput.ReadToEnd().Trim();
                process.WaitForExit();
                cold.Add(watch.Elapsed);
                if (listed != "1000")
                {
                    throw new InvalidOperationException($"the fresh process listed {listed} containers, expected 1000");
                }
            }

            Invoke(session, "Remove-ClaudeContainer -All -Confirm:$false");
        }

        return (ours, cold, cli);
    }
}
