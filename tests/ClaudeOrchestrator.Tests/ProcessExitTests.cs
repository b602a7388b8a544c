using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

[Trait(Needs.Trait, Needs.Docker)]
public class ProcessExitTests : TaskTestBase
{
    public ProcessExitTests(DockerFixture docker, ITestOutputHelper output) : this(docker, output, onPodman: false)
    {
    }

    protected ProcessExitTests(DockerFixture docker, ITestOutputHelper output, bool onPodman) : base(docker, output, onPodman)
    {
    }

    /// <summary>Starts a task in the host as a job, prints its container name once it runs.</summary>
    private string JobScript(string then) => $$"""
        $null = Start-ClaudeTask -Path '{{Project.FullName}}' -Description 'ignore-term 600' -Image {{Image}} -AsJob
        while (-not (Get-ClaudeContainer | Where-Object State -eq running)) { [System.Threading.Thread]::Sleep(20) }
        'CONTAINER ' + (Get-ClaudeContainer).Name
        {{then}}
        """;

    [Fact]
    public void ProcessExitRemovesTrackedContainersBeforeTheProcessEnds()
    {
        // Another thread of the host calls [Environment]::Exit(5) once the test has seen the container run.
        using var host = HostProcess.Start(JobScript("[System.Threading.Thread]::Sleep(60000)"),
            environment: new Dictionary<string, string> { ["CO_TESTHOST_EXIT_ON_INPUT"] = "5" });
        var name = host.WaitForLine(l => l.StartsWith("OUTPUT: CONTAINER "), TimeSpan.FromSeconds(60))["OUTPUT: CONTAINER ".Length..];
        Assert.Equal("running", DockerCli.Inspect(name, "{{.State.Status}}"));

        host.SendLine("exit");
        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(30)), "host did not exit");
        Assert.Equal(5, host.ExitCode);

        // The exit handler removes synchronously: the container is gone when the process is.
        Assert.False(DockerCli.Exists(name), "container outlived its process. Transcript:\n" + host.Transcript);
        Assert.Equal("ProcessExit", JournalReason(name));
    }

    [Fact]
    public void ForegroundTaskIsRemovedWhenTheProcessExits()
    {
        // Another thread of the host calls [Environment]::Exit(3) while Start-ClaudeTask runs in the foreground.
        using var host = HostProcess.Start(StartTask("ignore-term 600", "-Verbose"),
            environment: new Dictionary<string, string> { ["CO_TESTHOST_EXIT_ON_INPUT"] = "3" });
        var name = host.WaitForLine(l => l.StartsWith("VERBOSE: Creating container "), TimeSpan.FromSeconds(60)).Split(' ')[3];
        host.WaitForLine(l => l == "INFO: agent: ignoring SIGTERM", TimeSpan.FromSeconds(30));
        Assert.Equal("running", DockerCli.Inspect(name, "{{.State.Status}}"));

        host.SendLine("exit");
        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(30)), "host did not exit");

        Assert.Equal(3, host.ExitCode);
        Assert.False(DockerCli.Exists(name), "container outlived its process. Transcript:\n" + host.Transcript);
        Assert.Equal("ProcessExit", JournalReason(name));
    }

    /// <summary>The reason the cleanup journal gives for a container's removal.</summary>
    private static string JournalReason(string container)
    {
        var line = JournalLineFor(container);
        Assert.Equal("Removed", line.GetProperty("outcome").GetString());
        return line.GetProperty("reason").GetString();
    }
}
