using System.Text.Json;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Live;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// Many tasks at a glance: running tasks publish their live activity for every session of the
/// machine, Watch-ClaudeTask -Once reads it with the records of ended tasks, and a fan-out's
/// total budget keeps further tasks from starting (and with -StopAtBudget stops running ones,
/// their work saved). The stand-in's "spend" reports a priced model, a file and a turn a second.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public class BoardAndBudgetTests : TaskTestBase
{
    // Each turn: 20,000 output tokens on Sonnet = $0.30.
    private const double TurnCost = 0.30;

    public BoardAndBudgetTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
        CommitProject(("README.md", "hello\n"));
    }

    private string FanOut(int tasks, string description, string extra) =>
        $"1..{tasks} | ForEach-Object {{ [pscustomobject]@{{ Path = '{Project.FullName}'; Description = '{description}' }} }} | " +
        $"Start-ClaudeTask -Image {Image} -Network none -ThrottleLimit 2 {extra}";

    private IReadOnlyList<string> TaskBranches() =>
        ProjectGit("for-each-ref", "--format=%(refname:short)", "refs/heads/claude/").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void ABudgetReachedKeepsTheRestFromStartingWhileTheRunningOnesFinish()
    {
        // Two run at once, 6 turns each ($1.80): the estimate of the two passes $1 within their first turns.
        var r = Session.Invoke(FanOut(5, "spend 6 20000 1", "-MaxTotalBudgetUsd 1"));
        var results = r.Output.Select(o => (ClaudeTaskResult)o.BaseObject).ToList();
        Assert.Equal(5, results.Count);
        var ran = results.Where(t => t.Status != ClaudeTaskStatus.NotStarted).ToList();
        var notStarted = results.Where(t => t.Status == ClaudeTaskStatus.NotStarted).ToList();
        Assert.Equal(2, ran.Count);
        Assert.All(ran, t => Assert.True(t.Status == ClaudeTaskStatus.Succeeded, t.Reason));
        // They finished and reported their own cost: not an estimate.
        Assert.All(ran, t => Assert.Equal(6 * TurnCost, t.CostUsd!.Value, 6));
        Assert.All(ran, t => Assert.False(t.CostEstimated));
        Assert.All(ran, t => Assert.Equal("turn 6", ProjectGit("show", t.Branch + ":spent-6.txt")));

        // The rest came back at once, nothing of them made: no record, no branch, no error, one warning.
        Assert.Equal(3, notStarted.Count);
        Assert.All(notStarted, t => Assert.Matches(@"^Not started: the fan-out's budget of \$1\.00 \(-MaxTotalBudgetUsd\) was reached: \$\d+\.\d{4} spent\.$", t.Reason));
        Assert.All(notStarted, t => Assert.Null(t.Branch));
        Assert.All(notStarted, t => Assert.Null(ClaudeOrchestrator.Engine.Records.TaskStore.Load(t.TaskId)));
        Assert.Equal(ran.Select(t => t.Branch).OrderBy(b => b), TaskBranches().OrderBy(b => b));
        Assert.Empty(r.Errors);
        var warning = Assert.Single(r.Warnings);
        Assert.Contains("status NotStarted", warning);
        Assert.Contains("the running ones go on", warning);
    }

    [Fact]
    public void StopAtBudgetStopsTheRunningTasksAndSavesTheirWork()
    {
        var r = Session.Invoke(FanOut(4, "spend 60 20000 1", "-MaxTotalBudgetUsd 1 -StopAtBudget"));
        var results = r.Output.Select(o => (ClaudeTaskResult)o.BaseObject).ToList();
        Assert.Equal(4, results.Count);
        var stopped = results.Where(t => t.Status != ClaudeTaskStatus.NotStarted).ToList();
        Assert.Equal(2, stopped.Count);
        foreach (var task in stopped)
        {
            Assert.True(task.Status == ClaudeTaskStatus.Cancelled, task.Status + ": " + task.Reason);
            Assert.StartsWith("Stopped (-StopAtBudget): the fan-out's budget of $1.00", task.Reason);
            // Stopped long before its 60 turns; what it wrote so far is in its branch.
            Assert.InRange(task.Turns!.Value, 1, 20);
            Assert.Equal(ClaudeTaskWork.ModuleCommit, task.Work);
            Assert.Equal("turn 1", ProjectGit("show", task.Branch + ":spent-1.txt"));
            Assert.NotEqual(0, DockerCli.Exec("git", "-C", Project.FullName, "cat-file", "-e", task.Branch + ":spent-60.txt").ExitCode);
            // It never reported its cost: what its tokens cost at list price is counted, and said to be an estimate.
            Assert.True(task.CostEstimated);
            Assert.InRange(task.CostUsd!.Value, TurnCost * (task.Turns.Value - 0.01), TurnCost * (task.Turns.Value + 0.01));
        }

        Assert.Equal(2, results.Count(t => t.Status == ClaudeTaskStatus.NotStarted));
        Assert.Equal(2, r.Errors.Count(e => e.FullyQualifiedErrorId.StartsWith("ClaudeTaskCancelled,")));
        Assert.Contains("the running ones are stopped (-StopAtBudget)", Assert.Single(r.Warnings));
        Assert.Empty(LabelledTaskContainers());
    }

    [Fact]
    public void AProfilesTotalBudgetHoldsForAFanOutJob()
    {
        var profiles = Directory.CreateTempSubdirectory("co-profiles-");
        try
        {
            File.WriteAllText(Path.Combine(profiles.FullName, "budgeted.yaml"),
                $"local_path: {Project.FullName}\ndocker:\n  image: {Image}\nagent:\n  max_total_budget_usd: 0.5\n");
            var r = Session.Invoke($"$env:CLAUDE_PROJECTS_DIR = '{profiles.FullName}'; try {{ " +
                "1..4 | ForEach-Object { [pscustomobject]@{ Project = 'budgeted'; Description = 'spend 6 20000 1' } } | " +
                "Start-ClaudeTask -Network none -ThrottleLimit 2 -AsJob | Receive-Job -Wait -AutoRemoveJob } finally { $env:CLAUDE_PROJECTS_DIR = $null }");
            var results = r.Output.Select(o => o.BaseObject).OfType<ClaudeTaskResult>().ToList();
            Assert.Equal(4, results.Count);
            Assert.Equal(2, results.Count(t => t.Status == ClaudeTaskStatus.Succeeded));
            var notStarted = results.Where(t => t.Status == ClaudeTaskStatus.NotStarted).ToList();
            Assert.Equal(2, notStarted.Count);
            Assert.All(notStarted, t => Assert.StartsWith("Not started: the fan-out's budget of $0.50", t.Reason));
            // Objects naming a profile by its Project property ran with it (its path, its image).
            Assert.All(results, t => Assert.Equal("budgeted", t.Project));
            Assert.All(results.Where(t => t.Status == ClaudeTaskStatus.Succeeded), t => Assert.Equal(Project.FullName, t.Path));
        }
        finally
        {
            profiles.Delete(true);
        }
    }

    [Fact]
    public void StopAtBudgetWithoutABudgetIsRefusedBeforeAnythingExists()
    {
        var r = Session.Invoke(StartTask("succeed", "-StopAtBudget"));
        Assert.Empty(r.Output);
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("BudgetMissing,", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Contains("-MaxTotalBudgetUsd", error.Exception.Message);
        Assert.Empty(TaskBranches());
        Assert.DoesNotContain(ClaudeOrchestrator.Engine.Records.TaskStore.All(), t => t.Path == Project.FullName);
    }

    [Fact]
    public void RunningTasksOfAnotherProcessAreOnTheBoardWithTheirTurnsFilesAndCostSoFar()
    {
        // Three tasks in a session of their own: the board here reads what that process publishes.
        using var other = HostProcess.Start(
            $"1..3 | ForEach-Object {{ [pscustomobject]@{{ Path = '{Project.FullName}'; Description = 'spend 8 1000 1' }} }} | " +
            $"Start-ClaudeTask -Image {Image} -Network none | Out-Null");
        try
        {
            ClaudeTaskBoardRow[] rows = Array.Empty<ClaudeTaskBoardRow>();
            Eventually.True(() =>
            {
                rows = Board("-Status Running");
                return rows.Length == 3 && rows.All(row => row.Turns >= 2);
            }, TimeSpan.FromSeconds(60), "three running tasks of the other process show two turns", TimeSpan.FromMilliseconds(200));
            foreach (var row in rows)
            {
                Assert.Equal(Project.Name, row.Project);
                Assert.StartsWith("claude/", row.Branch);
                // Sonnet's list price for the tokens so far, as an estimate; the files its Write calls named.
                Assert.True(row.CostEstimated);
                Assert.InRange(row.CostUsd!.Value, row.Turns!.Value * 1000 * 15e-6 - 1e-9, (row.Turns.Value + 1) * 1000 * 15e-6 + 1e-9);
                Assert.InRange(row.FilesChanged!.Value, row.Turns.Value - 1, row.Turns.Value + 1);
                Assert.NotNull(row.Activity);
            }

            // One file for the other process, however many tasks it runs.
            var live = Directory.GetFiles(LiveBoard.Directory, "*-live.json");
            var mine = live.Where(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.GetProperty("Tasks").EnumerateArray()
                .Any(t => rows.Any(row => row.TaskId == t.GetProperty("TaskId").GetString()))).ToList();
            Assert.Single(mine);

            Assert.True(other.WaitForExit(TimeSpan.FromSeconds(90)), "the other process ends when its tasks do");
            var ended = Board("-Since 5m").Where(row => rows.Any(x => x.TaskId == row.TaskId)).ToList();
            Assert.Equal(3, ended.Count);
            Assert.All(ended, row => Assert.Equal(ClaudeTaskStatus.Succeeded, row.Status));
            Assert.All(ended, row => Assert.Equal(8 * 1000 * 15e-6, row.CostUsd!.Value, 9));
            Assert.All(ended, row => Assert.False(row.CostEstimated));
            Assert.All(ended, row => Assert.Equal(8, row.FilesChanged));
            Assert.False(File.Exists(mine[0]), "the file goes when its process has no task");
        }
        finally
        {
            Log(other.Transcript);
        }
    }

    [Fact]
    public void TheBoardFileIsRewrittenAtMostOnceASecond()
    {
        var running = Session.Start(StartTask("spend 12 1000 0.2"));
        var writes = new HashSet<DateTime>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string file = null;
        while (!running.PowerShell.InvocationStateInfo.State.Equals(System.Management.Automation.PSInvocationState.Completed) && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            file ??= Directory.Exists(LiveBoard.Directory) ? Directory.GetFiles(LiveBoard.Directory, $"{Environment.ProcessId}-*-live.json").FirstOrDefault() : null;
            if (file != null && File.Exists(file))
            {
                writes.Add(File.GetLastWriteTimeUtc(file));
            }

            Thread.Sleep(20);
        }

        var result = running.Wait().Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
        // The agent changed its turn five times a second; the file changed at most once a second.
        var span = writes.Max() - writes.Min();
        Assert.True(writes.Count >= 2, $"{writes.Count} writes seen");
        Assert.True(writes.Count <= span.TotalSeconds / LiveBoard.Period.TotalSeconds + 1.5, $"{writes.Count} writes in {span.TotalSeconds:0.0} s");
    }

    private ClaudeTaskBoardRow[] Board(string parameters) =>
        Session.Invoke($"Watch-ClaudeTask -Once {parameters} -Project '{Project.Name}'").ThrowIfFailed().Output.Select(o => (ClaudeTaskBoardRow)o.BaseObject).ToArray();

    /// <summary>Labelled containers other than the session's egress gateway and network holders.</summary>
    private static IReadOnlyList<string> LabelledTaskContainers() =>
        DockerCli.Run("ps", "-a", "--filter", "label=io.claude-orchestrator.managed=true", "--format", "{{.Names}} {{.Label \"io.claude-orchestrator.role\"}}")
            .Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.EndsWith(" egress-gateway") && !line.EndsWith(" egress-holder")).ToList();
}

