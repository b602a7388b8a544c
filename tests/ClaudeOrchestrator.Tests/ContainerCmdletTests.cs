using System.Management.Automation;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

[Trait(Needs.Trait, Needs.Docker)]
public class ContainerCmdletTests : TaskTestBase
{
    private const string ForeignSession = "io.claude-orchestrator.session-id=0000000000000000000000000000beef";

    public ContainerCmdletTests(DockerFixture docker, ITestOutputHelper output) : this(docker, output, onPodman: false)
    {
    }

    protected ContainerCmdletTests(DockerFixture docker, ITestOutputHelper output, bool onPodman) : base(docker, output, onPodman)
    {
    }

    /// <summary>A labelled container as another session (another pwsh) would have left it.</summary>
    private string CreateForeignLabelled(string name) =>
        CreateUnlabelled(name, "io.claude-orchestrator.managed=true", ForeignSession, "io.claude-orchestrator.project=foreign");

    [Fact]
    public void GetDefaultListsOnlyThisProcesssActiveContainers()
    {
        var foreign = CreateForeignLabelled("claude-foreign-" + Guid.NewGuid().ToString("N")[..6]);
        var job = Session.Invoke(StartTask("sleep 30", "-AsJob")).ThrowIfFailed();
        try
        {
            var name = WaitForJobContainer();

            var mine = Session.Invoke("Get-ClaudeContainer").ThrowIfFailed();
            var container = (ClaudeContainer)Assert.Single(mine.Output).BaseObject;
            Assert.Equal(name, container.Name);
            Assert.True(container.IsTracked);
            Assert.Equal("running", container.State);
            Assert.Equal(Project.Name, container.Project);
            Assert.Equal(Environment.ProcessId, container.OwnerPid);
            Assert.Equal(Image, container.Image);
            Assert.True(container.Age >= TimeSpan.Zero && container.Age < TimeSpan.FromMinutes(1));

            var all = Session.Invoke("Get-ClaudeContainer -All").ThrowIfFailed();
            var names = all.Output.Select(o => ((ClaudeContainer)o.BaseObject).Name).ToList();
            Assert.Contains(name, names);
            Assert.Contains(foreign, names);
            Assert.False(all.Output.Select(o => (ClaudeContainer)o.BaseObject).Single(c => c.Name == foreign).IsTracked);
        }
        finally
        {
            Session.Invoke("Get-Job | Stop-Job; Get-Job | Remove-Job");
        }
    }

    [Fact]
    public void GetAllNeverReportsUnlabelledContainers()
    {
        var db = CreateUnlabelled("my-claude-db-" + Guid.NewGuid().ToString("N")[..6]);
        var lookalike = CreateUnlabelled("claude-1700000000000-abcd-" + Guid.NewGuid().ToString("N")[..4]);

        var all = Session.Invoke("Get-ClaudeContainer -All").ThrowIfFailed();

        var names = all.Output.Select(o => ((ClaudeContainer)o.BaseObject).Name).ToList();
        Assert.DoesNotContain(db, names);
        Assert.DoesNotContain(lookalike, names);
    }

    [Fact]
    public void GetNameTakesWildcards()
    {
        var a = CreateForeignLabelled("claude-wild-a-" + Guid.NewGuid().ToString("N")[..6]);
        var b = CreateForeignLabelled("claude-wild-b-" + Guid.NewGuid().ToString("N")[..6]);

        var r = Session.Invoke("Get-ClaudeContainer -All -Name 'claude-wild-a-*'").ThrowIfFailed();

        Assert.Equal(new[] { a }, r.Output.Select(o => ((ClaudeContainer)o.BaseObject).Name));
        var missing = Session.Invoke("Get-ClaudeContainer -All -Name 'claude-no-such'");
        Assert.StartsWith("ContainerNotFound,", Assert.Single(missing.Errors).FullyQualifiedErrorId);
        var both = Session.Invoke("Get-ClaudeContainer -All -Name 'claude-wild-?-*'").ThrowIfFailed();
        Assert.Equal(new[] { a, b }.OrderBy(n => n), both.Output.Select(o => ((ClaudeContainer)o.BaseObject).Name).OrderBy(n => n));
    }

    [Fact]
    public void RemoveAllRemovesEveryLabelledContainerAndNothingElse()
    {
        var db = CreateUnlabelled("my-claude-db-" + Guid.NewGuid().ToString("N")[..6]);
        var lookalike = CreateUnlabelled("claude-1700000000000-zzzz-" + Guid.NewGuid().ToString("N")[..4]);
        var foreign = new[] { "claude-all-1", "claude-all-2", "claude-all-3" }
            .Select(n => CreateForeignLabelled(n + "-" + Guid.NewGuid().ToString("N")[..6])).ToList();
        DockerCli.Run("stop", "-t", "0", foreign[2]).EnsureSuccess();

        var r = Session.Invoke("Remove-ClaudeContainer -All -Confirm:$false").ThrowIfFailed();

        Assert.Empty(DockerCli.ManagedNames());
        Assert.True(DockerCli.Exists(db), "an unlabelled my-claude-db must survive -All");
        Assert.True(DockerCli.Exists(lookalike), "an unlabelled claude-* must survive -All");
        Assert.Contains("Cleaned up 3 container(s)", r.InformationText);
    }

