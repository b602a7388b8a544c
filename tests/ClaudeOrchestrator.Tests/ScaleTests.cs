using ClaudeOrchestrator.Testing;
using ClaudeOrchestrator.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// Many tasks from one session: a flush of more containers than the engine removes in ten
/// seconds (it removes about 10 running containers a second here) runs until every one is
/// gone, and the journal says what the engine did.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public class ScaleTests : TaskTestBase
{
    private const int Count = 150;

    public ScaleTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
    }

    private static int OwnContainers() => DockerCli.NamesWithLabel("io.claude-orchestrator.owner-pid=" + Environment.ProcessId).Count;

    [Fact]
    public void RemoveModuleWithHundredsOfRunningTasksRemovesEveryOneAndJournalsEachAsRemoved()
    {
        using var other = new PsSession();
        other.Invoke($"$j = 1..{Count} | ForEach-Object {{ [pscustomobject]@{{ Path = '{Project.FullName}'; Description = 'ignore-term 600' }} }} | " +
                     $"Start-ClaudeTask -Image {Image} -Isolation None -AsJob -ThrottleLimit {Count}").ThrowIfFailed();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (OwnContainers() < Count && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(200);
        }

        var names = DockerCli.NamesWithLabel("io.claude-orchestrator.owner-pid=" + Environment.ProcessId);
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
                     $"Start-ClaudeTask -Image {Image} -Isolation None -AsJob -ThrottleLimit 60").ThrowIfFailed();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (OwnContainers() == 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
        }

        Assert.InRange(OwnContainers(), 1, 59);
        other.Invoke("Remove-Module ClaudeOrchestrator").ThrowIfFailed();
        Assert.Equal(0, OwnContainers());
        // The tasks that were still waiting end without creating one, now or later.
        Thread.Sleep(3000);
        Assert.Equal(0, OwnContainers());
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
            $"Start-ClaudeTask -Image {Image} -Isolation None -AsJob -ThrottleLimit {Count}; [Console]::WriteLine('submitted'); $j | Wait-Job");
        host.WaitForLine(l => l.Contains("submitted"), TimeSpan.FromSeconds(60));
        var label = "io.claude-orchestrator.owner-pid=" + host.Id;
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DockerCli.NamesWithLabel(label).Count(n => DockerCli.Inspect(n, "{{.State.Status}}") == "running") < Count && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(500);
        }

        var names = DockerCli.NamesWithLabel(label);
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
