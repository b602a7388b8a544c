using System.Diagnostics;
using System.Globalization;
using System.Management.Automation.Runspaces;
using System.Text.Json;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// What the live board costs. A busy machine's state directory (2,000 task records, 100 of them
/// ended within the board's quarter hour, and another session publishing 500 running tasks):
/// one frame of Watch-ClaudeTask -Once against Get-ClaudeTask reading every record, interleaved.
/// Then a real fan-out of 50 tasks whose agents report a turn every half second: how often the
/// session's board file is written and how large it is, and the fan-out's time with a board
/// reading it every second against the same fan-out unwatched, interleaved.
/// </summary>
public static class Board
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private const int Records = 2000;
    private const int RecentRecords = 100;
    private const int PublishedTasks = 500;
    private const int FanOut = 50;

    public static int Run(int runs, string image)
    {
        var state = Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator");
        WriteRecords(Path.Combine(state, "tasks"));
        var live = WriteLiveFile(Path.Combine(state, "live"));
        Console.WriteLine($"Docker {DockerCli.Run("version", "--format", "{{.Server.Version}}").Stdout.Trim()}; {Environment.ProcessorCount} cores; {runs} runs per figure, interleaved");
        using var session = Benchmarks.Session();
        var frame = new Distribution();
        var list = new Distribution();
        Benchmarks.Invoke(session, "Watch-ClaudeTask -Once | Out-Null; Get-ClaudeTask | Out-Null");
        for (var i = 0; i < runs * 4; i++)
        {
            frame.Add(Time(() => Benchmarks.Invoke(session, "$rows = @(Watch-ClaudeTask -Once); if ($rows.Count -ne " + (RecentRecords + PublishedTasks) + ") { throw \"rows: $($rows.Count)\" }")));
            list.Add(Time(() => Benchmarks.Invoke(session, "Get-ClaudeTask | Out-Null")));
        }

        File.Delete(live);
        var repo = Remote.Repository("co-bench-board-", files: 200);
        try
        {
            var fanOut = $"$r = 1..{FanOut} | ForEach-Object {{ [pscustomobject]@{{ Path = '{repo.FullName}'; Description = 'spend 20 1000 0.5' }} }} | " +
                         $"Start-ClaudeTask -Image {image} -Network none -ThrottleLimit {FanOut}; if (@($r | Where-Object Status -eq Succeeded).Count -ne {FanOut}) {{ throw 'a task failed' }}";
            Benchmarks.Invoke(session, fanOut);
            var unwatched = new Distribution();
            var watched = new Distribution();
            var writes = new Distribution();
            var sizes = new Distribution();
            for (var i = 0; i < runs; i++)
            {
                unwatched.Add(Time(() => Benchmarks.Invoke(session, fanOut)));
                var (elapsed, written, largest) = Watched(session, fanOut);
                watched.Add(elapsed);
                writes.Add(written / elapsed.TotalSeconds);
                sizes.Add(largest);
            }

            string Cell(Distribution d) => string.Format(Invariant, "{0:0} ms ({1:0}–{2:0})", d.Median, d.Min, d.Max);
            string Ratio(Distribution a, Distribution b) => string.Format(Invariant, "{0:0.00}×", a.Median / b.Median);
            Console.WriteLine();
            Console.WriteLine("| Figure | Median (min–max) | Ratio |");
            Console.WriteLine("| --- | --- | --- |");
            Console.WriteLine($"| Get-ClaudeTask, {Records:N0} records | {Cell(list)} | 1.00× (anchor) |");
            Console.WriteLine($"| Watch-ClaudeTask -Once: {RecentRecords} ended lately, {PublishedTasks} running in another session | {Cell(frame)} | {Ratio(frame, list)} |");
            Console.WriteLine($"| Fan-out of {FanOut} tasks (20 turns, one each half second), unwatched | {Cell(unwatched)} | 1.00× (anchor) |");
            Console.WriteLine($"| Same fan-out, a board frame read every second | {Cell(watched)} | {Ratio(watched, unwatched)} |");
            Console.WriteLine(string.Format(Invariant, "| The session's board file: writes per second over the fan-out | {0:0.00} ({1:0.00}–{2:0.00}) | |", writes.Median, writes.Min, writes.Max));
            Console.WriteLine(string.Format(Invariant, "| The session's board file at its largest ({0} tasks) | {1:0} bytes | |", FanOut, sizes.Max));
            return 0;
        }
        finally
        {
            Benchmarks.Invoke(session, "Remove-ClaudeContainer -All -Confirm:$false");
            repo.Delete(true);
        }
    }

    private static TimeSpan Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed;
    }

    /// <summary>
    /// The fan-out while another runspace reads a frame every second and a sampler watches the
    /// board file's writes, each on a thread of its own: blocking two of the thread pool's threads
    /// on a 2-core machine would starve the tasks' own work and measure that instead.
    /// </summary>
    private static (TimeSpan Elapsed, int Writes, long Largest) Watched(Runspace session, string fanOut)
    {
        using var board = Benchmarks.Session();
        using var done = new CancellationTokenSource();
        var reader = Dedicated(() =>
        {
            while (!done.IsCancellationRequested)
            {
                Benchmarks.Invoke(board, "Watch-ClaudeTask -Once | Out-Null");
                done.Token.WaitHandle.WaitOne(1000);
            }
        });
        var seen = new HashSet<DateTime>();
        long largest = 0;
        var sampler = Dedicated(() =>
        {
            var directory = Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator", "live");
            while (!done.IsCancellationRequested)
            {
                var file = Directory.Exists(directory) ? Directory.GetFiles(directory, $"{Environment.ProcessId}-*-live.json").FirstOrDefault() : null;
                if (file != null)
                {
                    try
                    {
                        var info = new FileInfo(file);
                        seen.Add(info.LastWriteTimeUtc);
                        largest = Math.Max(largest, info.Length);
                    }
                    catch (IOException)
                    {
                    }
                }

                Thread.Sleep(20);
            }
        });
        var elapsed = Time(() => Benchmarks.Invoke(session, fanOut));
        done.Cancel();
        reader.Join();
        sampler.Join();
        return (elapsed, seen.Count, largest);
    }

    private static Thread Dedicated(Action work)
    {
        var thread = new Thread(() => work()) { IsBackground = true };
        thread.Start();
        return thread;
    }

    private static void WriteRecords(string root)
    {
        var now = DateTimeOffset.Now;
        for (var i = 0; i < Records; i++)
        {
            var id = "bench" + i.ToString("000", Invariant).PadLeft(4, '0');
            var directory = Directory.CreateDirectory(Path.Combine(root, id));
            var recent = i < RecentRecords;
            var end = recent ? now.AddMinutes(-5) : now.AddDays(-2);
            var record = new Dictionary<string, object>
            {
                ["TaskId"] = id, ["Project"] = "project" + (i % 20), ["Path"] = "/srv/project" + (i % 20), ["Summary"] = "add a feature " + i,
                ["Status"] = i % 10 == 0 ? "Failed" : "Succeeded", ["Work"] = "ModuleCommit",
                ["StartTime"] = end.AddMinutes(-3), ["EndTime"] = end, ["Branch"] = "claude/" + id,
                ["Commits"] = 1, ["FilesChanged"] = 3, ["Insertions"] = 40, ["Deletions"] = 5, ["Model"] = "claude-sonnet-4-5-20250929",
                ["Turns"] = 12, ["CostUsd"] = 0.42, ["InputTokens"] = 90000, ["OutputTokens"] = 4000, ["Attempts"] = 1,
                ["Workspace"] = "Mount", ["Checkout"] = "Overlay", ["Backend"] = "Container", ["AgentLaunched"] = true, ["OwnerHost"] = "bench",
            };
            var file = Path.Combine(directory.FullName, "task.json");
            File.WriteAllText(file, JsonSerializer.Serialize(record, new JsonSerializerOptions { WriteIndented = true }));
            File.SetLastWriteTimeUtc(file, end.UtcDateTime);
        }
    }

    /// <summary>The board file of a live session (pid 1's, which lives as long as the machine) with <see cref="PublishedTasks"/> running tasks.</summary>
    private static string WriteLiveFile(string directory)
    {
        Directory.CreateDirectory(directory);
        using var init = Process.GetProcessById(1);
        var file = Path.Combine(directory, $"1-{init.StartTime.ToUniversalTime().Ticks}-live.json");
        var tasks = Enumerable.Range(0, PublishedTasks).Select(i => new Dictionary<string, object>
        {
            ["TaskId"] = "live" + i.ToString("0000", Invariant), ["Project"] = "project" + (i % 20), ["Branch"] = "claude/live" + i,
            ["StartTime"] = DateTime.UtcNow.AddMinutes(-2), ["Phase"] = "Working", ["Attempt"] = 1, ["Turns"] = 7, ["Tool"] = "Edit src/file" + i + ".cs",
            ["InputTokens"] = 50000, ["OutputTokens"] = 2000, ["CostUsd"] = 0.19, ["CostEstimated"] = true, ["FilesChanged"] = 2,
        }).ToList();
        File.WriteAllText(file, JsonSerializer.Serialize(new Dictionary<string, object> { ["ProcessId"] = 1, ["HostName"] = Environment.MachineName, ["Written"] = DateTime.UtcNow, ["Tasks"] = tasks }));
        return file;
    }
}
