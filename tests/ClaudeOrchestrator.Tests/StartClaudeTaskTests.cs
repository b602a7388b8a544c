using System.Diagnostics;
using System.Management.Automation;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

[Trait(Needs.Trait, Needs.Docker)]
public class StartClaudeTaskTests : TaskTestBase
{
    public StartClaudeTaskTests(DockerFixture docker, ITestOutputHelper output) : this(docker, output, onPodman: false)
    {
    }

    protected StartClaudeTaskTests(DockerFixture docker, ITestOutputHelper output, bool onPodman) : base(docker, output, onPodman)
    {
    }

    [Fact]
    public void SuccessfulTaskEmitsResultStreamsOutputAndLeavesNoContainer()
    {
        var r = Session.Invoke(StartTask("succeed"));

        var result = r.Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Project.Name, result.Project);
        Assert.Equal(Project.FullName, result.Path);
        Assert.Equal(Image, result.Image);
        Assert.Matches("^claude-[0-9]{13}-[a-z0-9]{4}$", result.ContainerName);
        Assert.Matches("^[a-km-z2-9]{8}$", result.TaskId);
        Assert.True(result.EndTime >= result.StartTime);
        // The stand-in speaks stream-json: Output and the console hold its readable rendering.
        var shown = new[]
        {
            $"Claude Code 2.1.332-stand-in · stand-in-model · session {result.SessionId}",
            "agent: working in /workspace",
            "agent: done",
            "2 turn(s), $0.0123, 1,310 tokens in (77 cached), 340 out",
        };
        Assert.Equal(string.Join("\n", shown) + "\n", result.Output);
        Assert.Empty(r.Errors);
        Assert.Matches("^[0-9a-f-]{36}$", result.SessionId);
        Assert.Equal("agent: done", result.ResultText);
        Assert.Equal(2, result.Turns);

