using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// Many tasks from one session: a flush of more containers than the engine removes in ten
/// seconds (it removes about 10 running containers a second here) runs until every one is
/// gone, and the journal says what the engine did. The tasks run offline: these are the flush's
/// figures (many tasks through one egress gateway are the bench's, `egress`).
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public class ScaleTests : TaskTestBase
{
    private const int Count = 150;

    public ScaleTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
    }

    private static int OwnContainers() => DockerCli.TaskNamesWithLabel("io.claude-orchestrator.owner-pid=" + Environment.ProcessId).Count;

    [Fact]
    public void RemoveModuleWithHundredsOfRunningTasksRemovesEveryOneAndJournalsEachAsRemoved()
    {
        using var other = new PsSession();
        other.Invoke($"$j = 1..{Count} | ForEach-Object {{ [pscustomobject]@{{ Path = '{Project.FullName}'; Description = 'ignore-term 600' }} }} | " +
                     $"Start-ClaudeTask -Image {Image} -Isolation None -Network none -AsJob -ThrottleLimit {Count}").ThrowIfFailed();
        Eventually.Last(OwnContainers, n => n >= Count, TimeSpan.FromMinutes(3), TimeSpan.FromMilliseconds(200));

        var names = DockerCli.TaskNamesWithLabel("io.claude-orchestrator.owner-pid=" + Environment.ProcessId);
        Assert.Equal(Count, names.Count);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        other.Invoke("Remove-Module ClaudeOrchestrator").ThrowIfFailed();
        Output.WriteLine($"Remove-Module removed {Count} running containers in {watch.Elapsed.TotalSeconds:0.0} s");

        // Every container is gone when Remove-Module returns, not a moment later.
        Assert.Empty(DockerCli.ManagedNames());
        // One line per container, each saying what the engine did: removed, none failed.
        var lines = JournalLines().Where(l => l.TryGetProperty("container", out var c) && names.Contains(c.GetString())).ToList();
        foreach (var odd in lines.Where(l => l.GetProperty("outcome").GetString() != "Removed").Take(5))
        {
            Output.WriteLine(odd.GetRawText());
        }

        Assert.Equal(Count, lines.Select(l => l.GetProperty("container").GetString()).Distinct().Count());
        Assert.Equal(Count, lines.Count);
        Assert.All(lines, l => Assert.Contains(l.GetProperty("outcome").GetString(), new[] { "Removed", "AlreadyGone" }));
        Assert.All(lines, l => Assert.Equal("ModuleRemoved", l.GetProperty("reason").GetString()));
        var report = (ClaudeCleanupReport)Session.Invoke("Get-ClaudeCleanupReport").ThrowIfFailed().Output.Single().BaseObject;
        Assert.Equal(0, report.Failures);
        Assert.DoesNotContain(report.LeakPatterns, p => p.Contains("failed"));
    }

    [Fact]
    public void RemoveModuleWhileTasksWaitToLaunchLeavesNoContainerBehindItsFlush()
    {
        // More tasks than launch at once per engine: some are still waiting for a launch slot
        // (nothing created yet) when the module goes. None may create a container after the flush.
        using var other = new PsSession();
        other.Invoke($"$j = 1..60 | ForEach-Object {{ [pscustomobject]@{{ Path = '{Project.FullName}'; Description = 'ignore-term 600' }} }} | " +
                     $"Start-ClaudeTask -Image {Image} -Isolation None -Network none -AsJob -ThrottleLimit 60").ThrowIfFailed();
        Eventually.Last(OwnContainers, n => n > 0, TimeSpan.FromSeconds(60));

        Assert.InRange(OwnContainers(), 1, 59);
        other.Invoke("Remove-Module ClaudeOrchestrator").ThrowIfFailed();
        Assert.Equal(0, OwnContainers());
        // The tasks that were still waiting end without creating one, now or later: none once every job has ended.
        var states = other.Invoke("$j.ChildJobs | Wait-Job -Timeout 60 | ForEach-Object { $_.State.ToString() }").Output.Select(o => o.ToString()).ToList();
        Assert.Equal(60, states.Count);
        Assert.DoesNotContain("Running", states);
        Assert.Equal(0, OwnContainers());
    }

    [Fact]
    public void SigtermWithHundredsOfRunningTasksExitsOnlyWhenEveryContainerIsGone()
    {
        using var host = HostProcess.Start(
            $"$j = 1..{Count} | ForEach-Object {{ [pscustomobject]@{{ Path = '{Project.FullName}'; Description = 'ignore-term 600' }} }} | " +
            $"Start-ClaudeTask -Image {Image} -Isolation None -Network none -AsJob -ThrottleLimit {Count}; [Console]::WriteLine('submitted'); $j | Wait-Job");
        host.WaitForLine(l => l.Contains("submitted"), TimeSpan.FromSeconds(60));
        var label = "io.claude-orchestrator.owner-pid=" + host.Id;
        Eventually.Last(() => DockerCli.TaskNamesWithLabel(label).Count(n => DockerCli.Inspect(n, "{{.State.Status}}") == "running"), n => n >= Count,
            TimeSpan.FromMinutes(3), TimeSpan.FromMilliseconds(500));

        var names = DockerCli.TaskNamesWithLabel(label);
        Assert.Equal(Count, names.Count);
        host.Signal(HostProcess.SIGTERM);
        Assert.True(host.WaitForExit(TimeSpan.FromMinutes(3)), "the host did not exit");

        // The promise: removed before the process exits, and the journal says so for each.
        Assert.Empty(DockerCli.ManagedNames());
        var lines = JournalLines().Where(l => l.TryGetProperty("container", out var c) && names.Contains(c.GetString())).ToList();
        Assert.Equal(Count, lines.Count);
        Assert.All(lines, l => Assert.Contains(l.GetProperty("outcome").GetString(), new[] { "Removed", "AlreadyGone" }));
        Assert.All(lines, l => Assert.Equal("Signal", l.GetProperty("reason").GetString()));
        Assert.Contains($"removing", host.Transcript);
    }
}
