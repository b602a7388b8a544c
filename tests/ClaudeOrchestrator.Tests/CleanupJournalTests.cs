using System.Text.Json;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Journal;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>The cleanup journal: one line per removal with the right reason, whole lines under concurrent writers, and the report over it.</summary>
[Trait(Needs.Trait, Needs.Docker)]
public class CleanupJournalTests : TaskTestBase
{
    private const string Secret = "sk-ant-api03-JOURNAL-LEAK-CHECK-55";
    private readonly DirectoryInfo _state;
    private readonly string _previousState;

    public CleanupJournalTests(DockerFixture docker, ITestOutputHelper output) : this(docker, output, onPodman: false)
    {
    }

    protected CleanupJournalTests(DockerFixture docker, ITestOutputHelper output, bool onPodman) : base(docker, output, onPodman)
    {
        // Each test reads a journal of its own.
        _previousState = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        _state = Directory.CreateTempSubdirectory("co-journal-");
        Environment.SetEnvironmentVariable("XDG_STATE_HOME", _state.FullName);
    }

    private string JournalFile => Path.Combine(_state.FullName, "claude-orchestrator", CleanupJournal.FileName);

    private static JsonElement LineFor(string container) => JournalLineFor(container);

    [Fact]
    public void EveryExitPathWritesOneLineWithItsReason()
    {
        Environment.SetEnvironmentVariable("ANTHROPIC_API_KEY", Secret);
        try
        {
            var expected = new Dictionary<string, string>();
            string NameOf(PsResult r) => r.Single<ClaudeTaskResult>().ContainerName;

            expected[NameOf(Session.Invoke(StartTask("succeed")))] = "Finished";
            expected[NameOf(Session.Invoke(StartTask("fail 4")))] = "Failed";
            expected[NameOf(Session.Invoke(StartTask("ignore-term 600", "-Timeout 2")))] = "TimedOut";

            using (var running = Session.Start(StartTask("ignore-term 600")))
            {
                var name = WaitForSessionContainer(running, TimeSpan.FromSeconds(30));
                running.Stop();
                expected[name] = "Cancelled";
            }

            Session.Invoke(StartTask("sleep 600", "-AsJob")).ThrowIfFailed();
            expected[WaitForJobContainer()] = "Manual";
            Session.Invoke("Remove-ClaudeContainer -Confirm:$false; Get-Job | Wait-Job | Remove-Job").ThrowIfFailed();

            using (var other = new PsSession())
            {
                other.Invoke(StartTask("sleep 600", "-AsJob")).ThrowIfFailed();
                expected[WaitForJobContainer()] = "ModuleRemoved";
                other.Invoke("Remove-Module ClaudeOrchestrator").ThrowIfFailed();
            }

            using (var host = HostProcess.Start(StartTask("ignore-term 600", "-Verbose")))
            {
                var name = host.WaitForLine(l => l.StartsWith("VERBOSE: Creating container "), TimeSpan.FromSeconds(60)).Split(' ')[3];
                host.WaitForLine(l => l == "INFO: agent: ignoring SIGTERM", TimeSpan.FromSeconds(30));
                host.Signal(HostProcess.SIGTERM);
                Assert.True(host.WaitForExit(TimeSpan.FromSeconds(10)));
                expected[name] = "Signal";
                Assert.Equal(host.Id, LineFor(name).GetProperty("pid").GetInt32());
            }

            var orphan = CreateUnlabelled("claude-journal-orphan-" + Guid.NewGuid().ToString("N")[..6],
                "io.claude-orchestrator.managed=true", "io.claude-orchestrator.owner-pid=2147480000",
                "io.claude-orchestrator.owner-host=" + Environment.MachineName, "io.claude-orchestrator.session-id=dead-session",
                "io.claude-orchestrator.task-id=orphan-task");
            Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false").ThrowIfFailed();
            expected[orphan] = "OrphanSweep";

            foreach (var (container, reason) in expected)
            {
                var line = LineFor(container);
                Log($"{reason,-13} {line.GetRawText()}");
                Assert.Equal(reason, line.GetProperty("reason").GetString());
                Assert.Equal("Removed", line.GetProperty("outcome").GetString());
                Assert.InRange(line.GetProperty("durationMs").GetDouble(), 0, 30_000);
                Assert.True(DateTime.UtcNow - line.GetProperty("time").GetDateTime().ToUniversalTime() < TimeSpan.FromMinutes(5));
                Assert.False(string.IsNullOrEmpty(line.GetProperty("task").GetString()));
                Assert.Equal(container.StartsWith("claude-journal-orphan") ? null : Project.Name, line.GetProperty("project").GetString());
            }

            // Beside one removal per task container: the egress gateways' own removals (no task), the networks of dead
            // sessions' gateways the orphan sweep took (an earlier test's killed session may have left one), and what
            // each agent reported spending.
            var removals = JournalLines().Where(l => l.GetProperty("outcome").GetString() != "Usage").ToList();
            var gateways = removals.Where(l => l.GetProperty("task").ValueKind == JsonValueKind.Null).ToList();
            Assert.All(gateways, l => Assert.True(
                l.GetProperty("container").GetString() is var n && (n.StartsWith("claude-gateway-", StringComparison.Ordinal) ||
                                                                      (n.StartsWith("claude-egress-", StringComparison.Ordinal) && l.GetProperty("reason").GetString() == "OrphanSweep")),
                l.GetRawText()));
            Assert.All(gateways, l => Assert.Contains(l.GetProperty("outcome").GetString(), new[] { "Removed", "AlreadyGone" }));
            Assert.Equal(expected.Count, removals.Count - gateways.Count);
            Assert.Contains(JournalLines(), l => l.GetProperty("outcome").GetString() == "Usage" && l.GetProperty("costUsd").GetDouble() > 0);
            Assert.DoesNotContain(Secret, File.ReadAllText(JournalFile));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ANTHROPIC_API_KEY", null);
        }
    }

