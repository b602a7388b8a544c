using System.Diagnostics;
using System.Management.Automation;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

[Trait(Needs.Trait, Needs.Docker)]
public class AsJobAndLifecycleTests : TaskTestBase
{
    public AsJobAndLifecycleTests(DockerFixture docker, ITestOutputHelper output) : this(docker, output, onPodman: false)
    {
    }

    protected AsJobAndLifecycleTests(DockerFixture docker, ITestOutputHelper output, bool onPodman) : base(docker, output, onPodman)
    {
    }

    [Fact]
    public void AsJobWorksWithGetWaitAndReceiveJob()
    {
        var start = Session.Invoke(StartTask("succeed", "-AsJob")).ThrowIfFailed();
        var job = Assert.Single(start.Output).BaseObject as Job;
        Assert.NotNull(job);
        Assert.Equal("ClaudeTaskJob", job.PSJobTypeName);

        var r = Session.Invoke($"Get-Job -Id {job.Id} | Wait-Job -Timeout 30 | Receive-Job -Wait -AutoRemoveJob").ThrowIfFailed();

        var result = (ClaudeTaskResult)Assert.Single(r.Output).BaseObject;
        Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
        Assert.Contains("agent: done", r.InformationText);
        Assert.Equal(JobState.Completed, job.JobStateInfo.State);
        Assert.False(DockerCli.Exists(result.ContainerName));
    }

    [Fact]
    public void AsJobFailureIsReceivedAsAnError()
    {
        var r = Session.Invoke(StartTask("fail 4", "-AsJob") + " | Wait-Job -Timeout 30 | Receive-Job");

        var result = r.Output.Select(o => o.BaseObject).OfType<ClaudeTaskResult>().Single();
        Assert.Equal(4, result.ExitCode);
        Assert.Contains(r.ErrorIds, id => id.StartsWith("ClaudeTaskFailed"));
        Session.Invoke("Get-Job | Remove-Job -Force");
    }

    [Fact]
    public void StopJobRemovesTheContainerBeforeReturning()
    {
        Session.Invoke(StartTask("ignore-term 600", "-AsJob")).ThrowIfFailed();
        var name = WaitForJobContainer();

        var watch = Stopwatch.StartNew();
        var r = Session.Invoke("Get-Job | Stop-Job -PassThru").ThrowIfFailed();
        watch.Stop();

        Assert.False(DockerCli.Exists(name), "Stop-Job returned but the container still exists");
        Assert.Equal(JobState.Stopped, ((Job)r.Output.Single().BaseObject).JobStateInfo.State);
        Log($"Stop-Job to container removed: {watch.ElapsedMilliseconds} ms");
        Session.Invoke("Get-Job | Remove-Job");
    }

    [Fact]
    public void RemoveModuleRemovesThisRunspacesContainersOnly()
    {
        using var other = new PsSession();
        other.Invoke(StartTask("ignore-term 600", "-AsJob")).ThrowIfFailed();
        var othersContainer = WaitForJobContainer();

        // One task in the foreground of a second pipeline of this runspace is not possible while
        // it runs, so use -AsJob for both; both count as started from their runspace.
        Session.Invoke(StartTask("ignore-term 600", "-AsJob")).ThrowIfFailed();
        var mine = WaitForNewContainer(othersContainer);

        var watch = Stopwatch.StartNew();
        Session.Invoke("Remove-Module ClaudeOrchestrator").ThrowIfFailed();
        watch.Stop();

        Assert.False(DockerCli.Exists(mine), "Remove-Module left this runspace's container");
        Assert.True(DockerCli.Exists(othersContainer), "Remove-Module removed another runspace's container");
        Log($"Remove-Module to container removed: {watch.ElapsedMilliseconds} ms");

        other.Invoke("Get-Job | Stop-Job").ThrowIfFailed();
        Assert.False(DockerCli.Exists(othersContainer));
    }

    [Fact]
    public void ModuleCanBeImportedAgainAfterRemoval()
    {
        Session.Invoke("Remove-Module ClaudeOrchestrator").ThrowIfFailed();
        Session.Invoke($"Import-Module '{Repo.Manifest}'").ThrowIfFailed();

        var r = Session.Invoke(StartTask("succeed")).ThrowIfFailed();

        Assert.Equal(ClaudeTaskStatus.Succeeded, r.Single<ClaudeTaskResult>().Status);
    }

    private static string WaitForNewContainer(string except) =>
        Eventually.Value(
            () => DockerCli.TaskNamesWithLabel("io.claude-orchestrator.owner-pid=" + Environment.ProcessId).FirstOrDefault(n => n != except),
            name => name != null && DockerCli.Inspect(name, "{{.State.Status}}") == "running",
            TimeSpan.FromSeconds(20), "the second task's container is running", TimeSpan.FromMilliseconds(20));
}