        // Live output went to the information stream, tagged so it can be filtered.
        var lines = r.Information.Where(i => i.Tags.Contains("ClaudeAgent")).ToList();
        Assert.Equal(shown, lines.Select(i => i.MessageData.ToString()));
        Assert.All(lines, i => Assert.Contains("stdout", i.Tags));
        Assert.False(DockerCli.Exists(result.ContainerName));
    }

    [Fact]
    public void FailingAgentGivesFailedStatusExitCodeAndNonTerminatingError()
    {
        var r = Session.Invoke(StartTask("fail 3") + "; $ok = $?; $ok");

        Assert.Equal(2, r.Output.Count);
        var result = (ClaudeTaskResult)r.Output[0].BaseObject;
        Assert.Equal(ClaudeTaskStatus.Failed, result.Status);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("agent: something broke\n", result.ErrorOutput);
        Assert.False((bool)r.Output[1].BaseObject, "$? must be false after a failed task");
        Assert.Contains(r.ErrorIds, id => id.StartsWith("ClaudeTaskFailed,"));
        Assert.Contains(r.Information, i => i.Tags.Contains("stderr") && i.MessageData.ToString() == "agent: something broke");
        Assert.False(DockerCli.Exists(result.ContainerName));
    }

    [Fact]
    public void FailingAgentWithErrorActionStopThrows()
    {
        var r = Session.Invoke(StartTask("fail 2", "-ErrorAction Stop"));

        Assert.NotNull(r.Terminating);
        Assert.Contains("exited with code 2", r.Terminating.Message);
    }

    [Fact]
    public void TimeoutKillsAndRemovesTheContainer()
    {
        var watch = Stopwatch.StartNew();
        var r = Session.Invoke(StartTask("ignore-term 600", "-Timeout 2"));
        watch.Stop();

        var result = r.Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.TimedOut, result.Status);
        Assert.Null(result.ExitCode);
        Assert.InRange(result.Duration, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5));
        Assert.Contains(r.ErrorIds, id => id.StartsWith("ClaudeTaskTimedOut,"));
        Assert.Contains("agent: ignoring SIGTERM", result.Output);
        Assert.False(DockerCli.Exists(result.ContainerName));
        Log($"2 s timeout to cmdlet return: {watch.ElapsedMilliseconds} ms");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "a SIGTERM-ignoring agent must not hold the cmdlet for the stop grace period");
    }

    [Fact]
    public void CtrlCRemovesTheContainerBeforeTheCmdletReturns()
    {
        using var running = Session.Start(StartTask("ignore-term 600"));
        var name = WaitForSessionContainer(running, TimeSpan.FromSeconds(20));
        Assert.True(DockerCli.Exists(name));

        var watch = Stopwatch.StartNew();
        running.Stop();
        watch.Stop();

        // Stop() returns only when the pipeline has ended: by then the container must be gone.
        Assert.False(DockerCli.Exists(name), "container still exists after Stop() returned");
        Log($"Ctrl+C (PowerShell.Stop) to container removed and cmdlet returned: {watch.ElapsedMilliseconds} ms");
        Assert.Equal(PSInvocationState.Stopped, running.PowerShell.InvocationStateInfo.State);
    }

    [Fact]
    public void AgentRunsInWorkspaceAndWritesIntoTheProject()
    {
        var r = Session.Invoke(StartTask("write feature.txt hello-from-agent"));

        Assert.Equal(ClaudeTaskStatus.Succeeded, r.Single<ClaudeTaskResult>().Status);
        Assert.Equal("hello-from-agent", File.ReadAllText(Path.Combine(Project.FullName, "feature.txt")));
    }

    [Fact]
    public void DescriptionReachesTheAgentAsOneVerbatimArgument()
    {
        var description = "echo it's \"quoted\" `backtick` $(touch /tmp/pwned) ; rm -rf / && $HOME\nsecond line\ttab ünïcødé ✓";
        var r = Session.Invoke($"Start-ClaudeTask -Path $project -Description $description -Image {Image}",
            new Dictionary<string, object> { ["project"] = Project.FullName, ["description"] = description });

        Assert.Equal(description, r.Single<ClaudeTaskResult>().Output);
    }

    [Fact]
    public void DefaultAgentCommandIsClaudeInPrintModeWithTheDescriptionLast()
    {
        // The stand-in prints its argv; the real CLI would get exactly these elements.
        var r = Session.Invoke(StartTask("argv x"));

        Assert.Equal("[--print]\n[--output-format]\n[stream-json]\n[--verbose]\n[--dangerously-skip-permissions]\n[argv x]\n", r.Single<ClaudeTaskResult>().Output);
    }

    [Fact]
    public void AgentCommandReplacesTheDefault()
    {
        var r = Session.Invoke(StartTask("ignored", "-AgentCommand '/bin/sh','-c','echo custom:$0'"));

        Assert.Equal("custom:ignored\n", r.Single<ClaudeTaskResult>().Output);
    }

    [Fact]
    public void EnvironmentReachesTheAgentAndTheApiKeyNeverDoesNorTheUser()
    {
        const string secret = "sk-ant-test-0123456789-SECRET";
        const string other = "value-of-other-secret-42";
        Environment.SetEnvironmentVariable("ANTHROPIC_API_KEY", secret);
        try
        {
            var r = Session.Invoke(StartTask("env ANTHROPIC_API_KEY", "-Environment @{ OTHER_SECRET = '" + other + "' } -Verbose"));
            var result = r.Single<ClaudeTaskResult>();
            // The agent holds its task's token; the gateway puts the key on its requests.
            Assert.StartsWith("ANTHROPIC_API_KEY=claude-task-" + result.TaskId + "-", result.Output);
            Assert.DoesNotContain(secret, result.Output);
            Assert.Equal(ClaudeTaskEgress.Gateway, result.Egress);

            var second = Session.Invoke(StartTask("env OTHER_SECRET", "-Environment @{ OTHER_SECRET = '" + other + "' } -Verbose"));
            Assert.Equal("OTHER_SECRET=" + other + "\n", second.Single<ClaudeTaskResult>().Output);

            // Nothing the module itself says may contain them; only the agent's own output did.
            var moduleText = string.Join("\n", r.Verbose.Concat(second.Verbose).Concat(r.ErrorIds).Concat(second.ErrorIds));
            Assert.DoesNotContain(secret, moduleText);
            Assert.DoesNotContain(other, moduleText);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ANTHROPIC_API_KEY", null);
        }
    }

    [Theory]
    [InlineData("ANTHROPIC_AUTH_TOKEN")]
    [InlineData("ANTHROPIC_BASE_URL")]
    [InlineData("CLAUDE_CODE_OAUTH_TOKEN")]
    public void AgentCredentialsAndEndpointNeverEnterTheContainer(string variable)
    {
        var value = "pass-through-" + Guid.NewGuid().ToString("N");
        Assert.Equal("", Session.Invoke(StartTask("env " + variable, "-Network none")).Single<ClaudeTaskResult>().Output);
        Environment.SetEnvironmentVariable(variable, value);
        try
        {
            // Offline: a credential becomes a token that opens nothing; an endpoint is not passed at all.
            var r = Session.Invoke(StartTask("env " + variable, "-Network none -Verbose"));
            var result = r.Single<ClaudeTaskResult>();
            Assert.Equal(variable == "ANTHROPIC_BASE_URL" ? "" : $"{variable}=claude-task-{result.TaskId}-", variable == "ANTHROPIC_BASE_URL" ? result.Output : result.Output.Substring(0, Math.Min(result.Output.Length, $"{variable}=claude-task-{result.TaskId}-".Length)));
            Assert.DoesNotContain(value, result.Output);
            Assert.Equal(ClaudeTaskEgress.Offline, result.Egress);
            Assert.DoesNotContain(value, string.Join("\n", r.Verbose.Concat(r.Debug).Concat(r.ErrorIds)));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void TheImageDefaultsToClaudeOrchestratorImageThenToTheAgentImage()
    {
        Environment.SetEnvironmentVariable("CLAUDE_ORCHESTRATOR_IMAGE", Image);
        try
        {
            var result = Session.Invoke($"Start-ClaudeTask -Path '{Project.FullName}' -Description succeed").Single<ClaudeTaskResult>();
            Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
            Assert.Equal(Image, result.Image);
        }
        finally
        {
            Environment.SetEnvironmentVariable("CLAUDE_ORCHESTRATOR_IMAGE", null);
        }

        var unset = Session.Invoke($"Start-ClaudeTask -Path '{Project.FullName}' -Description succeed");
        Assert.StartsWith("ImageNotFound,", unset.FirstError.FullyQualifiedErrorId);
        Assert.Contains("'claude-orchestrator-agent:latest'", unset.FirstError.Exception.Message);
    }

    [Fact]
    public void RunningContainerCarriesTheModuleLabelsAndInit()
    {
        using var running = Session.Start(StartTask("sleep 30"));
        var name = WaitForSessionContainer(running, TimeSpan.FromSeconds(20));

        var labels = DockerCli.Inspect(name, "{{json .Config.Labels}}");
        Assert.Contains("\"io.claude-orchestrator.managed\":\"true\"", labels);
        Assert.Contains($"\"io.claude-orchestrator.project-path\":\"{Project.FullName}\"", labels);
        Assert.Contains($"\"io.claude-orchestrator.owner-pid\":\"{Environment.ProcessId}\"", labels);
        Assert.Contains($"\"io.claude-orchestrator.owner-host\":\"{Environment.MachineName}\"", labels);
        Assert.Matches("\"io.claude-orchestrator.session-id\":\"[0-9a-f]{32}\"", labels);
        Assert.Matches("\"io.claude-orchestrator.task-id\":\"[a-km-z2-9]{8}\"", labels);
        Assert.Equal("true", DockerCli.Inspect(name, "{{.HostConfig.Init}}"));
        Assert.Equal("true", DockerCli.Inspect(name, "{{.HostConfig.AutoRemove}}"));
        Assert.Equal("/workspace", DockerCli.Inspect(name, "{{.Config.WorkingDir}}"));
        Assert.Equal(Project.FullName, DockerCli.Inspect(name, "{{range .Mounts}}{{if eq .Destination \"/workspace\"}}{{.Source}}{{end}}{{end}}"));

        running.Stop();
        Assert.False(DockerCli.Exists(name));
    }

    [Fact]
    public void ProjectByNameResolvesUnderTheProjectsRoot()
    {
        var root = Project.Parent!.FullName;
        Environment.SetEnvironmentVariable("CLAUDE_PROJECTS_ROOT", root);
        try
        {
            var r = Session.Invoke($"Start-ClaudeTask -Project '{Project.Name}' 'succeed' -Image {Image}");
            var result = r.Single<ClaudeTaskResult>();
            Assert.Equal(Project.FullName, result.Path);
            Assert.Equal(Project.Name, result.Project);

            var bad = Session.Invoke($"Start-ClaudeTask -Project '../etc' 'succeed' -Image {Image}");
            Assert.Contains(bad.ErrorIds, id => id.StartsWith("ProjectNameInvalid,"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("CLAUDE_PROJECTS_ROOT", null);
        }
    }

    [Fact]
    public void ProjectDirectoriesCanBePiped()
    {
        var second = Directory.CreateTempSubdirectory("co-project-");
        try
        {
            var r = Session.Invoke($"'{Project.FullName}', '{second.FullName}' | Start-ClaudeTask -Description 'succeed' -Image {Image}");

            // Both run at once (the default throttle is 4); each result comes as its task ends.
            Assert.Equal(new[] { Project.FullName, second.FullName }.OrderBy(p => p), r.Output.Select(o => ((ClaudeTaskResult)o.BaseObject).Path).OrderBy(p => p));
        }
        finally
        {
            second.Delete(recursive: true);
        }
    }
}
