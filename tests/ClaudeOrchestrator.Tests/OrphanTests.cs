using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

[Trait(Needs.Trait, Needs.Docker)]
public class OrphanTests : TaskTestBase
{
    public OrphanTests(DockerFixture docker, ITestOutputHelper output) : this(docker, output, onPodman: false)
    {
    }

    protected OrphanTests(DockerFixture docker, ITestOutputHelper output, bool onPodman) : base(docker, output, onPodman)
    {
    }

    private string CreateOwned(string tag, int pid, DateTime start, string host = null) =>
        CreateUnlabelled($"claude-orphan-{tag}-{Guid.NewGuid().ToString("N")[..6]}",
            "io.claude-orchestrator.managed=true",
            "io.claude-orchestrator.session-id=" + Guid.NewGuid().ToString("N"),
            "io.claude-orchestrator.owner-host=" + (host ?? Environment.MachineName),
            "io.claude-orchestrator.owner-pid=" + pid,
            "io.claude-orchestrator.owner-start=" + start.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ"));

    private static (int Pid, DateTime Start) DeadProcess()
    {
        // Long enough to read its start time while it still runs.
        using var p = Process.Start("sleep", "0.2")!;
        var start = p.StartTime;
        p.WaitForExit();
        return (p.Id, start);
    }

    [Fact]
    public void OrphanedMeansProvablyDeadOwnerOnThisHost()
    {
        var dead = DeadProcess();
        using var self = Process.GetCurrentProcess();
        var orphan = CreateOwned("dead", dead.Pid, dead.Start);
        var reused = CreateOwned("reused", self.Id, self.StartTime.AddHours(-3));
        var live = CreateOwned("live", self.Id, self.StartTime);
        var remote = CreateOwned("remote", dead.Pid, dead.Start, host: "some-other-host");

        var listed = Session.Invoke("Get-ClaudeContainer -Orphaned").ThrowIfFailed()
            .Output.Select(o => ((ClaudeContainer)o.BaseObject).Name).ToList();

        Assert.Contains(orphan, listed);
        Assert.Contains(reused, listed);
        Assert.DoesNotContain(live, listed);
        Assert.DoesNotContain(remote, listed);

        var r = Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false").ThrowIfFailed();

        Assert.False(DockerCli.Exists(orphan));
        Assert.False(DockerCli.Exists(reused));
        Assert.True(DockerCli.Exists(live));
        Assert.True(DockerCli.Exists(remote));
        Assert.Contains("Cleaned up 2 container(s)", r.InformationText);
    }

    [Fact]
    public void ALiveSessionsRunningTaskIsNeverAnOrphan()
    {
        // Another process, with a session of its own, runs a task.
        using var other = HostProcess.Start(StartTask("sleep 600", "-Verbose"));
        var name = other.WaitForLine(l => l.StartsWith("VERBOSE: Creating container "), TimeSpan.FromSeconds(60)).Split(' ')[3];
        other.WaitForLine(l => l == "INFO: agent: sleeping 600", TimeSpan.FromSeconds(30));
        Assert.Equal(other.Id.ToString(), DockerCli.Inspect(name, "{{index .Config.Labels \"io.claude-orchestrator.owner-pid\"}}"));
        Assert.NotEqual(SessionIdentity.SessionId, DockerCli.Inspect(name, "{{index .Config.Labels \"io.claude-orchestrator.session-id\"}}"));

        Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false").ThrowIfFailed();
        Assert.Empty(Session.Invoke("Get-ClaudeContainer -Orphaned").ThrowIfFailed().Output);
        Assert.Equal("running", DockerCli.Inspect(name, "{{.State.Status}}"));

        // Once that process is gone the container goes with it; the orphan check was not blind.
        other.Signal(HostProcess.SIGKILL);
        DockerCli.WaitGone(name, TimeSpan.FromSeconds(10));
    }
}