/// <summary>The board's drawing, its files of ended sessions and the price table, without an engine.</summary>
[Trait(Needs.Trait, Needs.None)]
public class TaskBoardViewTests
{
    private static ClaudeTaskBoardRow Row(string id, ClaudeTaskStatus status, string activity = "Write src/a.cs", double? cost = 0.1234, bool estimated = false) => new()
    {
        TaskId = id,
        Project = "shop",
        Branch = "claude/" + id,
        Status = status,
        Activity = activity,
        StartTime = DateTime.Now.AddMinutes(-3),
        Elapsed = TimeSpan.FromSeconds(185),
        Turns = 7,
        CostUsd = cost,
        CostEstimated = estimated,
        FilesChanged = 3,
    };

    private static string Visible(string line) => System.Text.RegularExpressions.Regex.Replace(line, "\u001b\\[[0-9;]*m", string.Empty);

    [Fact]
    public void AWideWindowShowsEveryColumnAndTheSummary()
    {
        var rows = new[] { Row("aaaa1111", ClaudeTaskStatus.Running, estimated: true), Row("bbbb2222", ClaudeTaskStatus.Succeeded, "ModuleCommit") };
        var lines = Hosting.TaskBoardView.Render(rows, 160, 40, colour: false, DateTime.Now, TimeSpan.FromMinutes(15));
        Assert.Matches(@"^Claude tasks · 1 running · 1 ended in the last 15m · ~\$0\.2468 · \d\d:\d\d:\d\d · q leaves$", lines[0]);
        Assert.Matches(@"^ID\s+PROJECT\s+BRANCH\s+STATUS\s+ELAPSED\s+TURN\s+COST\s+FILES ACTIVITY$", lines[1]);
        Assert.Matches(@"^aaaa1111\s+shop\s+claude/aaaa1111\s+Running\s+03:05\s+7\s+~\$0\.1234\s+3 Write src/a\.cs$", lines[2]);
        Assert.Matches(@"^bbbb2222\s+shop\s+claude/bbbb2222\s+Succeeded\s+03:05\s+7\s+\$0\.1234\s+3 ModuleCommit$", lines[3]);
        Assert.Equal(4, lines.Count);
        Assert.DoesNotContain(lines, l => l.Contains('\u001b'));
    }

