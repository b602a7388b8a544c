using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// What isolation costs: a task's start on a branch (private checkout of a 10,000-file
/// repository) against the same task in place, interleaved; and pwsh's memory for a task that
/// prints 100 MB.
/// </summary>
public static class Isolation
{
    private const int RepositoryFiles = 10_000;
    private const long OutputBytes = 100L * 1024 * 1024;

    public static (Distribution Branch, Distribution InPlace) StartCost(Runspace session, string image, int runs)
    {
        var repo = Directory.CreateTempSubdirectory("co-bench-repo-");
        try
        {
            for (var i = 0; i < RepositoryFiles; i++)
            {
                var dir = Path.Combine(repo.FullName, "src", "d" + (i / 100).ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, $"f{i}.txt"), $"file {i}\n" + new string('x', 200) + "\n");
            }

            Git(repo.FullName, "init", "-q", "-b", "main");
            Git(repo.FullName, "add", "-A");
            Git(repo.FullName, "-c", "gc.auto=0", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-q", "-m", "10,000 files");
            Git(repo.FullName, "repack", "-a", "-d", "-q");

            var branch = new Distribution();
            var inPlace = new Distribution();
            string Script(string isolation) =>
                $"$null = Start-ClaudeTask -Path '{repo.FullName}' -Description 'x' -Image {image} -AgentCommand '/bin/true' -Isolation {isolation}";
            Benchmarks.Invoke(session, Script("Branch"));
            Benchmarks.Invoke(session, Script("None"));
            for (var i = 0; i < runs; i++)
            {
                var watch = Stopwatch.StartNew();
                Benchmarks.Invoke(session, Script("Branch"));
                branch.Add(watch.Elapsed);
                watch.Restart();
                Benchmarks.Invoke(session, Script("None"));
                inPlace.Add(watch.Elapsed);
            }

            var left = Directory.EnumerateDirectories(Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator", "tasks"))
                .Count(d => Directory.Exists(Path.Combine(d, "checkout")));
            if (left != 0)
            {
                throw new InvalidOperationException($"{left} checkout(s) left behind");
            }

            return (branch, inPlace);
        }
        finally
        {
            repo.Delete(recursive: true);
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