    [Fact]
    public void RemoveWhatIfRemovesNothing()
    {
        var foreign = CreateForeignLabelled("claude-whatif-" + Guid.NewGuid().ToString("N")[..6]);

        var r = Session.Invoke("Remove-ClaudeContainer -All -WhatIf").ThrowIfFailed();

        Assert.True(DockerCli.Exists(foreign));
        Assert.Empty(r.Output);
        Assert.DoesNotContain(r.InformationText, t => t.StartsWith("Cleaned up"));
    }

    [Fact]
    public void PipelineFromGetWhereRemoveRemovesTheSelection()
    {
        var exited = CreateForeignLabelled("claude-pipe-exited-" + Guid.NewGuid().ToString("N")[..6]);
        var running = CreateForeignLabelled("claude-pipe-running-" + Guid.NewGuid().ToString("N")[..6]);
        DockerCli.Run("stop", "-t", "0", exited).EnsureSuccess();

        var r = Session.Invoke("Get-ClaudeContainer -All | Where-Object State -eq exited | Remove-ClaudeContainer -PassThru -Confirm:$false").ThrowIfFailed();

        Assert.Equal(new[] { exited }, r.Output.Select(o => ((ClaudeContainer)o.BaseObject).Name));
        Assert.False(DockerCli.Exists(exited));
        Assert.True(DockerCli.Exists(running));
        Assert.Contains("Cleaned up 1 container(s)", r.InformationText);
    }

    [Fact]
    public void RemoveByNameRefusesAnUnlabelledContainer()
    {
        var db = CreateUnlabelled("my-claude-db-" + Guid.NewGuid().ToString("N")[..6]);

        var r = Session.Invoke($"Remove-ClaudeContainer -Name '{db}' -Confirm:$false");

        var error = Assert.Single(r.Errors);
        Assert.StartsWith("ContainerNotManaged,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.PermissionDenied, error.CategoryInfo.Category);
        Assert.True(DockerCli.Exists(db));

        var byId = Session.Invoke($"Remove-ClaudeContainer -Id '{DockerCli.Inspect(db, "{{.Id}}")}' -Confirm:$false");
        Assert.StartsWith("ContainerNotManaged,", Assert.Single(byId.Errors).FullyQualifiedErrorId);
        Assert.True(DockerCli.Exists(db));
    }

    [Fact]
    public void RemovingAContainerThatIsAlreadyGoneIsNotAnError()
    {
        var foreign = CreateForeignLabelled("claude-gone-" + Guid.NewGuid().ToString("N")[..6]);
        var r = Session.Invoke($"$c = Get-ClaudeContainer -All -Name '{foreign}'; $null = docker rm -f '{foreign}'; $c | Remove-ClaudeContainer -Confirm:$false -Verbose");

        Assert.Empty(r.Errors);
        Assert.Null(r.Terminating);
        Assert.Contains(r.Verbose, v => v.EndsWith(" is already gone.", StringComparison.Ordinal));
    }

    [Fact]
    public void AContainerThatGoesWhileItsRemovalIsInFlightCountsAsRemoved()
    {
        // The engine answers the module's DELETE with 404: someone else removed it first.
        var foreign = CreateForeignLabelled("claude-gone-late-" + Guid.NewGuid().ToString("N")[..6]);
        using var proxy = new HoldingProxy(@"^DELETE /[^ ]*containers/([0-9a-f]{64})");
        using (Override("DOCKER_HOST", proxy.Host))
        {
            using var running = Session.Start($"Remove-ClaudeContainer -Name '{foreign}' -Force -Verbose");
            Assert.True(proxy.Held.Wait(TimeSpan.FromSeconds(60)), "the removal was never sent");
            DockerCli.Run("rm", "-f", foreign).EnsureSuccess();
            proxy.Release();
            var r = running.Wait();

            Assert.Empty(r.Errors);
            Assert.Null(r.Terminating);
            Assert.Contains(r.Verbose, v => v.StartsWith($"Removed {foreign} in ", StringComparison.Ordinal));
            Assert.Contains("Cleaned up 1 container(s)", r.InformationText);
        }
    }

    [Fact]
    public void RemoveDefaultStopsThisProcesssTasksAndLeavesOtherSessionsAlone()
    {
        var foreign = CreateForeignLabelled("claude-other-session-" + Guid.NewGuid().ToString("N")[..6]);
        Session.Invoke(StartTask("ignore-term 600", "-AsJob")).ThrowIfFailed();
        var name = WaitForJobContainer();

        var r = Session.Invoke("Remove-ClaudeContainer -Confirm:$false; Get-Job | Wait-Job -Timeout 20 | Receive-Job");

        Assert.False(DockerCli.Exists(name));
        Assert.True(DockerCli.Exists(foreign));
        var result = r.Output.Select(o => o.BaseObject).OfType<ClaudeTaskResult>().Single();
        Assert.Equal(ClaudeTaskStatus.Cancelled, result.Status);
        Assert.StartsWith("ClaudeTaskCancelled", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Empty(Session.Invoke("Get-ClaudeContainer").ThrowIfFailed().Output);
        Session.Invoke("Get-Job | Remove-Job");
    }
}
