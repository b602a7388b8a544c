using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// What isolation costs: a task's start on a branch (an overlay checkout and a full one, of
/// 10,000- and 100,000-file repositories) against the same task in place, interleaved; the disk
/// of 50 overlay tasks at once on a 500 MB tree; and pwsh's memory for a task that prints 100 MB.
/// </summary>
public static class Isolation
{
    private const long OutputBytes = 100L * 1024 * 1024;

    /// <summary>A task's start on a branch with each checkout, and in place, on one repository.</summary>
    public sealed record StartCosts(int Files, Distribution Overlay, Distribution Full, Distribution InPlace, TimeSpan FirstOverlay);

    /// <summary>
    /// Start-ClaudeTask on a branch of a <paramref name="files"/>-file repository with -Checkout
    /// Overlay and Full, and in place, interleaved; and the first overlay task on a new commit
    /// (which writes the shared base tree) once.
    /// </summary>
    public static StartCosts StartCost(Runspace session, string image, int runs, int files = 10_000)
    {
        var repo = Directory.CreateTempSubdirectory("co-bench-repo-");
        try
        {
            for (var i = 0; i < files; i++)
            {
                var dir = Path.Combine(repo.FullName, "src", "d" + (i / 100).ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, $"f{i}.txt"), $"file {i}\n" + new string('x', 200) + "\n");
            }

            Git(repo.FullName, "init", "-q", "-b", "main");
            Git(repo.FullName, "add", "-A");
            Git(repo.FullName, "-c", "gc.auto=0", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-q", "-m", $"{files:N0} files");
            Git(repo.FullName, "repack", "-a", "-d", "-q");

            var overlay = new Distribution();
            var full = new Distribution();
            var inPlace = new Distribution();
            string Script(string isolation, string checkout = "Auto") =>
                $"$r = Start-ClaudeTask -Path '{repo.FullName}' -Description 'x' -Image {image} -AgentCommand '/bin/true' -Network none -Isolation {isolation} -Checkout {checkout}; " +
                $"if ($r.Status -ne 'Succeeded' -or ($r.Checkout -and $r.Checkout -ne '{checkout}' -and '{checkout}' -ne 'Auto')) {{ throw \"$($r.Status) $($r.Checkout) $($r.Reason)\" }}";
            Benchmarks.Invoke(session, Script("None"));
            // The first overlay task on this commit writes the base tree every later one shares.
            var first = Stopwatch.StartNew();
            Benchmarks.Invoke(session, Script("Branch", "Overlay"));
            var firstOverlay = first.Elapsed;
            Benchmarks.Invoke(session, Script("Branch", "Full"));
            for (var i = 0; i < runs; i++)
            {
                var watch = Stopwatch.StartNew();
                Benchmarks.Invoke(session, Script("Branch", "Overlay"));
                overlay.Add(watch.Elapsed);
                watch.Restart();
                Benchmarks.Invoke(session, Script("Branch", "Full"));
                full.Add(watch.Elapsed);
                watch.Restart();
                Benchmarks.Invoke(session, Script("None"));
                inPlace.Add(watch.Elapsed);
            }

            AssertNoCheckoutLeft();
            return new StartCosts(files, overlay, full, inPlace, firstOverlay);
        }
        finally
        {
            repo.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The disk <paramref name="tasks"/> overlay tasks running at once on one commit of a
    /// repository of about <paramref name="megabytes"/> MB use: du of the state directory (the
    /// shared base tree and every task's layer) and of the engine's volumes, while all run, against
    /// du of one working tree. Each agent writes one small file.
    /// </summary>
    public static (double TreeMb, double StateMb, double VolumesMb, int Running) DiskForConcurrentTasks(Runspace session, string image, int tasks = 50, int megabytes = 512)
    {
        var repo = Directory.CreateTempSubdirectory("co-bench-disk-");
        try
        {
            // 100 KB files that compress well: git stays quick, the disk holds every byte.
            var content = string.Concat(Enumerable.Repeat("0123456789abcdef", 100 * 1024 / 16));
            for (var i = 0; i < megabytes * 10; i++)
            {
                var dir = Path.Combine(repo.FullName, "data", "d" + (i / 100).ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, $"f{i}.bin"), i.ToString(CultureInfo.InvariantCulture) + content);
            }

            Git(repo.FullName, "init", "-q", "-b", "main");
            Git(repo.FullName, "add", "-A");
            Git(repo.FullName, "-c", "gc.auto=0", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-q", "-m", "big");
            var tree = DuMegabytes(repo.FullName, "--exclude=.git");
            var state = Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator");
            var bases = Path.Combine(state, "bases");
            var earlier = Directory.Exists(bases) ? Directory.GetDirectories(bases).ToHashSet() : new HashSet<string>();
            var script = $$"""
                $jobs = 1..{{tasks}} | ForEach-Object { Start-ClaudeTask -Path '{{repo.FullName}}' -Description "run echo $_ > mine.txt; while [ ! -e /tmp/release ]; do sleep 1; done" -Image {{image}} -Network none -Checkout Overlay -Timeout 10m -AsJob }
                """;
            Benchmarks.Invoke(session, script);
            var deadline = DateTime.UtcNow.AddMinutes(8);
            int running;
            while ((running = Directory.EnumerateDirectories(Path.Combine(state, "tasks")).Count(d => File.Exists(Path.Combine(d, "checkout", "mine.txt")))) < tasks && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(500);
            }

            // This repository's base and every task's directory (its layer, its helpers); -x: not into a mount.
            var stateMb = Directory.GetDirectories(bases).Where(b => !earlier.Contains(b)).Sum(b => DuMegabytes(b, "-x")) + DuMegabytes(Path.Combine(state, "tasks"), "-x");
            // A volume's own directory, not the overlay mounted on its _data while its task runs.
            var volumes = DockerCli.Run("volume", "ls", "-q", "--filter", "label=io.claude-orchestrator.managed=true").Stdout
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(v => Path.GetDirectoryName(DockerCli.Run("volume", "inspect", "--format", "{{.Mountpoint}}", v).Stdout.Trim())!).Where(Directory.Exists).ToList();
            var volumesMb = volumes.Sum(v => DuMegabytes(v, "-x"));
            // The agents end once released, each in its own container.
            foreach (var container in DockerCli.NamesWithLabel("io.claude-orchestrator.task-id"))
            {
                DockerCli.Run("exec", container, "touch", "/tmp/release");
            }

            Benchmarks.Invoke(session, "Get-Job | Wait-Job | Receive-Job | Where-Object Status -ne 'Succeeded' | ForEach-Object { throw \"$($_.TaskId) $($_.Status) $($_.Reason)\" }; Get-Job | Remove-Job");
            AssertNoCheckoutLeft();
            return (tree, stateMb, volumesMb, running);
        }
        finally
        {
            repo.Delete(recursive: true);
        }
    }

    private static double DuMegabytes(string path, string extra = null)
    {
        var args = extra == null ? new[] { "-sk", path } : new[] { "-sk", extra, path };
        var r = DockerCli.Exec("du", args).EnsureSuccess();
        return double.Parse(r.Stdout.Split('\t')[0], CultureInfo.InvariantCulture) / 1024.0;
    }

    private static void AssertNoCheckoutLeft()
    {
        var left = Directory.EnumerateDirectories(Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator", "tasks"))
            .Count(d => Directory.Exists(Path.Combine(d, "checkout")));
        if (left != 0)
        {
            throw new InvalidOperationException($"{left} checkout(s) left behind");
        }
    }

    /// <summary>Managed heap growth (peak while running, and retained after the result) for a task printing 100 MB.</summary>
    public static (double PeakMb, double RetainedMb, double Seconds) MemoryForHugeOutput(Runspace session, string image)
    {
        var project = Directory.CreateTempSubdirectory("co-bench-out-");
        try
        {
            // 100 MB of 100-byte lines; as a console shows them and lets them go.
            var line = new string('0', 99);
            var script = $"$r = Start-ClaudeTask -Path '{project.FullName}' -Description 'x' -Image {image} -Isolation None -InformationAction Ignore " +
                         $"-AgentCommand sh,-c,'yes {line} | head -c {OutputBytes}; exit 0'; $r.Output.Length";
            Benchmarks.Invoke(session, $"$null = Start-ClaudeTask -Path '{project.FullName}' -Description 'x' -Image {image} -AgentCommand '/bin/true'");
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var before = GC.GetTotalMemory(true);
            long peak = before;
            using var stop = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    peak = Math.Max(peak, GC.GetTotalMemory(false));
                    await Task.Delay(20);
                }
            });
            var watch = Stopwatch.StartNew();
            using var ps = PowerShell.Create();
            ps.Runspace = session;
            ps.AddScript(script);
            var output = ps.Invoke();
            var seconds = watch.Elapsed.TotalSeconds;
            stop.Cancel();
            sampler.Wait();
            if (ps.HadErrors)
            {
                throw new InvalidOperationException(string.Join("; ", ps.Streams.Error));
            }

            // The result is still referenced ($r), as a user's variable would be.
            var retained = GC.GetTotalMemory(true);
            Console.Error.WriteLine($"100 MB task: Output kept {output.Single()} characters in {seconds:0.0} s");
            Benchmarks.Invoke(session, "$r = $null");
            return ((peak - before) / 1048576.0, (retained - before) / 1048576.0, seconds);
        }
        finally
        {
            project.Delete(recursive: true);
        }
    }

    private static void Git(string directory, params string[] args) =>
        DockerCli.Exec("git", new[] { "-C", directory }.Concat(args).ToArray()).EnsureSuccess();
}