    [Fact]
    public void ANarrowWindowDropsColumnsAndNoLineIsWiderThanIt()
    {
        var rows = new[] { Row("aaaa1111", ClaudeTaskStatus.Running, new string('x', 300)) };
        foreach (var width in new[] { 40, 55, 65, 80, 100, 120 })
        {
            var lines = Hosting.TaskBoardView.Render(rows, width, 20, colour: true, DateTime.Now, TimeSpan.FromMinutes(15));
            Assert.All(lines, l => Assert.True(Visible(l).Length <= width - 1, $"{width}: '{Visible(l)}'"));
            Assert.Equal(width >= 110, lines[1].Contains("BRANCH"));
            Assert.Equal(width >= 80, lines[1].Contains("PROJECT"));
            Assert.Contains("aaaa1111", lines[2]);
        }
    }

    [Fact]
    public void RowsBeyondTheWindowAreCountedAndColoursFollowTheStatus()
    {
        var rows = Enumerable.Range(0, 30).Select(i => Row($"id{i:00}", i % 2 == 0 ? ClaudeTaskStatus.Running : ClaudeTaskStatus.Failed)).ToList();
        var lines = Hosting.TaskBoardView.Render(rows, 120, 12, colour: true, DateTime.Now, TimeSpan.FromMinutes(15));
        Assert.Equal(11, lines.Count);
        Assert.StartsWith("... and 22 more", lines[^1]);
        Assert.Contains("\u001b[36mRunning", lines[2]);
        Assert.Contains("\u001b[31mFailed", lines[3]);
    }

