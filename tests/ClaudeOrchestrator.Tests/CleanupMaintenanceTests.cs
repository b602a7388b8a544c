using System.Text.Json;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>-Status, -OlderThan and -Force on containers prepared with known state and age, and scheduled runs.</summary>
[Trait(Needs.Trait, Needs.Docker)]
public class CleanupMaintenanceTests : TaskTestBase
{
    private const string ForeignSession = "io.claude-orchestrator.session-id=another-session";

    public CleanupMaintenanceTests(DockerFixture docker, ITestOutputHelper output) : this(docker, output, onPodman: false)
    {
    }

    protected CleanupMaintenanceTests(DockerFixture docker, ITestOutputHelper output, bool onPodman) : base(docker, output, onPodman)
    {
    }

    private string Labelled(string name, string state)
    {
        var labels = new[] { "io.claude-orchestrator.managed=true", ForeignSession, "io.claude-orchestrator.project=maintenance" };
        if (state == "created")
        {
            var args = new List<string> { "create", "--name", name };
            foreach (var label in labels)
            {
                args.AddRange(new[] { "--label", label });
            }

            args.AddRange(new[] { Image, "sleep", "600" });
            DockerCli.Run(args.ToArray()).EnsureSuccess();
            RegisterForCleanup(name);
            return name;
        }

        CreateUnlabelled(name, labels);
        if (state == "exited")
        {
            DockerCli.Run("kill", name).EnsureSuccess();
            DockerCli.Run("wait", name).EnsureSuccess();
        }
        else if (state == "paused")
        {
            DockerCli.Run("pause", name).EnsureSuccess();
        }

        return name;
    }

    private IReadOnlyList<string> Names(string script) =>
        Session.Invoke(script).ThrowIfFailed().Output.Select(o => ((ClaudeContainer)o.BaseObject).Name).OrderBy(n => n).ToList();

    [Fact]
    public void StatusAndAgeFiltersSelectExactlyThePreparedContainers()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var old = Labelled($"claude-old-created-{tag}", "created");
        // The engine lists creation times in whole seconds, and preparing the young containers and
        // querying takes a few seconds on a busy machine: keep the threshold well clear of both ages.
        Thread.Sleep(TimeSpan.FromSeconds(12));
        var running = Labelled($"claude-running-{tag}", "running");
        var exited = Labelled($"claude-exited-{tag}", "exited");
        var paused = Labelled($"claude-paused-{tag}", "paused");

        Assert.Equal(new[] { running }, Names("Get-ClaudeContainer -All -Status running"));
        Assert.Equal(new[] { exited, old }, Names("Get-ClaudeContainer -All -Status exited, created"));
        Assert.Equal(new[] { paused }, Names("Get-ClaudeContainer -All -Status Paused"));
        Assert.Equal(new[] { old }, Names("Get-ClaudeContainer -All -OlderThan 8s"));
        Assert.Equal(new[] { old }, Names("Get-ClaudeContainer -All -OlderThan 8s -Status created, exited"));
        Assert.Empty(Names("Get-ClaudeContainer -All -OlderThan 8s -Status running"));

        // 1d is PowerShell's decimal literal 1: it must mean a day, so nothing here is old enough.
        Session.Invoke("Remove-ClaudeContainer -All -OlderThan 1d -Confirm:$false").ThrowIfFailed();
        Assert.All(new[] { old, running, exited, paused }, n => Assert.True(DockerCli.Exists(n), n));

