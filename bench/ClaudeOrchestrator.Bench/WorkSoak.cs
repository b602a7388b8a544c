using System.Diagnostics;
using System.Text.Json;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// "Killed at any moment, the next sweep finishes the job", measured: N cycles of a branch task
/// on a 2,000-file repository (the agent writes a file, sleeps 1 s, exits), each with the host's
/// whole process group SIGKILLed at a random moment of the task's life, as a power cut would;
/// then one sweep in a fresh host. Per moment of the kill (the last step the host announced),
/// how many cycles kept the agent's work on the branch, left anything behind (a checkout, its
/// helpers, a lock, a container, a record still waiting), or lost work the agent had written.
/// </summary>
public static class WorkSoak
{
    private const int RepositoryFiles = 2_000;

    // The host's verbose lines, in the order a task's life passes them: the last one seen names the moment of the kill.
    private static readonly (string Moment, string Marker)[] Markers =
    {
        ("checkout", ": making its record, the branch"),
        ("checkout made", ": branch 'claude/"),
        ("create", "VERBOSE: Creating container "),
        ("start", "VERBOSE: Starting "),
        ("agent", "INFO: agent: wrote "),
        ("removed", "VERBOSE: Container "),
        ("saved", "VERBOSE: Work saved "),
        ("ended", "OUTPUT: ENDED"),
    };