    [Fact]
    public void AnEmptyBoardSaysSo()
    {
        var lines = Hosting.TaskBoardView.Render(Array.Empty<ClaudeTaskBoardRow>(), 100, 20, colour: false, DateTime.Now, TimeSpan.FromHours(2));
        Assert.Equal("No task running, none ended in the last 2h.", lines[^1]);
    }

    [Fact]
    public void TheFileOfAnEndedSessionIsNotReadAndIsDeleted()
    {
        var state = Directory.CreateTempSubdirectory("co-live-");
        var saved = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        Environment.SetEnvironmentVariable("XDG_STATE_HOME", state.FullName);
        try
        {
            Directory.CreateDirectory(LiveBoard.Directory);
            var task = new { TaskId = "deadbeef", Project = "p", Branch = "claude/deadbeef", StartTime = DateTime.UtcNow, Phase = "Working", Attempt = 1, Turns = 3 };
            var dead = Path.Combine(LiveBoard.Directory, $"{HostProcess.DeadPid()}-{DateTime.UtcNow.Ticks}-live.json");
            File.WriteAllText(dead, JsonSerializer.Serialize(new { ProcessId = 1, Tasks = new[] { task } }));
            // What a process killed between writing aside and renaming leaves.
            var halfWritten = dead + ".tmp";
            File.WriteAllText(halfWritten, "{\"Tasks\":[");
            var parent = Path.Combine(LiveBoard.Directory, $"1-{System.Diagnostics.Process.GetProcessById(1).StartTime.ToUniversalTime().Ticks}-live.json");
            File.WriteAllText(parent, JsonSerializer.Serialize(new { ProcessId = 1, Tasks = new[] { new { TaskId = "alive001", Project = "p", Branch = "b", StartTime = DateTime.UtcNow, Phase = "Starting", Attempt = 0 } } }));

            // A live process's file being written is neither read nor deleted.
            File.WriteAllText(parent + ".tmp", "{\"Tasks\":[");

            var read = LiveBoard.ReadAll();
            Assert.DoesNotContain(read, t => t.TaskId == "deadbeef");
            Assert.Contains(read, t => t.TaskId == "alive001" && t.Phase == "Starting");
            Assert.False(File.Exists(dead));
            Assert.False(File.Exists(halfWritten));
            Assert.True(File.Exists(parent));
            Assert.True(File.Exists(parent + ".tmp"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("XDG_STATE_HOME", saved);
            state.Delete(true);
        }
    }

    [Fact]
    public void ListPricesEstimateTheKnownFamiliesAndNothingElse()
    {
        var usage = new Engine.Agent.AgentActivity.Usage { Input = 1_000_000, Output = 1_000_000, CacheCreation = 1_000_000, CacheRead = 1_000_000 };
        Assert.Equal(3 + 15 + 3.75 + 0.30, Engine.Agent.ModelPrices.Estimate("claude-sonnet-4-5-20250929", usage)!.Value, 9);
        Assert.Equal(5 + 25 + 6.25 + 0.50, Engine.Agent.ModelPrices.Estimate("claude-opus-4-5-20251101", usage)!.Value, 9);
        Assert.Equal(15 + 75 + 18.75 + 1.50, Engine.Agent.ModelPrices.Estimate("claude-opus-4-1-20250805", usage)!.Value, 9);
        Assert.Equal(1 + 5 + 1.25 + 0.10, Engine.Agent.ModelPrices.Estimate("claude-haiku-4-5-20251001", usage)!.Value, 9);
        Assert.Null(Engine.Agent.ModelPrices.Estimate("stand-in-model", usage));
        Assert.Null(Engine.Agent.ModelPrices.Estimate(null, usage));
    }

    [Fact]
    public void TheBoardWithoutAConsoleIsRefusedAndOnceStillWorks()
    {
        using var session = new PsSession();
        var r = session.Invoke("Watch-ClaudeTask");
        Assert.StartsWith("BoardNeedsConsole,", r.FirstError.FullyQualifiedErrorId);
        Assert.Contains("-Once", r.FirstError.Exception.Message);
        Assert.Null(session.Invoke("Watch-ClaudeTask -Once -Id nosuchid0").ThrowIfFailed().Output.FirstOrDefault());
        Assert.StartsWith("BoardSinceInvalid,", session.Invoke("Watch-ClaudeTask -Once -Since 0").FirstError.FullyQualifiedErrorId);
    }
}