        var removed = Session.Invoke("Remove-ClaudeContainer -All -Status exited, created -Confirm:$false -PassThru").ThrowIfFailed();
        Assert.Equal(new[] { exited, old }, removed.Output.Select(o => ((ClaudeContainer)o.BaseObject).Name).OrderBy(n => n));
        Assert.False(DockerCli.Exists(old));
        Assert.False(DockerCli.Exists(exited));
        Assert.True(DockerCli.Exists(running));
        Assert.True(DockerCli.Exists(paused));
    }

    [Fact]
    public void RemovingManyReportsProgressToTheEnd()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var names = Enumerable.Range(0, 6).Select(i => Labelled($"claude-progress-{tag}-{i}", "exited")).ToList();

        var r = Session.Invoke($"Remove-ClaudeContainer -Name 'claude-progress-{tag}-*' -Confirm:$false").ThrowIfFailed();

        var last = r.Progress.Last();
        Assert.Equal(System.Management.Automation.ProgressRecordType.Completed, last.RecordType);
        Assert.Equal("6 of 6", last.StatusDescription);
        Assert.All(names, n => Assert.False(DockerCli.Exists(n)));
    }

    [Fact]
    public void AnotherSessionsRunningContainerNeedsForceWhenNoOneCanBeAsked()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var running = Labelled($"claude-busy-{tag}", "running");
        var paused = Labelled($"claude-busy-paused-{tag}", "paused");

        // A hosted runspace has no one to answer a prompt, like pwsh -NonInteractive.
        var refused = Session.Invoke("Remove-ClaudeContainer -All -Status running");
        var error = Assert.Single(refused.Errors);
        Assert.Equal("RunningContainerNeedsForce,ClaudeOrchestrator.Commands.RemoveClaudeContainerCommand", error.FullyQualifiedErrorId);
        Assert.Equal(running, ((ClaudeContainer)error.TargetObject).Name);
        Assert.Contains("-Force", error.ToString());
        Assert.True(DockerCli.Exists(running));

        Session.Invoke("Remove-ClaudeContainer -All -Status running -Force").ThrowIfFailed();
        Assert.False(DockerCli.Exists(running));
        Assert.True(DockerCli.Exists(paused));
    }

    [Fact]
    public void ConfirmAsksPerContainerAndRemovesOnlyTheAnsweredYes()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var names = Enumerable.Range(0, 3).Select(i => Labelled($"claude-confirm-{tag}-{i}", "exited")).ToList();
        var host = new AnsweringHost("Yes", "No", "Yes");
        using (var session = new PsSession(host: host))
        {
            session.Invoke($"Remove-ClaudeContainer -Name 'claude-confirm-{tag}-*' -Confirm").ThrowIfFailed();
        }

        Assert.Equal(3, host.Prompts.Count);
        Assert.All(names, n => Assert.Contains(host.Prompts, p => p.Contains(n)));
        var asked = names.OrderBy(n => host.Prompts.ToList().FindIndex(p => p.Contains(n))).ToList();
        Assert.False(DockerCli.Exists(asked[0]));
        Assert.True(DockerCli.Exists(asked[1]));
        Assert.False(DockerCli.Exists(asked[2]));
    }

    [Fact]
    public void WhatIfShowsExactlyTheContainersThatWouldGo()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var old = Labelled($"claude-whatif-{tag}-old", "exited");
        Thread.Sleep(TimeSpan.FromSeconds(8));
        var young = Labelled($"claude-whatif-{tag}-young", "exited");
        var host = new AnsweringHost();
        using (var session = new PsSession(host: host))
        {
            session.Invoke("Remove-ClaudeContainer -All -OlderThan 5s -WhatIf").ThrowIfFailed();
        }

        var whatIf = host.Lines.Where(l => l.StartsWith("What if:")).ToList();
        Log(string.Join("\n", whatIf));
        Assert.Contains(whatIf, l => l.Contains(old) && l.Contains("exited") && l.Contains("maintenance"));
        Assert.DoesNotContain(whatIf, l => l.Contains(young));
        Assert.True(DockerCli.Exists(old));
        Assert.True(DockerCli.Exists(young));
    }

    [Fact]
    public void AnotherSessionsRunningContainerIsRemovedOnlyAfterAYes()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var running = Labelled($"claude-ask-{tag}", "running");
        var host = new AnsweringHost("No", "Yes");
        using (var session = new PsSession(host: host))
        {
            session.Invoke($"Remove-ClaudeContainer -Name '{running}'");
            Assert.True(DockerCli.Exists(running));

            session.Invoke($"Remove-ClaudeContainer -Name '{running}'").ThrowIfFailed();
        }

        Assert.Equal(2, host.Prompts.Count);
        Assert.All(host.Prompts, p => Assert.Contains("running a task of another session", p));
        Assert.False(DockerCli.Exists(running));
    }

    [Fact]
    public void NegativeOlderThanAndUnknownStatusAreParameterErrors()
    {
        var negative = Session.Invoke("Get-ClaudeContainer -All -OlderThan '-00:01:00'");
        Assert.Equal("OlderThanInvalid,ClaudeOrchestrator.Commands.GetClaudeContainerCommand", negative.FirstError.FullyQualifiedErrorId);

        var unknown = Session.Invoke("Remove-ClaudeContainer -All -Status sleeping -Confirm:$false");
        Assert.StartsWith("ParameterArgumentValidationError", unknown.FirstError.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidData, unknown.FirstError.CategoryInfo.Category);
    }

    [Fact]
    public void ScheduledCommandLineExitCodesTellSuccessFromFailure()
    {
        const string command = "Remove-ClaudeContainer -All -OlderThan 2s -Confirm:$false";
        var tag = Guid.NewGuid().ToString("N")[..6];
        var stale = Labelled($"claude-stale-{tag}", "exited");
        Thread.Sleep(TimeSpan.FromSeconds(3));

        using (var ok = HostProcess.Start(command))
        {
            Assert.True(ok.WaitForExit(TimeSpan.FromSeconds(60)), ok.Transcript);
            Log("all removed: exit " + ok.ExitCode + "\n" + ok.Transcript);
            Assert.Equal(0, ok.ExitCode);
            Assert.Contains("INFO: Cleaned up 1 container(s)", ok.Transcript);
        }

        Assert.False(DockerCli.Exists(stale));

        var busy = Labelled($"claude-stale-busy-{tag}", "running");
        Thread.Sleep(TimeSpan.FromSeconds(3));
        using (var refused = HostProcess.Start("Remove-ClaudeContainer -All -OlderThan 2s"))
        {
            Assert.True(refused.WaitForExit(TimeSpan.FromSeconds(60)), refused.Transcript);
            Log("running container without -Force: exit " + refused.ExitCode);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("RunningContainerNeedsForce", refused.Transcript);
        }

        Assert.True(DockerCli.Exists(busy));

        using (var unreachable = HostProcess.Start(command, environment: new Dictionary<string, string> { ["DOCKER_HOST"] = "unix:///nonexistent/docker.sock" }))
        {
            Assert.True(unreachable.WaitForExit(TimeSpan.FromSeconds(60)), unreachable.Transcript);
            Log("engine unreachable: exit " + unreachable.ExitCode);
            Assert.Equal(1, unreachable.ExitCode);
            Assert.Contains("DockerEngineUnreachable", unreachable.Transcript);
        }
    }
}
