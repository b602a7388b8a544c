using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// Scenarios that need an engine of their own: one that is stopped and started under a running
/// task, and one reached over TCP. The shared engine the other tests use is never disturbed.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public sealed class PrivateEngineTests : TaskTestBase
{
    public PrivateEngineTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
    }

    [Fact]
    public void EngineRestartMidTaskFailsClearlyAndLeavesNothingBehind()
    {
        using var engine = new PrivateEngine();
        engine.Load(Image);
        Session.Invoke($"$env:DOCKER_HOST = '{engine.Host}'").ThrowIfFailed();
        try
        {
            using var running = Session.Start(StartTask("sleep 600"));
            running.WaitForInformation(l => l == "agent: sleeping 600", TimeSpan.FromSeconds(30));
            // The task's container (the session's egress gateway runs beside it there).
            var name = engine.Cli("ps", "--filter", "label=io.claude-orchestrator.task-id", "--format", "{{.Names}}").EnsureSuccess().Stdout.Trim();
            Assert.StartsWith("claude-", name);

            var watch = Stopwatch.StartNew();
            engine.Stop();
            var r = running.Wait();
            Log($"task ended {watch.ElapsedMilliseconds} ms after the engine was told to stop");
            engine.Start();

            Log(string.Join("\n", r.Errors.Select(e => e.ToString())));
            var result = r.Single<ClaudeTaskResult>();
            Assert.Equal(ClaudeTaskStatus.Failed, result.Status);
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("ClaudeTaskFailed", error.FullyQualifiedErrorId);
            Assert.Contains("engine", error.ToString(), StringComparison.OrdinalIgnoreCase);

            // Back up: whatever the engine did not remove on its way down, the module removes;
            // what is gone already, it stops tracking, with one journal line either way.
            var left = engine.Cli("ps", "-a", "--filter", "label=io.claude-orchestrator.managed=true", "--format", "{{.Names}} {{.State}}").EnsureSuccess().Stdout.Trim();
            Log("labelled containers on the engine after its restart: " + (left.Length == 0 ? "none" : left));
            var removal = Session.Invoke("Remove-ClaudeContainer -Confirm:$false -Verbose").ThrowIfFailed();
            Log(string.Join("\n", removal.Verbose));
            Assert.Empty(engine.Cli("ps", "-aq", "--filter", "label=io.claude-orchestrator.managed=true").EnsureSuccess().Stdout.Trim());
            Assert.Empty(Session.Invoke("Get-ClaudeContainer").ThrowIfFailed().Output);
            Assert.DoesNotContain(ContainerTracker.Snapshot(), c => c.Name == name);
            var lines = JournalLines().Where(l => l.GetProperty("container").GetString() == name).ToList();
            var line = Assert.Single(lines, l => l.GetProperty("outcome").GetString() != "Failed");
            Log("journal: " + string.Join(" | ", lines.Select(l => l.GetRawText())));
            Assert.Contains(line.GetProperty("outcome").GetString(), new[] { "Removed", "AlreadyGone" });
        }
        finally
        {
            Session.Invoke("$env:DOCKER_HOST = $null");
        }
    }

    [Fact]
    public void SigkillOfTheHostIsCleanedUpOnAnEngineReachedOverTcp()
    {
        using var engine = new PrivateEngine(listenOnTcp: true);
        engine.Load(Image);
        using var host = HostProcess.Start(StartTask("ignore-term 600", "-Verbose"),
            environment: new Dictionary<string, string> { ["DOCKER_HOST"] = engine.TcpHost });
        var name = host.WaitForLine(l => l.StartsWith("VERBOSE: Creating container "), TimeSpan.FromSeconds(60)).Split(' ')[3];
        host.WaitForLine(l => l == "INFO: agent: ignoring SIGTERM", TimeSpan.FromSeconds(30));

        host.Signal(HostProcess.SIGKILL);
        var gone = DockerCli.WaitGone(name, TimeSpan.FromSeconds(10), engine.Host);
        Log($"over {engine.TcpHost}: container gone {gone.TotalMilliseconds:0} ms after SIGKILL of the host");
        Assert.True(gone < TimeSpan.FromSeconds(2), $"took {gone}");
    }
}