    [Fact]
    public async Task ConcurrentWritersFromSeveralProcessesNeverTearALine()
    {
        const int processes = 4, perProcess = 300, threads = 4, perThread = 300;
        var hosts = Enumerable.Range(0, processes).Select(p => HostProcess.Start(AppendScript($"proc{p}", perProcess))).ToList();
        var writers = Enumerable.Range(0, threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < perThread; i++)
            {
                CleanupJournal.Append(Record($"thread{t}-{i}"));
            }
        })).ToArray();

        await Task.WhenAll(writers);
        foreach (var host in hosts)
        {
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(120)), host.Transcript);
            Assert.Equal(0, host.ExitCode);
            host.Dispose();
        }

        var lines = File.ReadAllLines(JournalFile);
        Log($"{lines.Length} lines, {new FileInfo(JournalFile).Length} bytes");
        Assert.Equal(processes * perProcess + threads * perThread, lines.Length);
        var containers = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("container").GetString()).ToHashSet();
        Assert.Equal(lines.Length, containers.Count);
    }

    [Fact]
    public void RotationUnderConcurrentWritersKeepsTheJournalBoundedAndWhole()
    {
        const long limit = 16 * 1024;
        var environment = new Dictionary<string, string> { [CleanupJournal.LimitVariable] = limit.ToString() };
        Environment.SetEnvironmentVariable(CleanupJournal.LimitVariable, limit.ToString());
        try
        {
            var hosts = Enumerable.Range(0, 3).Select(p => HostProcess.Start(AppendScript($"rot{p}", 400), environment: environment)).ToList();
            for (var i = 0; i < 400; i++)
            {
                CleanupJournal.Append(Record($"rot-local-{i}"));
            }

            foreach (var host in hosts)
            {
                Assert.True(host.WaitForExit(TimeSpan.FromSeconds(120)), host.Transcript);
                Assert.Equal(0, host.ExitCode);
                host.Dispose();
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(CleanupJournal.LimitVariable, null);
        }

        var directory = Path.GetDirectoryName(JournalFile)!;
        var files = Directory.GetFiles(directory, "*.jsonl").Select(Path.GetFileName).OrderBy(n => n).ToList();
        Assert.Equal(new[] { CleanupJournal.RotatedFileName, CleanupJournal.FileName }, files);
        foreach (var file in files)
        {
            var path = Path.Combine(directory, file!);
            Assert.InRange(new FileInfo(path).Length, 1, limit);
            Assert.All(File.ReadAllLines(path), l => JsonDocument.Parse(l));
        }
    }

    [Fact]
    public void ReportCountsReasonsProjectsDaysOrphansAndFlagsLeakPatterns()
    {
        var today = DateTime.Now.Date.AddHours(12);
        var records = new List<ClaudeCleanupRecord>();
        void Add(int daysAgo, CleanupReason reason, string project, int ms, string outcome = "Removed") =>
            records.Add(Record($"c{records.Count}", today.AddDays(-daysAgo), reason, project, ms, outcome));

        Add(10, CleanupReason.Finished, "ancient", 100);          // before -Since: ignored
        Add(2, CleanupReason.OrphanSweep, "alpha", 50);
        Add(1, CleanupReason.OrphanSweep, "alpha", 60);
        Add(1, CleanupReason.Finished, "alpha", 200);
        for (var i = 0; i < 8; i++)
        {
            Add(0, CleanupReason.Cancelled, "beta", 300 + i);
        }

        Add(0, CleanupReason.Manual, "beta", 9000);
        Add(0, CleanupReason.Signal, "gamma", 10, "Failed");
        records.ForEach(CleanupJournal.Append);

        var r = Session.Invoke("Get-ClaudeCleanupReport -Since ([datetime]::Today.AddDays(-3))");
        var report = r.Single<ClaudeCleanupReport>();

        Assert.Equal(12, report.TotalRemovals);
        Assert.Equal(1, report.Failures);
        Assert.Equal(2, report.OrphansFound);
        Assert.Equal(new object[] { "Cancelled", "OrphanSweep", "Finished", "Manual" }, report.ByReason.Keys.Cast<object>());
        Assert.Equal(8, report.ByReason["Cancelled"]);
        Assert.Equal(9, report.ByProject["beta"]);
        Assert.Equal(3, report.ByProject["alpha"]);
        Assert.Equal(new[] { 1, 2, 9 }, report.PerDay.Values.Cast<int>());
        Assert.Equal(today.AddDays(-2).ToString("yyyy-MM-dd"), report.PerDay.Keys.Cast<string>().First());
        Assert.Equal(9000, report.SlowestRemovals[0].Duration.TotalMilliseconds);
        Assert.Equal(5, report.SlowestRemovals.Length);
        Assert.Equal(TimeSpan.FromMilliseconds(302.5), report.MedianRemoval);
        Assert.Equal(3, report.LeakPatterns.Length);
        Assert.Contains(report.LeakPatterns, p => p.StartsWith("Orphan sweeps found containers on 2 different days"));
        Assert.Contains(report.LeakPatterns, p => p.StartsWith("Interruptions dominate: 8 of 12"));
        Assert.Contains(report.LeakPatterns, p => p.StartsWith("1 removal(s) failed"));
        Assert.Equal(report.LeakPatterns, r.Warnings);

        var empty = Session.Invoke("Get-ClaudeCleanupReport -Since ([datetime]::Now.AddDays(1))").Single<ClaudeCleanupReport>();
        Assert.Equal(0, empty.TotalRemovals);
        Assert.Empty(empty.LeakPatterns);
    }

    /// <summary>A host process appending through the module's own journal code (reached by reflection, it is internal).</summary>
    private static string AppendScript(string prefix, int count) =>
        "$asm = [ClaudeOrchestrator.ClaudeCleanupRecord].Assembly; " +
        "$append = $asm.GetType('ClaudeOrchestrator.Engine.Journal.CleanupJournal').GetMethod('Append'); " +
        $"foreach ($i in 1..{count}) {{ " +
        $"$r = [ClaudeOrchestrator.ClaudeCleanupRecord]@{{ Time = [datetime]::Now; Container = \"{prefix}-$i\"; Reason = 'Manual'; Outcome = 'Removed'; Project = 'load'; TaskId = 't' }}; " +
        "$null = $append.Invoke($null, @(,$r)) }";

    private static ClaudeCleanupRecord Record(string container, DateTime? time = null, CleanupReason reason = CleanupReason.Manual,
        string project = "load", int ms = 1, string outcome = "Removed") => new()
    {
        Time = time ?? DateTime.Now,
        Container = container,
        ContainerId = "0123456789ab",
        TaskId = "task-" + container,
        Project = project,
        Reason = reason,
        Duration = TimeSpan.FromMilliseconds(ms),
        Outcome = outcome,
        ProcessId = Environment.ProcessId,
        HostName = Environment.MachineName,
    };

    [Fact]
    public void ATaskRemovalThatFindsItsContainerGoneIsJournaledAlreadyGone()
    {
        // The task's own DELETE is held; meanwhile someone else removes the container.
        using var proxy = new HoldingProxy(@"^DELETE /[^ ]*containers/([0-9a-f]{64})");
        using (Override("DOCKER_HOST", proxy.Host))
        {
            // Offline: no gateway is made through the proxy, which goes with the test.
            using var running = Session.Start(StartTask("ignore-term 600", "-Network none"));
            running.WaitForInformation(l => l == "agent: ignoring SIGTERM", TimeSpan.FromSeconds(30));
            running.PowerShell.BeginStop(null, null);
            Assert.True(proxy.Held.Wait(TimeSpan.FromSeconds(30)), "the task never asked to remove its container");
            var id = proxy.Held.Result.Groups[1].Value;
            DockerCli.Run("rm", "-f", id).EnsureSuccess();
            proxy.Release();
            running.Wait();

            var line = JournalLineFor(id);
            Assert.Equal("AlreadyGone", line.GetProperty("outcome").GetString());
            Assert.Equal("Cancelled", line.GetProperty("reason").GetString());
        }
    }

    [Fact]
    public void AFlushRemovalThatOutlivesItsRequestButEndsOnTheEngineIsJournaledRemovedWithItsRealDuration()
    {
        // Remove-Module's DELETE never reaches the engine; the engine removes the container anyway
        // (here: someone else does). When the request gives up, the module asks the engine.
        using var proxy = new HoldingProxy(@"^DELETE /[^ ]*containers/([0-9a-f]{64})");
        using (Override("DOCKER_HOST", proxy.Host))
        {
            using var other = new PsSession();
            other.Invoke(StartTask("ignore-term 600", "-AsJob -Network none")).ThrowIfFailed();
            var name = WaitForJobContainer();
            using var removal = other.Start("Remove-Module ClaudeOrchestrator");
            Assert.True(proxy.Held.Wait(TimeSpan.FromSeconds(30)), "the flush never asked to remove the container");
            // Someone else removes it (the engine may be at it already: its agent's session is going).
            var removed = DockerCli.Run("rm", "-f", name);
            Assert.True(removed.ExitCode == 0 || removed.Stderr.Contains("is already in progress"), removed.Stderr);
            var r = removal.Wait();

            Assert.Empty(r.Errors);
            var line = LineFor(name);
            Assert.Equal("Removed", line.GetProperty("outcome").GetString());
            Assert.Equal("ModuleRemoved", line.GetProperty("reason").GetString());
            Assert.False(line.TryGetProperty("error", out _));
            // The duration is the real one: from the first request until the engine was seen without it.
            Assert.True(line.GetProperty("durationMs").GetDouble() >= ContainerRemover.RequestLimit.TotalMilliseconds, line.GetRawText());
        }
    }

    [Fact]
    public void AFailedRemovalIsAnErrorJournaledFailedAndExitsOne()
    {
        var name = CreateUnlabelled("claude-journal-stuck-" + Guid.NewGuid().ToString("N")[..6],
            "io.claude-orchestrator.managed=true", "io.claude-orchestrator.session-id=another-session");
        using var proxy = new HoldingProxy(@"^DELETE /[^ ]*containers/([0-9a-f]{64})");
        using var host = HostProcess.Start($"Remove-ClaudeContainer -Name '{name}' -Force",
            environment: new Dictionary<string, string> { ["DOCKER_HOST"] = proxy.Host });
        Assert.True(proxy.Held.Wait(TimeSpan.FromSeconds(60)), "the removal was never sent. Transcript:\n" + host.Transcript);
        // Every attempt fails (a dropped removal is looked at and tried again): the last one is reported.
        proxy.DropEveryMatch();

        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(60)), host.Transcript);
        Log(host.Transcript);
        Assert.Equal(1, host.ExitCode);
        Assert.Contains("ERROR: ContainerRemovalFailed,", host.Transcript);
        Assert.True(DockerCli.Exists(name));
        var line = LineFor(name);
        Assert.Equal("Failed", line.GetProperty("outcome").GetString());
        Assert.Equal("Manual", line.GetProperty("reason").GetString());
        Assert.False(string.IsNullOrWhiteSpace(line.GetProperty("error").GetString()));
    }

    [Fact]
    public void AnUnwritableJournalNeverFailsACleanup()
    {
        // The state directory's place is taken by a file: nothing can be written there.
        var blocked = Path.Combine(_state.FullName, "not-a-directory");
        File.WriteAllText(blocked, "");
        using (Override("XDG_STATE_HOME", blocked))
        {
            var result = Session.Invoke(StartTask("succeed")).ThrowIfFailed().Single<ClaudeTaskResult>();
            Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
            Assert.False(DockerCli.Exists(result.ContainerName));

            var foreign = CreateUnlabelled("claude-journal-blocked-" + Guid.NewGuid().ToString("N")[..6],
                "io.claude-orchestrator.managed=true", "io.claude-orchestrator.session-id=another-session");
            var r = Session.Invoke($"Remove-ClaudeContainer -Name '{foreign}' -Force").ThrowIfFailed();
            Assert.Contains("Cleaned up 1 container(s)", r.InformationText);
            Assert.False(DockerCli.Exists(foreign));
        }
    }

    [Fact]
    public void ManyTimeoutsAreFlaggedInTheReport()
    {
        for (var i = 0; i < 3; i++)
        {
            Session.Invoke(StartTask("ignore-term 600", "-Timeout 1"));
        }

        for (var i = 0; i < 7; i++)
        {
            Session.Invoke(StartTask("succeed")).ThrowIfFailed();
        }

        var report = Session.Invoke("Get-ClaudeCleanupReport").ThrowIfFailed().Single<ClaudeCleanupReport>();
        Assert.Contains(report.LeakPatterns, w => w.StartsWith("3 of 10 tasks timed out", StringComparison.Ordinal));

        // Below a quarter it is no pattern.
        Session.Invoke(StartTask("succeed")).ThrowIfFailed();
        Session.Invoke(StartTask("succeed")).ThrowIfFailed();
        report = Session.Invoke("Get-ClaudeCleanupReport").ThrowIfFailed().Single<ClaudeCleanupReport>();
        Assert.DoesNotContain(report.LeakPatterns, w => w.Contains("timed out"));
    }

    public override void Dispose()
    {
        Environment.SetEnvironmentVariable("XDG_STATE_HOME", _previousState);
        _state.Delete(recursive: true);
        base.Dispose();
    }
}
