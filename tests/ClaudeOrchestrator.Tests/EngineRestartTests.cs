using ClaudeOrchestrator.Testing;
using ClaudeOrchestrator.Tests.Infrastructure;
using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// The engine goes away under a running task. A private dockerd of the test's own is stopped and
/// started again, so the shared engine the other tests use is never disturbed.
/// </summary>
public sealed class EngineRestartTests : TaskTestBase
{
    public EngineRestartTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
    }

    [Fact]
    public void EngineRestartMidTaskFailsClearlyAndLeavesNothingBehind()
    {
        using var engine = new PrivateEngine();
        DockerCli.Exec("sh", "-c", $"docker save {Image} | docker -H {engine.Host} load").EnsureSuccess();
        Session.Invoke($"$env:DOCKER_HOST = '{engine.Host}'").ThrowIfFailed();
        try
        {
            using var running = Session.Start(StartTask("sleep 600"));
            running.WaitForInformation(l => l == "agent: sleeping 600", TimeSpan.FromSeconds(30));
            var name = engine.Cli("ps", "--format", "{{.Names}}").EnsureSuccess().Stdout.Trim();
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

            // Back up: whatever the engine did not remove on its way down, the module removes.
            Session.Invoke("Remove-ClaudeContainer -Confirm:$false").ThrowIfFailed();
            Assert.Empty(engine.Cli("ps", "-aq", "--filter", "label=io.claude-orchestrator.managed=true").EnsureSuccess().Stdout.Trim());
            Assert.Empty(Session.Invoke("Get-ClaudeContainer").ThrowIfFailed().Output);
        }
        finally
        {
            Session.Invoke("$env:DOCKER_HOST = $null");
        }
    }
}