    public static int Run(int cycles, string image)
    {
        var repo = Remote.Repository("co-worksoak-", RepositoryFiles);
        var state = Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator", "tasks");
        var random = new Random();
        var byMoment = new SortedDictionary<string, (int Cycles, int Kept, int NoWork, int Left, int Lost)>(StringComparer.Ordinal);
        var failures = 0;
        var watch = Stopwatch.StartNew();
        try
        {
            // How long a whole cycle takes here, so kills spread over all of it.
            var life = TimeSpan.FromSeconds(6);
            for (var i = 0; i < cycles; i++)
            {
                var file = $"w{i}.txt";
                var before = Tasks(state);
                using var host = HostProcess.Start(
                    $"$null = Start-ClaudeTask -Path '{repo.FullName}' -Description 'write-then-sleep {file} cycle-{i} 1' -Image {image} -Verbose; 'ENDED'");
                Thread.Sleep(random.Next((int)life.TotalMilliseconds));
                // The whole group, as a power cut: the module, and any git it runs.
                try
                {
                    host.SignalGroup(HostProcess.SIGKILL);
                }
                catch (InvalidOperationException)
                {
                    // It ended already.
                }

                host.WaitForExit(TimeSpan.FromSeconds(30));
                var moment = Markers.LastOrDefault(m => host.Transcript.Contains(m.Marker, StringComparison.Ordinal)).Moment ?? "launch";
                if (host.Transcript.Contains("OUTPUT: ENDED", StringComparison.Ordinal))
                {
                    moment = "ended";
                }

                // The task this cycle made, if it got that far (its directory appears whole, or not at all).
                var task = Tasks(state).Except(before).SingleOrDefault();
                // A running container ends itself once its session is gone (a created one is the sweep's);
                // the agent's work is whatever reached the checkout or the branch by then.
                Eventually.True(() => DockerCli.Run("ps", "-q", "--filter", "label=io.claude-orchestrator.managed=true", "--filter", "status=running").Stdout.Trim().Length == 0,
                    TimeSpan.FromSeconds(30), "the killed session's running container ends itself");
                var wrote = task != null && (File.Exists(Path.Combine(state, task, "checkout", file)) || OnBranch(repo.FullName, task, file));

                // The next sweep, a while later as in real life (a lock a killed git left is stale by then).
                Thread.Sleep(2500);
                using (var sweep = HostProcess.Start("Remove-ClaudeContainer -Orphaned -Confirm:$false; 'SWEPT'"))
                {
                    if (!sweep.WaitForExit(TimeSpan.FromSeconds(120)) || !sweep.Transcript.Contains("OUTPUT: SWEPT", StringComparison.Ordinal))
                    {
                        failures++;
                        Console.Error.WriteLine($"[{i}] the sweep did not finish: {sweep.Transcript}");
                    }
                }

                var kept = task != null && OnBranch(repo.FullName, task, file);
                var left = LeftBehind(state, task, repo.FullName);
                var entry = byMoment.TryGetValue(moment, out var e) ? e : default;
                entry.Cycles++;
                entry.Kept += wrote && kept ? 1 : 0;
                entry.NoWork += !wrote ? 1 : 0;
                entry.Lost += wrote && !kept ? 1 : 0;
                entry.Left += left.Count > 0 ? 1 : 0;
                byMoment[moment] = entry;
                if ((wrote && !kept) || left.Count > 0)
                {
                    Console.Error.WriteLine($"[{i}] killed at {moment}: {(wrote && !kept ? "WORK LOST; " : string.Empty)}{(left.Count > 0 ? "left: " + string.Join(", ", left) : string.Empty)}");
                }

                if ((i + 1) % 25 == 0)
                {
                    Console.WriteLine($"  {i + 1}/{cycles} cycles in {watch.Elapsed.TotalSeconds:0} s");
                }
            }
        }
        finally
        {
            repo.Delete(recursive: true);
        }

        Console.WriteLine();
        Console.WriteLine($"Work soak: {cycles} SIGKILLs of the whole process group at random moments of a branch task's life ({RepositoryFiles:N0}-file repository), one sweep after each, in {watch.Elapsed.TotalSeconds:0} s");
        Console.WriteLine("| Killed at | Cycles | Work written, kept on the branch | No work yet | Left anything | Lost work |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var (moment, r) in byMoment)
        {
            Console.WriteLine($"| {moment} | {r.Cycles} | {r.Kept} | {r.NoWork} | {r.Left} | {r.Lost} |");
        }

        var lost = byMoment.Values.Sum(r => r.Lost);
        var leftAny = byMoment.Values.Sum(r => r.Left);
        Console.WriteLine($"Lost: {lost}; left anything: {leftAny}; sweeps that did not finish: {failures}");
        return lost == 0 && leftAny == 0 && failures == 0 ? 0 : 1;
    }

    /// <summary>The task directories now (a directory still being made is not one yet).</summary>
    private static HashSet<string> Tasks(string state) =>
        Directory.Exists(state) ? new DirectoryInfo(state).GetDirectories().Select(d => d.Name).Where(n => !n.StartsWith('.')).ToHashSet() : new HashSet<string>();

    private static bool OnBranch(string repo, string task, string file) =>
        DockerCli.Exec("git", "-C", repo, "cat-file", "-e", $"refs/heads/claude/{task}:{file}").ExitCode == 0;

    /// <summary>What the task left that the sweep should have finished.</summary>
    private static List<string> LeftBehind(string state, string task, string repo)
    {
        var left = new List<string>();
        if (Directory.Exists(state))
        {
            left.AddRange(Directory.GetDirectories(state, ".new-*").Select(d => "a task directory still being made: " + Path.GetFileName(d)));
        }

        left.AddRange(Directory.GetFiles(Path.Combine(repo, ".git", "refs"), "*.lock", SearchOption.AllDirectories).Select(f => "repository " + Path.GetFileName(f)));
        left.AddRange(DockerCli.ManagedNames());
        if (task == null)
        {
            return left;
        }

        var directory = Path.Combine(state, task);
        foreach (var name in new[] { "checkout", "host.git", "base-objects", "host.index", "returned-parts" })
        {
            var path = Path.Combine(directory, name);
            if (Directory.Exists(path) || File.Exists(path) || new FileInfo(path).LinkTarget != null)
            {
                left.Add(name);
            }
        }

        if (Directory.Exists(directory))
        {
            left.AddRange(Directory.GetFiles(directory, "*.lock", SearchOption.AllDirectories).Select(Path.GetFileName));
        }

        left.AddRange(Directory.GetFiles(directory, "task.json.*.tmp").Select(f => "a record's temporary file"));
        var record = Path.Combine(directory, "task.json");
        if (File.Exists(record))
        {
            try
            {
                using var json = JsonDocument.Parse(File.ReadAllBytes(record));
                var work = json.RootElement.GetProperty("Work").GetString();
                if (work == "Pending" || work == "NotSaved")
                {
                    left.Add("record with work " + work);
                }

                if (json.RootElement.TryGetProperty("AgentLaunched", out var launched) && launched.ValueKind == JsonValueKind.False &&
                    DockerCli.Exec("git", "-C", repo, "rev-parse", "-q", "--verify", "refs/heads/claude/" + task).ExitCode == 0)
                {
                    left.Add("the branch of a task whose agent never ran");
                }
            }
            catch (JsonException)
            {
                left.Add("an unreadable record");
            }
        }

        return left;
    }
}
