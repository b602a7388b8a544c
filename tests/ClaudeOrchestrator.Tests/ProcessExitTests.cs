using ClaudeOrchestrator.Testing;
using ClaudeOrchestrator.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ClaudeOrchestrator.Tests;

public class ProcessExitTests : TaskTestBase
{
    public ProcessExitTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
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
        using var host = HostProcess.Start(JobScript("[Environment]::Exit(0)"));
        var name = host.WaitForLine(l => l.StartsWith("OUTPUT: CONTAINER "), TimeSpan.FromSeconds(60))["OUTPUT: CONTAINER ".Length..];
        Assert.True(DockerCli.Exists(name));

        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(30)), "host did not exit");

        // The exit handler removes synchronously: the container is gone when the process is.
        Assert.False(DockerCli.Exists(name), "container outlived its process. Transcript:\n" + host.Transcript);
    }

    [Fact]
    public void ForegroundTaskIsRemovedWhenTheProcessExits()
    {
        // A timer on another thread ends the process while Start-ClaudeTask runs in the foreground.
        var script = $$"""
            $timer = [System.Threading.Timer]::new({ [Environment]::Exit(3) }, $null, 1500, -1)
            Start-ClaudeTask -Path '{{Project.FullName}}' -Description 'ignore-term 600' -Image {{Image}} -Verbose
            """;
        using var host = HostProcess.Start(script);
        var line = host.WaitForLine(l => l.StartsWith("VERBOSE: Creating container "), TimeSpan.FromSeconds(60));
        var name = line.Split(' ')[3];

        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(30)), "host did not exit");

        Assert.False(DockerCli.Exists(name), "container outlived its process. Transcript:\n" + host.Transcript);
    }
}
