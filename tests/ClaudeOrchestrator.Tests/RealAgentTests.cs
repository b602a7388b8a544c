using System.Text.Json;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>The image with the real Claude Code CLI (from npm) and the in-container Messages API stand-in.</summary>
public sealed class RealAgentImage : IDisposable
{
    public const string Name = "claude-orchestrator-realagent:test";

    public RealAgentImage()
    {
        TestImage.BuildRealAgent(Name, ClaudeCodeCli.Locate());
    }

    public void Dispose() => DockerCli.Run("rmi", Name);
}

/// <summary>
/// The real Claude Code CLI under the module's default sandbox (read-only root, tmpfs home,
/// noexec /tmp, dropped capabilities, pids and memory limits, the caller's uid without a passwd
/// entry) with -Network none: it talks only to the Messages API stand-in on the container's own
/// 127.0.0.1, runs a tool-use loop that writes into /workspace, and reports what the module reads.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
[Trait(Needs.Trait, Needs.RealAgent)]
public class RealAgentTests : TaskTestBase, IClassFixture<RealAgentImage>
{
    private const string Key = "sk-ant-test-0123456789-do-not-show";

    public RealAgentTests(DockerFixture docker, ITestOutputHelper output, RealAgentImage image) : base(docker, output)
    {
        Git("init", "-q", "-b", "main");
        Git("config", "user.name", "Test User");
        Git("config", "user.email", "test@example.invalid");
        File.WriteAllText(Path.Combine(Project.FullName, "README.md"), "hello\n");
        Git("add", "-A");
        Git("commit", "-q", "-m", "first");
    }

    private string Git(params string[] args)
    {
        var r = DockerCli.Exec("git", new[] { "-C", Project.FullName }.Concat(args).ToArray());
        Assert.True(r.ExitCode == 0, $"git {string.Join(' ', args)}: {r.Stderr}");
        return r.Stdout.Trim();
    }

    private string RealTask(string description, string extra = "", string environment = "") =>
        $"Start-ClaudeTask -Path '{Project.FullName}' -Description '{description}' -Image {RealAgentImage.Name} -Network none " +
        $"-Environment @{{ CLAUDE_CODE_MAX_RETRIES = '0'; {environment} }} {extra}";

    private PsResult WithKey(string script) =>
        Session.Invoke($"$env:ANTHROPIC_API_KEY = '{Key}'; try {{ {script} }} finally {{ $env:ANTHROPIC_API_KEY = $null }}");

