using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>Tab completion against the engine, the Debug stream, and errors that carry their target.</summary>
[Trait(Needs.Trait, Needs.Docker)]
public sealed class CompletionAndStreamTests : TaskTestBase
{
    public CompletionAndStreamTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
    }

    private IReadOnlyList<string> Complete(string line) =>
        Session.Invoke($"$line = '{line}'; (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object CompletionText")
            .ThrowIfFailed().Output.Select(o => o.ToString()).ToList();

    [Fact]
    public void ContainerNamesAndIdsCompleteFromLabelledContainersOnly()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        var labelled = CreateUnlabelled($"claude-compl-{tag}", "io.claude-orchestrator.managed=true", "io.claude-orchestrator.session-id=other");
        CreateUnlabelled($"claude-compl-{tag}-x");
        var id = DockerCli.Inspect(labelled, "{{.Id}}")[..12];

        Assert.Equal(new[] { labelled }, Complete($"Get-ClaudeContainer -All -Name claude-compl-{tag}"));
        Assert.Equal(new[] { labelled }, Complete($"Remove-ClaudeContainer -Name claude-compl-{tag}"));
        Assert.Equal(new[] { id }, Complete($"Remove-ClaudeContainer -Id {id[..8]}"));
    }

    [Fact]
    public void ImageNamesComplete()
    {
        Assert.Contains(Image, Complete("Start-ClaudeTask -Path . -Description x -Image claude-orchestrator-te"));
    }

    [Fact]
    public void CompletionAgainstASilentEngineGivesUpInsteadOfHanging()
    {
        // Accepts connections and never answers: the worst case for a prompt.
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            Session.Invoke($"$env:DOCKER_HOST = 'tcp://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}'").ThrowIfFailed();
            var watch = Stopwatch.StartNew();
            var names = Complete("Get-ClaudeContainer -Name claude");
            Log($"completion against a silent engine returned after {watch.ElapsedMilliseconds} ms");
            Assert.Empty(names);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "completion hung");
        }
        finally
        {
            Session.Invoke("$env:DOCKER_HOST = $null");
            silent.Stop();
        }
    }

    [Fact]
    public void DebugNamesTheEndpointAndApiVersion()
    {
        var r = Session.Invoke("Get-ClaudeContainer -All -Debug").ThrowIfFailed();
        var debug = Assert.Single(r.Debug);
        Log(debug);
        // Which engine, where, how it was chosen, its version and API version.
        Assert.Matches(@"^Docker engine at unix:///\S+ \(the default socket\): version \S+, API 1\.\d+, linux/", debug);

        var task = Session.Invoke(StartTask("succeed", "-Debug")).ThrowIfFailed();
        Assert.Contains(task.Debug, d => d.StartsWith("Docker engine at "));
    }

    [Fact]
    public void ErrorsCarryTheirTargetObject()
    {
        var missing = Path.Combine(Project.FullName, "missing");
        var cases = new (string Script, string Id, object Target)[]
        {
            ($"Start-ClaudeTask -Path '{missing}' -Description x", "ProjectPathNotFound", missing),
            ("Remove-ClaudeContainer -Name no-such-claude-container -Confirm:$false", "ContainerNotFound", "no-such-claude-container"),
            ("Get-ClaudeContainer -All -Name no-such-claude-container", "ContainerNotFound", "no-such-claude-container"),
            ($"Start-ClaudeTask -Path '{Project.FullName}' -Description x -Network host", "NetworkModeRefused", "host"),
            ("Get-ClaudeProject -Name no-such-project", "ProjectProfileNotFound", "no-such-project"),
        };

        foreach (var (script, id, target) in cases)
        {
            var error = Session.Invoke(script).FirstError;
            Assert.StartsWith(id + ",", error.FullyQualifiedErrorId);
            Assert.Equal(target, error.TargetObject);
            Assert.NotEqual(System.Management.Automation.ErrorCategory.NotSpecified, error.CategoryInfo.Category);
        }
    }
}
