using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// What the egress gateway costs. A whole short task (its agent /bin/true) by default (through
/// the gateway, started and stopped with the task), with -Network bridge (today's open bridge,
/// the anchor) and with -Network none, interleaved; a piped fan-out of ten such tasks both ways
/// (one gateway shared); and many concurrent tasks that each fetch a page through the gateway from
/// the bench's own outside host: refusals that should have passed, the gateway's peak memory and
/// its CPU time per task; and, for scale, what the engine alone charges to start a container on a
/// network of its own rather than on its default bridge. Every figure comes from the same run.
/// </summary>
public static class Egress
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Run(int runs, int concurrent, string image)
    {
        var suffix = Guid.NewGuid().ToString("N").Substring(0, 8);
        var network = "ca-bench-out-" + suffix;
        var outside = "co-bench-outside-" + suffix;
        var project = Directory.CreateTempSubdirectory("co-bench-egress-");
        DockerCli.Run("network", "create", network).EnsureSuccess();
        try
        {
            DockerCli.Run("run", "-d", "--name", outside, "--network", network, image, "sh", "-c",
                "mkdir -p /tmp/www && head -c 65536 /dev/zero > /tmp/www/page && httpd -f -p 80 -h /tmp/www").EnsureSuccess();
            var address = DockerCli.Inspect(outside, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");
            Environment.SetEnvironmentVariable("CLAUDE_ORCHESTRATOR_GATEWAY_NETWORK", network);
            using var session = Benchmarks.Session();
            Console.WriteLine($"Engine: {DockerCli.Run("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})").Stdout.Trim()}; {Environment.ProcessorCount} cores; {runs} runs, interleaved");

            string Task(string network) =>
                $"$null = Start-ClaudeTask -Path '{project.FullName}' -Description 'x' -Image {image} -AgentCommand '/bin/true' -Isolation None {network} -WarningAction SilentlyContinue";
            string FanOut(string network) =>
                $"$null = 1..10 | ForEach-Object {{ [pscustomobject]@{{ Path = '{project.FullName}'; Description = \"x$_\" }} }} | Start-ClaudeTask -Image {image} -AgentCommand '/bin/true' -Isolation None -ThrottleLimit 4 {network} -WarningAction SilentlyContinue";
            var gateway = new Distribution();
            var bridge = new Distribution();
            var offline = new Distribution();
            var fanGateway = new Distribution();
            var fanBridge = new Distribution();
            // The engine's own price for a network of one's own (its name server, its endpoint), with no module at all.
            // A network as the module makes the tasks' one: no address of the host on it, no masquerade.
            var internalNetwork = "co-bench-tasks-" + suffix;
            DockerCli.Run("network", "create", "-o", "com.docker.network.bridge.inhibit_ipv4=true", "-o", "com.docker.network.bridge.enable_ip_masquerade=false", internalNetwork).EnsureSuccess();
            var engineInternal = new Distribution();
            var engineBridge = new Distribution();
            Benchmarks.Invoke(session, Task(""));
            Benchmarks.Invoke(session, Task("-Network bridge"));
            for (var i = 0; i < runs; i++)
            {
                gateway.Add(Time(() => Benchmarks.Invoke(session, Task(""))));
                bridge.Add(Time(() => Benchmarks.Invoke(session, Task("-Network bridge"))));
                offline.Add(Time(() => Benchmarks.Invoke(session, Task("-Network none"))));
                fanGateway.Add(Time(() => Benchmarks.Invoke(session, FanOut(""))));
                fanBridge.Add(Time(() => Benchmarks.Invoke(session, FanOut("-Network bridge"))));
                engineInternal.Add(Time(() => DockerCli.Run("run", "--rm", "--network", internalNetwork, image, "true").EnsureSuccess()));
                engineBridge.Add(Time(() => DockerCli.Run("run", "--rm", "--network", "bridge", image, "true").EnsureSuccess()));
            }

            DockerCli.Run("network", "rm", internalNetwork);

            Console.WriteLine();
            Console.WriteLine("| Figure | Ours (median, min-max) | Anchor | Anchor (median, min-max) | Ratio |");
            Console.WriteLine("|---|---|---|---|---|");
            Console.WriteLine(Benchmarks.Row("A task, start to result, through the gateway", gateway, "-Network bridge", bridge));
            Console.WriteLine(Benchmarks.Row("A task, start to result, -Network none", offline, "-Network bridge", bridge));
            Console.WriteLine(Benchmarks.Row("10 piped tasks (-ThrottleLimit 4), through the gateway", fanGateway, "-Network bridge", fanBridge));
            Console.WriteLine(Benchmarks.Row("docker run --rm true on a network like the tasks' (the engine alone)", engineInternal, "on the bridge", engineBridge));

            Concurrent(session, project.FullName, image, address, concurrent);
            // The session's gateway goes with the module (it would wait for a next task), before its way out does.
            Benchmarks.Invoke(session, "Remove-Module ClaudeOrchestrator");
            return 0;
        }
        finally
        {
            Environment.SetEnvironmentVariable("CLAUDE_ORCHESTRATOR_GATEWAY_NETWORK", null);
            DockerCli.Run("rm", "-f", outside);
            DockerCli.Run("network", "rm", network);
            project.Delete(recursive: true);
        }
    }

    private static void Concurrent(Runspace session, string project, string image, string address, int count)
    {
        var script =
            $"1..{count} | ForEach-Object {{ [pscustomobject]@{{ Path = '{project}'; Description = \"x$_\" }} }} | " +
            $"Start-ClaudeTask -Image {image} -Isolation None -ThrottleLimit {count} -AllowHost '{address}:80' " +
            $"-AgentCommand '/bin/sh','-c','sleep 2; for i in 1 2 3; do wget -q -O /dev/null http://{address}/page || exit 1; done; echo fetched'";
        var samples = new List<(long Memory, long CpuUsec)>();
        using var ps = PowerShell.Create();
        ps.Runspace = session;
        ps.AddScript(script);
        var watch = Stopwatch.StartNew();
        var handle = ps.BeginInvoke();
        while (!handle.IsCompleted)
        {
            var id = DockerCli.Run("ps", "-q", "--no-trunc", "--filter", "label=io.claude-orchestrator.role=egress-gateway").Stdout.Trim();
            if (id.Length > 0 && Cgroup(id) is var (memory, usage) && memory > 0)
            {
                samples.Add((memory, usage));
            }

            Thread.Sleep(200);
        }

        // The module is loaded in the runspace only: its results are read by property name.
        var results = ps.EndInvoke(handle).Select(o => new
        {
            Status = o.Properties["Status"].Value?.ToString(),
            Output = o.Properties["Output"].Value?.ToString() ?? "",
            Reason = o.Properties["Reason"].Value?.ToString(),
            ErrorOutput = o.Properties["ErrorOutput"].Value?.ToString(),
            Allowed = Convert.ToInt32(o.Properties["ConnectionsAllowed"].Value ?? 0, Invariant),
            Refused = Convert.ToInt32(o.Properties["ConnectionsRefused"].Value ?? 0, Invariant),
        }).ToList();
        var elapsed = watch.Elapsed;
        var fetched = results.Count(r => r.Status == "Succeeded" && r.Output.Contains("fetched"));
        var refused = results.Sum(r => r.Refused);
        var allowed = results.Sum(r => r.Allowed);
        var peak = samples.Count == 0 ? 0 : samples.Max(s => s.Memory);
        var cpu = samples.Count == 0 ? 0 : samples.Max(s => s.CpuUsec) - samples.Min(s => s.CpuUsec);
        Console.WriteLine();
        Console.WriteLine(string.Format(Invariant,
            "{0} concurrent tasks through one gateway, 3 fetches of 64 KiB each: {1} of {0} fetched everything, {2} connections allowed, {3} refused (none should be), " +
            "{4:0.0} s in all; gateway peak memory {5:0.0} MiB ({6:0} KiB per task), gateway CPU {7:0.00} s ({8:0.0} ms per task, {9} samples)",
            count, fetched, allowed, refused, elapsed.TotalSeconds, peak / 1048576.0, peak / 1024.0 / count, cpu / 1e6, cpu / 1e3 / count, samples.Count));
        if (fetched != count || refused != 0)
        {
            throw new InvalidOperationException($"{count - fetched} task(s) did not fetch everything; {refused} refusal(s): " +
                string.Join(" | ", results.Where(r => !r.Output.Contains("fetched")).Take(3).Select(r => r.Reason + " " + r.ErrorOutput)));
        }
    }

    /// <summary>A container's memory now and CPU time so far (microseconds), from its cgroup (v2, or v1 with cgroupfs); null when unreadable.</summary>
    private static (long, long)? Cgroup(string id)
    {
        try
        {
            var v2 = $"/sys/fs/cgroup/system.slice/docker-{id}.scope";
            if (Directory.Exists(v2))
            {
                var usage = File.ReadAllLines(Path.Combine(v2, "cpu.stat")).First(l => l.StartsWith("usage_usec", StringComparison.Ordinal)).Split(' ')[1];
                return (long.Parse(File.ReadAllText(Path.Combine(v2, "memory.current")).Trim(), Invariant), long.Parse(usage, Invariant));
            }

            var memory = long.Parse(File.ReadAllText($"/sys/fs/cgroup/memory/docker/{id}/memory.usage_in_bytes").Trim(), Invariant);
            var cpu = long.Parse(File.ReadAllText($"/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage").Trim(), Invariant) / 1000;
            return (memory, cpu);
        }
        catch (Exception)
        {
            // Gone meanwhile, or another layout.
            return null;
        }
    }

    private static TimeSpan Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed;
    }
}