    /// <summary>The result event exactly as the CLI wrote it into the transcript.</summary>
    private static JsonElement ResultEvent(ClaudeTaskResult result)
    {
        var line = File.ReadLines(result.TranscriptPath).Select(l => l.Split(' ', 3)).Where(p => p.Length == 3 && p[1] == "out")
            .Select(p => p[2]).Single(l => l.StartsWith("{\"") && l.Contains("\"type\":\"result\""));
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    private static void AssertNoKeyAnywhere(ClaudeTaskResult result, PsResult r)
    {
        Assert.DoesNotContain(Key, File.ReadAllText(result.TranscriptPath));
        Assert.DoesNotContain(Key, r.AllText);
        var state = Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator");
        foreach (var file in Directory.EnumerateFiles(state, "*.json*", SearchOption.AllDirectories).Where(f => !f.Contains("/agent/")))
        {
            Assert.DoesNotContain(Key, File.ReadAllText(file));
        }
    }

    [Fact]
    public void RealCliAsRootWritesOnItsBranchAndReportsSessionTurnsTokensAndCost()
    {
        var r = WithKey(RealTask("write hello.txt hi from the real CLI", "-User 0:0 -Verbose"));

        var result = r.Single<ClaudeTaskResult>();
        Assert.True(result.Status == ClaudeTaskStatus.Succeeded, result.Reason + "\n" + result.Output + result.ErrorOutput);
        Assert.Equal("hi from the real CLI", Git("show", result.Branch + ":hello.txt"));
        Assert.False(File.Exists(Path.Combine(Project.FullName, "hello.txt")), "the user's tree was touched");

        // What the CLI itself reported, as the module carries it.
        var reported = ResultEvent(result);
        Assert.Equal(reported.GetProperty("session_id").GetString(), result.SessionId);
        Assert.Matches("^[0-9a-f-]{36}$", result.SessionId);
        Assert.Equal(2, result.Turns);
        Assert.Equal(reported.GetProperty("num_turns").GetInt32(), result.Turns);
        Assert.Equal(reported.GetProperty("total_cost_usd").GetDouble(), result.CostUsd);
        Assert.True(result.CostUsd > 0);
        // The CLI's totals over the stand-in's two responses (60 + 25 tokens out, 300 and 200 cached each).
        var usage = reported.GetProperty("usage");
        Assert.Equal(usage.GetProperty("input_tokens").GetInt64(), result.InputTokens);
        Assert.True(result.InputTokens > 2000, $"input tokens {result.InputTokens}");
        Assert.Equal(85, result.OutputTokens);
        Assert.Equal(600, result.CacheReadTokens);
        Assert.Equal(400, result.CacheCreationTokens);
        Assert.Matches(@"^Done: seen \d+ messages\.$", result.ResultText);
        Assert.Equal(reported.GetProperty("result").GetString(), result.ResultText);
        Assert.Null(result.ErrorKind);
        Assert.False(string.IsNullOrEmpty(result.Model));

        // The console showed the activity, not the raw events.
        var shown = r.InformationText.ToList();
        Assert.Contains("I will write hello.txt.", shown);
        Assert.Contains("-> Write hello.txt", shown);
        Assert.Contains(shown, l => l.StartsWith("Claude Code " + ClaudeCodeCli.Version));
        Assert.DoesNotContain(shown, l => l.StartsWith("{\""));
        AssertNoKeyAnywhere(result, r);
    }

    [Fact]
    public void RealCliTaskIsOnTheBoardWithItsTurnFileAndEstimatedCostUntilItReportsItsOwn()
    {
        // The stand-in API holds each answer 4 s, so the task is seen between its turns.
        const string model = "claude-sonnet-4-5-20250929";
        var job = WithKey(RealTask("write watched.txt seen on the board", $"-Model {model} -AsJob", "STANDIN_DELAY_MS = '4000'")).ThrowIfFailed();
        Assert.Single(job.Output);
        ClaudeTaskBoardRow row = null;
        Eventually.True(() =>
        {
            row = Session.Invoke($"Watch-ClaudeTask -Once -Status Running -Project '{Project.Name}'").ThrowIfFailed().Output
                .Select(o => (ClaudeTaskBoardRow)o.BaseObject).SingleOrDefault();
            return row != null && row.Turns >= 1 && row.FilesChanged == 1;
        }, TimeSpan.FromSeconds(90), "the running task shows its first turn and the file its Write named", TimeSpan.FromMilliseconds(200));
        Assert.True(row.CostEstimated);
        Assert.True(row.CostUsd > 0);
        Assert.StartsWith("claude/", row.Branch);

        var result = Session.Invoke("Get-Job | Receive-Job -Wait -AutoRemoveJob").Output.Select(o => o.BaseObject).OfType<ClaudeTaskResult>().Single();
        Assert.True(result.Status == ClaudeTaskStatus.Succeeded, result.Reason + "\n" + result.Output + result.ErrorOutput);
        Assert.False(result.CostEstimated);
        var reported = ResultEvent(result);
        Assert.Equal(reported.GetProperty("total_cost_usd").GetDouble(), result.CostUsd);
        // The module's list price for the CLI's own token totals is the CLI's own figure.
        var usage = reported.GetProperty("usage");
        var estimate = ClaudeOrchestrator.Engine.Agent.ModelPrices.Estimate(model, new ClaudeOrchestrator.Engine.Agent.AgentActivity.Usage
        {
            Input = usage.GetProperty("input_tokens").GetInt64(),
            Output = usage.GetProperty("output_tokens").GetInt64(),
            CacheRead = usage.GetProperty("cache_read_input_tokens").GetInt64(),
            CacheCreation = usage.GetProperty("cache_creation_input_tokens").GetInt64(),
        });
        Assert.Equal(result.CostUsd!.Value, estimate!.Value, 6);
        var ended = Session.Invoke($"Watch-ClaudeTask -Once -Id {result.TaskId}").ThrowIfFailed().Single<ClaudeTaskBoardRow>();
        Assert.Equal(ClaudeTaskStatus.Succeeded, ended.Status);
        Assert.Equal(result.CostUsd, ended.CostUsd);
        Assert.Equal(1, ended.FilesChanged);
    }

    [Fact]
    public void RealCliCompletesItsLoopThroughTheEgressGatewayAndTheKeyStaysOutside()
    {
        // The Messages API stand-in in a container of its own, on a network the test makes (the gateway's way out).
        var suffix = Guid.NewGuid().ToString("N").Substring(0, 8);
        var network = "ca-api-" + suffix; // sorts before the tasks' network: the gateway stays their router
        var api = "co-standin-" + suffix;
        DockerCli.Run("network", "create", network).EnsureSuccess();
        try
        {
            DockerCli.Run("run", "-d", "--name", api, "--network", network, "-e", "STANDIN_BIND=0.0.0.0", "-e", "STANDIN_KEY=" + Key,
                RealAgentImage.Name, "node", "/opt/standin/messages-api-standin.js").EnsureSuccess();
            Eventually.True(() => DockerCli.Run("exec", api, "test", "-e", "/tmp/standin-api.ready").ExitCode == 0, TimeSpan.FromSeconds(30), "the stand-in API listens");
            var address = DockerCli.Inspect(api, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");
            using (Override(ClaudeOrchestrator.Engine.Egress.EgressGateway.OutsideNetworkVariable, network))
            using (Override("ANTHROPIC_BASE_URL", $"http://{address}:18080"))
            {
                var r = WithKey($"Start-ClaudeTask -Path '{Project.FullName}' -Description 'write gateway.txt through the gateway' -Image {RealAgentImage.Name} " +
                                "-Environment @{ CLAUDE_CODE_MAX_RETRIES = '0'; STANDIN_OUTSIDE = '1' } -Verbose");
                var result = r.Single<ClaudeTaskResult>();
                Assert.True(result.Status == ClaudeTaskStatus.Succeeded, result.Reason + "\n" + result.Output + result.ErrorOutput);
                Assert.Equal("through the gateway", Git("show", result.Branch + ":gateway.txt"));
                Assert.Equal(ClaudeTaskEgress.Gateway, result.Egress);
                Assert.Equal(2, result.Turns);

                // The stand-in received the real key on every request, and nothing else as a key.
                var keys = DockerCli.Run("logs", api).Stdout.Split('\n').Where(l => l.StartsWith("x-api-key received: ")).ToList();
                Assert.True(keys.Count >= 2, string.Join("\n", keys));
                Assert.All(keys, k => Assert.Equal("x-api-key received: " + Key, k));
                var calls = Session.Invoke($"Receive-ClaudeTask {result.TaskId} -Network").ThrowIfFailed().Output.Select(o => (ClaudeTaskConnection)o.BaseObject).ToList();
                Assert.True(calls.Count(c => c.Allowed && c.Kind == "api" && c.BytesReceived > 0) >= 2, string.Join("\n", calls));
                AssertNoKeyAnywhere(result, r);
            }
        }
        finally
        {
            // The session's gateway uses the test's network as its way out: it goes first.
            ClaudeOrchestrator.Engine.Egress.EgressGateways.StopIdleAsync().Wait(TimeSpan.FromSeconds(30));
            DockerCli.Run("rm", "-f", api);
            DockerCli.Run("network", "rm", network);
        }
    }

    [Fact]
    public void RealCliAsNonRootUidWithoutPasswdEntryWritesFilesOwnedByThatUid()
    {
        Project.Refresh();
        File.SetUnixFileMode(Project.FullName, (UnixFileMode)0b111_111_111);
        var r = WithKey(RealTask("write plain.txt written in place", "-Isolation None -User 4321:4321"));

        var result = r.Single<ClaudeTaskResult>();
        Assert.True(result.Status == ClaudeTaskStatus.Succeeded, result.Reason + "\n" + result.Output + result.ErrorOutput);
        var file = Path.Combine(Project.FullName, "plain.txt");
        Assert.Equal("written in place\n", File.ReadAllText(file));
        Assert.Equal("4321", DockerCli.Exec("stat", "-c", "%u", file).Stdout.Trim());
        Assert.Equal(2, result.Turns);
        Assert.NotNull(result.SessionId);
    }

    [Fact]
    public void RealCliResumeContinuesTheSameSessionOnTheSameBranch()
    {
        var first = WithKey(RealTask("write notes.txt first part")).Single<ClaudeTaskResult>();
        Assert.True(first.Status == ClaudeTaskStatus.Succeeded, first.Reason + first.ErrorOutput);

        var r = WithKey($"Start-ClaudeTask -Resume {first.TaskId} 'how many messages so far' -Network none -Environment @{{ CLAUDE_CODE_MAX_RETRIES = '0' }}");
        var resumed = r.Single<ClaudeTaskResult>();
        Assert.True(resumed.Status == ClaudeTaskStatus.Succeeded, resumed.Reason + resumed.Output + resumed.ErrorOutput);
        Assert.Equal(first.SessionId, resumed.SessionId);
        Assert.Equal(first.TaskId, resumed.ResumedFrom);
        Assert.Equal(first.Branch, resumed.Branch);
        Assert.NotEqual(first.TaskId, resumed.TaskId);
        // The API was sent the whole conversation: the first task's four messages and the new prompt.
        var seen = int.Parse(System.Text.RegularExpressions.Regex.Match(resumed.ResultText, @"seen (\d+) messages").Groups[1].Value);
        Assert.True(seen >= 5, resumed.ResultText);
        Assert.Equal("first part", Git("show", resumed.Branch + ":notes.txt"));
    }

    [Fact]
    public void RealCliWithARefusedKeyIsAClearAuthenticationError()
    {
        var r = WithKey(RealTask("write x.txt never", "-Isolation None", "STANDIN_STATUS = '401'"));

        var result = r.Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Failed, result.Status);
        Assert.Equal(ClaudeAgentErrorKind.AuthenticationFailed, result.ErrorKind);
        Assert.Equal("AgentAuthenticationFailed,ClaudeOrchestrator.Commands.StartClaudeTaskCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.AuthenticationError, r.Errors[0].CategoryInfo.Category);
        Assert.Contains("refused the agent's credentials", result.Reason);
        Assert.DoesNotContain("exited with code", result.Reason);
        AssertNoKeyAnywhere(result, r);
    }

    [Fact]
    public void RealCliWithoutAnyKeySaysNoneWasPassed()
    {
        Assert.Null(Environment.GetEnvironmentVariable("ANTHROPIC_API_KEY"));
        var r = Session.Invoke(RealTask("write x.txt never", "-Isolation None"));

        var result = r.Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeAgentErrorKind.AuthenticationFailed, result.ErrorKind);
        Assert.Contains("no ANTHROPIC_API_KEY", result.Reason);
    }

    [Fact]
    public void RealCliRateLimitedIsRetriedAfterABackOffAndRecordsTheAttempts()
    {
        var r = WithKey(RealTask("write x.txt never", "-Isolation None -MaxAttempts 2 -RetryDelay 1s", "STANDIN_STATUS = '429'"));

        var result = r.Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Failed, result.Status);
        Assert.Equal(ClaudeAgentErrorKind.RateLimited, result.ErrorKind);
        Assert.Equal(2, result.Attempts);
        Assert.Contains(r.Warnings, w => w.Contains("RateLimited on attempt 1 of 2"));
        Assert.Equal("AgentRateLimited,ClaudeOrchestrator.Commands.StartClaudeTaskCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Empty(DockerCli.ManagedNames());
    }
}
