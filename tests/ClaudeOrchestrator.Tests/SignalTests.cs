using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// The host process (standing in for pwsh) is signalled, crashed or killed while a task whose
/// agent ignores SIGTERM runs; no container may survive it.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public class SignalTests : TaskTestBase
{
    public SignalTests(DockerFixture docker, ITestOutputHelper output) : this(docker, output, onPodman: false)
    {
    }

    protected SignalTests(DockerFixture docker, ITestOutputHelper output, bool onPodman) : base(docker, output, onPodman)
    {
    }

    private (HostProcess Host, string Container) StartForegroundTask()
    {
        var host = HostProcess.Start(StartTask("ignore-term 600", "-Verbose"));
        var created = host.WaitForLine(l => l.StartsWith("VERBOSE: Creating container "), TimeSpan.FromSeconds(60));
        host.WaitForLine(l => l == "INFO: agent: ignoring SIGTERM", TimeSpan.FromSeconds(30));
        return (host, created.Split(' ')[3]);
    }

    [Theory]
    [InlineData(HostProcess.SIGTERM, "SIGTERM")]
    [InlineData(HostProcess.SIGHUP, "SIGHUP")]
    [InlineData(HostProcess.SIGQUIT, "SIGQUIT")]
    [InlineData(HostProcess.SIGINT, "SIGINT to the process group")]
    public void SignalledHostRemovesItsContainerBeforeItExits(int signal, string what)
    {
        var (host, name) = StartForegroundTask();
        using (host)
        {
            var watch = Stopwatch.StartNew();
            if (signal == HostProcess.SIGINT)
            {
                host.SignalGroup(signal);
            }
            else
            {
                host.Signal(signal);
            }

            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(20)), $"host survived {what}. Transcript:\n{host.Transcript}");
            var exited = watch.ElapsedMilliseconds;

            Assert.False(DockerCli.Exists(name), $"container outlived the host after {what}. Transcript:\n{host.Transcript}");
            Log($"{what}: host exited {exited} ms after the signal, container already gone");
        }
    }

    [Fact]
    public void KilledHostsContainerIsRemovedByTheEngineWithinOneSecond()
    {
        var (host, name) = StartForegroundTask();
        using (host)
        {
            var watch = Stopwatch.StartNew();
            host.Signal(HostProcess.SIGKILL);
            var gone = DockerCli.WaitGone(name, TimeSpan.FromSeconds(10));
            Log($"SIGKILL: container removed {gone.TotalMilliseconds:0} ms after the kill");
            Assert.True(gone < TimeSpan.FromSeconds(1), $"took {gone}");
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(5)));
        }

        // Nothing helped: no reaper container, nothing labelled, nothing left running.
        Assert.Empty(DockerCli.Run("ps", "-q", "--filter", "ancestor=" + Image).Stdout.Trim());
    }

    [Fact]
    public void UnhandledExceptionOnAnyThreadRemovesTrackedContainers()
    {
        var script = $$"""
            $null = Start-ClaudeTask -Path '{{Project.FullName}}' -Description 'ignore-term 600' -Image {{Image}} -AsJob
            while (-not (Get-ClaudeContainer | Where-Object State -eq running)) { [System.Threading.Thread]::Sleep(20) }
            'CONTAINER ' + (Get-ClaudeContainer).Name
            $thread = [System.Threading.Thread]::new([System.Threading.ThreadStart]{ throw 'boom' })
            $thread.Start()
            [System.Threading.Thread]::Sleep(30000)
            """;
        using var host = HostProcess.Start(script);
        var name = host.WaitForLine(l => l.StartsWith("OUTPUT: CONTAINER "), TimeSpan.FromSeconds(60))["OUTPUT: CONTAINER ".Length..];

        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(20)), "host did not crash. Transcript:\n" + host.Transcript);

        Assert.NotEqual(0, host.ExitCode);
        Assert.False(DockerCli.Exists(name), "container outlived the crash. Transcript:\n" + host.Transcript);
        Assert.Equal("Crash", JournalLineFor(name).GetProperty("reason").GetString());
    }

    [Fact]
    public void NormalTaskOutputAndExitCodeAreUnchangedByTheWatcher()
    {
        var r = Session.Invoke(StartTask("lines 2000"));
        var result = r.Single<ClaudeTaskResult>();

        Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
        var expected = string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i}\n"));
        Assert.Equal(expected, result.Output);
        Assert.Equal(2000, r.Information.Count(i => i.Tags.Contains("ClaudeAgent")));

        var failed = Session.Invoke(StartTask("fail 42")).Output.Select(o => o.BaseObject).OfType<ClaudeTaskResult>().Single();
        Assert.Equal(42, failed.ExitCode);
    }
}
