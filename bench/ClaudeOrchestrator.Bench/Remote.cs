using System.Diagnostics;
using System.Globalization;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// A task on an engine on another machine (a dockerd in a network namespace, over TCP), whose
/// workspace is copied there and back, beside the same task on the local engine (bind mount)
/// and on the local engine with -Workspace Copy (the copy without the network), interleaved;
/// each engine's own `docker run --rm --init` as its anchor; and the time the sweep needs to
/// bring a SIGKILLed session's work back from the remote engine's volumes.
/// </summary>
public static class Remote
{
    internal const int RepositoryFiles = 1_000;
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Run(int runs, string image)
    {
        using var engine = new RemoteEngine();
        engine.Load(image);
        var repo = Repository("co-bench-remote-");
        try
        {

            Console.WriteLine($"Local engine {DockerCli.Run("version", "--format", "{{.Server.Version}}").Stdout.Trim()}; remote engine {engine.Endpoint} " +
                              $"(a dockerd in its own network namespace, over a veth); {Environment.ProcessorCount} cores; {runs} runs per figure, interleaved; " +
                              $"a {RepositoryFiles:N0}-file repository ({Size(repo.FullName) / 1024 / 1024:0.0} MB), the agent writes one file");
            using var session = Benchmarks.Session();
            string Task(string extra) => $"$r = Start-ClaudeTask -Path '{repo.FullName}' -Description 'write-here made.txt x' -Image {image} {extra}; if ($r.Status -ne 'Succeeded') {{ throw $r.Reason }}";
            var ways = new (string Name, string Script)[]
            {
                ("local", Task(string.Empty)),
                ("localCopy", Task("-Workspace Copy")),
                ("remote", Task("-Engine " + engine.Endpoint)),
            };
            var measured = ways.ToDictionary(w => w.Name, _ => new Distribution());
            var runLocal = new Distribution();
            var runRemote = new Distribution();
            foreach (var way in ways)
            {
                Benchmarks.Invoke(session, way.Script); // warm-up
            }

            DockerCli.Run("run", "--rm", "--init", image, "/bin/true").EnsureSuccess();
            engine.Cli("run", "--rm", "--init", image, "/bin/true").EnsureSuccess();
            for (var i = 0; i < runs; i++)
            {
                foreach (var way in ways)
                {
                    var watch = Stopwatch.StartNew();
                    Benchmarks.Invoke(session, way.Script);
                    measured[way.Name].Add(watch.Elapsed);
                }

                var run = Stopwatch.StartNew();
                DockerCli.Run("run", "--rm", "--init", image, "/bin/true").EnsureSuccess();
                runLocal.Add(run.Elapsed);
                run.Restart();
                DockerCli.RunOn(engine.Endpoint, "run", "--rm", "--init", image, "/bin/true").EnsureSuccess();
                runRemote.Add(run.Elapsed);
            }

            var sweep = SweepAfterSigkill(session, repo.FullName, image, engine, runs);
            string Cell(Distribution d) => string.Format(Invariant, "{0:0} ms ({1:0}–{2:0})", d.Median, d.Min, d.Max);
            string Ratio(Distribution a, Distribution b) => string.Format(Invariant, "{0:0.00}×", a.Median / b.Median);
            Console.WriteLine();
            Console.WriteLine("| Figure | Median (min–max) | Ratio |");
            Console.WriteLine("| --- | --- | --- |");
            Console.WriteLine($"| Task on a branch, local engine (bind mount) | {Cell(measured["local"])} | 1.00× (anchor) |");
            Console.WriteLine($"| Same, local engine, -Workspace Copy | {Cell(measured["localCopy"])} | {Ratio(measured["localCopy"], measured["local"])} of local |");
            Console.WriteLine($"| Same, remote engine over TCP (copied there and back) | {Cell(measured["remote"])} | {Ratio(measured["remote"], measured["local"])} of local |");
            Console.WriteLine($"| docker run --rm --init, local engine | {Cell(runLocal)} | |");
            Console.WriteLine($"| docker run --rm --init, remote engine | {Cell(runRemote)} | {Ratio(runRemote, runLocal)} of local |");
            Console.WriteLine($"| Remote task, overhead over its engine's docker run | | {Ratio(measured["remote"], runRemote)} (local: {Ratio(measured["local"], runLocal)}) |");
            Console.WriteLine($"| Remove-ClaudeContainer -Orphaned after SIGKILL: work back in the branch, volumes gone | {Cell(sweep)} | |");
            var left = engine.Containers().Count + engine.Volumes().Count + DockerCli.ManagedNames().Count;
            Console.WriteLine($"Labelled containers and volumes left: {left}");
            return left == 0 ? 0 : 1;
        }
        finally
        {
            repo.Delete(recursive: true);
        }
    }

    /// <summary>A host process runs a remote task and is SIGKILLed once the agent wrote its file; then the sweep is timed.</summary>
    private static Distribution SweepAfterSigkill(System.Management.Automation.Runspaces.Runspace session, string repo, string image, RemoteEngine engine, int runs)
    {
        var d = new Distribution();
        for (var i = 0; i < runs; i++)
        {
            using (var host = HostProcess.StartWhenWritten($"-Path '{repo}' -Description 'write-then-sleep left{i}.txt x 600' -Image {image} -Engine {engine.Endpoint}", $"left{i}.txt"))
            {
                host.Signal(HostProcess.SIGKILL);
                host.WaitForExit(TimeSpan.FromSeconds(10));
            }

            // The watcher ends the container within a second; then only the volumes hold the work.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (engine.Containers().Count > 0 && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }

            var watch = Stopwatch.StartNew();
            Benchmarks.Invoke(session, $"Remove-ClaudeContainer -Orphaned -Engine {engine.Endpoint} -Confirm:$false");
            d.Add(watch.Elapsed);
            if (engine.Volumes().Count != 0)
            {
                throw new InvalidOperationException("The sweep left the task's volumes.");
            }
        }

        return d;
    }

    /// <summary>A git repository of <see cref="RepositoryFiles"/> files of 2 KB in ten directories, one commit: the workspace that travels.</summary>
    internal static DirectoryInfo Repository(string prefix, int files = RepositoryFiles)
    {
        var repo = Directory.CreateTempSubdirectory(prefix);
        for (var i = 0; i < files; i++)
        {
            var dir = Path.Combine(repo.FullName, "src", "d" + (i / 100).ToString(Invariant));
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, $"f{i}.txt"), $"file {i}\n" + new string('x', 2000) + "\n");
        }

        Git(repo.FullName, "init", "-q", "-b", "main");
        Git(repo.FullName, "add", "-A");
        Git(repo.FullName, "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-q", "-m", files.ToString("N0", Invariant) + " files");
        return repo;
    }

    private static long Size(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Where(f => !f.FullName.Contains("/.git/")).Sum(f => f.Length);

    private static void Git(string directory, params string[] args) =>
        DockerCli.Exec("git", new[] { "-C", directory }.Concat(args).ToArray()).EnsureSuccess();
}
