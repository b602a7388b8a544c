using System.Diagnostics;
using System.Globalization;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// A task as a one-off service on a swarm (a manager and two workers, each a dockerd in its own
/// network namespace) beside the same task on the local engine, interleaved; the swarm's own
/// cost of a one-off service (create one that runs /bin/true, wait for its task to complete,
/// remove it) as the swarm's anchor; and the time the sweep on this machine needs after a
/// SIGKILLed session: its service removed, the agent's work read from the log into the branch.
/// </summary>
public static class Swarm
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Run(int runs, string image)
    {
        using var cluster = new SwarmCluster(workers: 2);
        cluster.Load(image);
        var repo = Remote.Repository("co-bench-swarm-");
        try
        {

            Console.WriteLine($"Local engine {DockerCli.Run("version", "--format", "{{.Server.Version}}").Stdout.Trim()}; a swarm of {cluster.Nodes.Count} nodes " +
                              $"(dockerds in their own network namespaces, over a bridge), manager {cluster.Endpoint}; {Environment.ProcessorCount} cores; " +
                              $"{runs} runs per figure, interleaved; a {Remote.RepositoryFiles:N0}-file repository, the agent writes one file");
            using var session = Benchmarks.Session();
            string Task(string extra) => $"$r = Start-ClaudeTask -Path '{repo.FullName}' -Description 'write-here made.txt x' -Image {image} {extra}; if (-not $r -or $r.Status -ne 'Succeeded') {{ throw \"task: $($r.Status) $($r.Reason) $($Error[0])\" }}";
            var local = Task("-Network bridge");
            var onSwarm = Task("-Network bridge -Swarm -Engine " + cluster.Endpoint);
            Benchmarks.Invoke(session, local);
            Benchmarks.Invoke(session, onSwarm);
            OneOffService(cluster, image);
            var measuredLocal = new Distribution();
            var measuredSwarm = new Distribution();
            var service = new Distribution();
            for (var i = 0; i < runs; i++)
            {
                var watch = Stopwatch.StartNew();
                Benchmarks.Invoke(session, local);
                measuredLocal.Add(watch.Elapsed);
                watch.Restart();
                Benchmarks.Invoke(session, onSwarm);
                measuredSwarm.Add(watch.Elapsed);
                service.Add(OneOffService(cluster, image));
            }

            var sweep = SweepAfterSigkill(session, repo.FullName, image, cluster, runs);
            string Cell(Distribution d) => string.Format(Invariant, "{0:0} ms ({1:0}–{2:0})", d.Median, d.Min, d.Max);
            string Ratio(Distribution a, Distribution b) => string.Format(Invariant, "{0:0.00}×", a.Median / b.Median);
            Console.WriteLine();
            Console.WriteLine("| Figure | Median (min–max) | Ratio |");
            Console.WriteLine("| --- | --- | --- |");
            Console.WriteLine($"| Task on a branch, local engine (overlay checkout) | {Cell(measuredLocal)} | 1.00× (anchor) |");
            Console.WriteLine($"| Same task as a service on the swarm (copied there and back) | {Cell(measuredSwarm)} | {Ratio(measuredSwarm, measuredLocal)} of local |");
            Console.WriteLine($"| The swarm's own one-off service (/bin/true: create, complete, remove) | {Cell(service)} | |");
            Console.WriteLine($"| Swarm task, overhead over the swarm's own one-off service | | {Ratio(measuredSwarm, service)} |");
            Console.WriteLine($"| Remove-ClaudeContainer -Orphaned after SIGKILL: service gone, work in the branch | {Cell(sweep)} | |");
            var left = cluster.Services().Count + cluster.Configs().Count + cluster.TaskContainers().Count;
            Console.WriteLine($"Services, configs and task containers left: {left}");
            return left == 0 ? 0 : 1;
        }
        finally
        {
            repo.Delete(recursive: true);
        }
    }

    /// <summary>What the swarm itself takes for a one-off task: create, wait for Complete, remove.</summary>
    private static TimeSpan OneOffService(SwarmCluster cluster, string image)
    {
        var name = "coe-bench-" + Guid.NewGuid().ToString("N")[..8];
        var watch = Stopwatch.StartNew();
        cluster.Manager.Cli("service", "create", "--detach", "--quiet", "--name", name, "--restart-condition", "none", image, "/bin/true").EnsureSuccess();
        while (cluster.Manager.Cli("service", "ps", name, "--format", "{{.CurrentState}}").Stdout.Trim().StartsWith("Complete", StringComparison.Ordinal) == false)
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new InvalidOperationException("The one-off service never completed.");
            }

            Thread.Sleep(20);
        }

        cluster.Manager.Cli("service", "rm", name).EnsureSuccess();
        return watch.Elapsed;
    }

    private static Distribution SweepAfterSigkill(System.Management.Automation.Runspaces.Runspace session, string repo, string image, SwarmCluster cluster, int runs)
    {
        var d = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            using (var host = HostProcess.StartWhenWritten($"-Path '{repo}' -Description 'write-then-sleep left{i}.txt x 600' -Image {image} -Network bridge -Swarm -Engine {cluster.Endpoint}", $"left{i}.txt"))
            {
                host.Signal(HostProcess.SIGKILL);
                host.WaitForExit(TimeSpan.FromSeconds(10));
            }

            var watch = Stopwatch.StartNew();
            Benchmarks.Invoke(session, $"Remove-ClaudeContainer -Orphaned -Engine {cluster.Endpoint} -Confirm:$false");
            d.Add(watch.Elapsed);
            if (cluster.Services().Count != 0 || cluster.Configs().Count != 0)
            {
                throw new InvalidOperationException("The sweep left the task's service or configs.");
            }

            if (DockerCli.Exec("git", "-C", repo, "branch", "--list", "claude/*").Stdout.Length == 0)
            {
                throw new InvalidOperationException("No task branch.");
            }
        }

        return d;
    }
}
