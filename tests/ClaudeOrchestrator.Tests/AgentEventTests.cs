using Xunit;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Journal;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Tasks;
using ClaudeOrchestrator.Tests.Infrastructure;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// The event reader on lines as Claude Code 2.1.332 wrote them (taken from real runs against the
/// Messages API stand-in), and the small pure rules around it. No engine needed.
/// </summary>
[Trait(Needs.Trait, Needs.None)]
public class AgentEventTests
{
    private const string Init = "{\"type\":\"system\",\"subtype\":\"init\",\"cwd\":\"/workspace\",\"session_id\":\"c753cce7-4d53-4565-8c4a-2e4a1fbb32ea\",\"tools\":[\"Bash\",\"Write\"],\"model\":\"claude-opus-5-5\",\"permissionMode\":\"bypassPermissions\",\"apiKeySource\":\"ANTHROPIC_API_KEY\",\"claude_code_version\":\"2.1.332\"}";
    private const string Text = "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_0\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-5-5\",\"content\":[{\"type\":\"text\",\"text\":\"I will write the file.\"}],\"usage\":{\"input_tokens\":100,\"output_tokens\":1,\"cache_creation_input_tokens\":20,\"cache_read_input_tokens\":30}},\"session_id\":\"c753cce7-4d53-4565-8c4a-2e4a1fbb32ea\"}";
    private const string Tool = "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_0\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-5-5\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"Write\",\"input\":{\"file_path\":\"/workspace/src/hello.txt\",\"content\":\"hi\\n\"}}],\"usage\":{\"input_tokens\":100,\"output_tokens\":1,\"cache_creation_input_tokens\":20,\"cache_read_input_tokens\":30}},\"session_id\":\"c753cce7-4d53-4565-8c4a-2e4a1fbb32ea\"}";
    private const string ToolError = "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":[{\"tool_use_id\":\"toolu_01\",\"type\":\"tool_result\",\"content\":\"Exit code 1\\nnpm ERR! missing script: test\",\"is_error\":true}]},\"session_id\":\"c753cce7-4d53-4565-8c4a-2e4a1fbb32ea\"}";
    private const string Result = "{\"duration_api_ms\":71,\"stop_reason\":\"end_turn\",\"session_id\":\"c753cce7-4d53-4565-8c4a-2e4a1fbb32ea\",\"total_cost_usd\":0.002052,\"usage\":{\"input_tokens\":200,\"cache_creation_input_tokens\":40,\"cache_read_input_tokens\":60,\"output_tokens\":52},\"modelUsage\":{\"claude-opus-5-5\":{\"inputTokens\":200}},\"is_error\":false,\"num_turns\":2,\"subtype\":\"success\",\"api_error_status\":null,\"result\":\"Done: wrote hello.txt\",\"type\":\"result\"}";
    private const string NotLoggedIn = "{\"type\":\"assistant\",\"message\":{\"id\":\"552b3723\",\"model\":\"<synthetic>\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Not logged in · Please run /login\"}]},\"session_id\":\"f4afb92b\",\"error\":\"authentication_failed\",\"is_api_error_message\":true,\"api_error_status\":null}";
    private const string NotLoggedInResult = "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,\"num_turns\":1,\"total_cost_usd\":0,\"result\":\"Not logged in · Please run /login\",\"session_id\":\"f4afb92b\",\"terminal_reason\":\"api_error\"}";

    [Fact]
    public void ARealSessionIsRenderedAndRead()
    {
        var events = new ClaudeEventStream(new AgentActivity());
        var shown = new[] { Init, Text, Tool, ToolError, Result }.SelectMany(l => events.Render(l)!).ToList();

        Assert.Equal(new[]
        {
            "Claude Code 2.1.332 · claude-opus-5-5 · session c753cce7-4d53-4565-8c4a-2e4a1fbb32ea",
            "I will write the file.",
            "-> Write src/hello.txt",
            "   tool error: Exit code 1",
            "2 turn(s), $0.0021, 300 tokens in (60 cached), 52 out",
        }, shown);
        var activity = events.Activity;
        Assert.Equal("c753cce7-4d53-4565-8c4a-2e4a1fbb32ea", activity.SessionId);
        Assert.Equal("claude-opus-5-5", activity.Model);
        Assert.Equal(2, activity.Turns);
        Assert.Equal(0.002052, activity.CostUsd);
        Assert.Equal(200, activity.Tokens.Input);
        Assert.Equal(52, activity.Tokens.Output);
        Assert.Equal("Done: wrote hello.txt", activity.ResultText);
        Assert.Null(activity.ErrorKind);
        Assert.True(activity.SawResult);
    }

    [Fact]
    public void TurnsAndTheCurrentToolAreKnownBeforeTheResult()
    {
        var events = new ClaudeEventStream(new AgentActivity());
        events.Render(Init);
        events.Render(Text);
        events.Render(Tool);

        // Two events of one message are one turn; its usage counts once.
        Assert.Equal(1, events.Activity.Turns);
        Assert.Equal(100, events.Activity.Tokens.Input);
        Assert.Equal("Write src/hello.txt", events.Activity.CurrentTool);
        Assert.Null(events.Activity.CostUsd);
        Assert.Equal(" · turn 1 · Write src/hello.txt · 151 tokens", Hosting.ActivityStatus.Text(events.Activity));
        events.Render(ToolError);
        Assert.Null(events.Activity.CurrentTool);
    }

    [Fact]
    public void LinesThatAreNotEventsPassThrough()
    {
        var events = new ClaudeEventStream(new AgentActivity());
        Assert.Null(events.Render("plain text"));
        Assert.Null(events.Render("{not json"));
        Assert.Null(events.Render("{\"no\":\"type\"}"));
        Assert.Null(events.Render(""));
        Assert.False(events.Activity.SawEvents);
    }

    [Fact]
    public void NotLoggedInIsAnAuthenticationFailureEvenThoughTheResultSaysOnlyIsError()
    {
        var events = new ClaudeEventStream(new AgentActivity());
        events.Render(NotLoggedIn);
        events.Render(NotLoggedInResult);
        Assert.Equal(ClaudeAgentErrorKind.AuthenticationFailed, events.Activity.ErrorKind);
        Assert.Equal("Not logged in · Please run /login", events.Activity.ErrorText);
    }

    [Theory]
    [InlineData(401L, "authentication_error", null, null, ClaudeAgentErrorKind.AuthenticationFailed)]
    [InlineData(429L, "rate_limit_error", null, null, ClaudeAgentErrorKind.RateLimited)]
    [InlineData(null, null, "rate_limit", null, ClaudeAgentErrorKind.RateLimited)]
    [InlineData(529L, "overloaded_error", null, null, ClaudeAgentErrorKind.Overloaded)]
    [InlineData(null, null, null, "error_max_turns", ClaudeAgentErrorKind.MaxTurnsReached)]
    [InlineData(null, null, null, "error_max_budget_usd", ClaudeAgentErrorKind.BudgetExceeded)]
    [InlineData(500L, "api_error", null, "success", ClaudeAgentErrorKind.Other)]
    public void ApiErrorsMapToKinds(long? status, string type, string error, string subtype, ClaudeAgentErrorKind kind) =>
        Assert.Equal(kind, ClaudeEventStream.KindOf(status, type, error, subtype));

    [Fact]
    public void CliOptionsBecomeOneArgumentEachAndOnlyForClaude()
    {
        var options = new ClaudeCliOptions
        {
            Model = "sonnet", MaxTurns = 12, MaxBudgetUsd = 1.5, AllowedTools = new[] { "Read", "Bash(npm test)" },
            DisallowedTools = new[] { "WebFetch" }, AppendSystemPrompt = "Be brief.", ResumeSession = "c753cce7",
        };
        Assert.Equal(new[]
        {
            "claude", "--print", "--model=sonnet", "--max-turns=12", "--max-budget-usd=1.5", "--allowedTools=Read,Bash(npm test)",
            "--disallowedTools=WebFetch", "--append-system-prompt=Be brief.", "--resume=c753cce7",
        }, options.ApplyTo(new[] { "claude", "--print" }));
        Assert.Equal(new[] { "/opt/bin/claude", "--model=sonnet" }, new ClaudeCliOptions { Model = "sonnet" }.ApplyTo(new[] { "/opt/bin/claude" }));
        var refused = Assert.Throws<OrchestratorException>(() => options.ApplyTo(new[] { "aider" }));
        Assert.Equal(ErrorIds.AgentOptionsUnsupported, refused.ErrorId);
        Assert.Equal(new[] { "aider", "x" }, new ClaudeCliOptions().ApplyTo(new[] { "aider", "x" }));
    }

    [Fact]
    public void RetryDelaysDoubleWithJitterAndAreCapped()
    {
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var delay = TaskRunner.RetryDelay(TimeSpan.FromSeconds(10), attempt).TotalSeconds;
            var expected = 10 * Math.Pow(2, attempt - 1);
            Assert.InRange(delay, 0.8 * expected, 1.2 * expected);
        }

        Assert.Equal(ModuleDefaults.MaxRetryDelay, TaskRunner.RetryDelay(TimeSpan.FromMinutes(4), 5));
    }

    [Fact]
    public void TheThrottleHalvesUnderPushBackAndRecoversOneAtATime()
    {
        var throttle = new TaskThrottle(8);
        Assert.Equal(4, throttle.Lower());
        Assert.Equal(2, throttle.Lower());
        Assert.Equal(1, throttle.Lower());
        Assert.Equal(1, throttle.Lower());
        throttle.Enter();
        Assert.False(throttle.HasRoom);
        throttle.Succeeded();
        Assert.Equal(2, throttle.Limit);
        Assert.True(throttle.HasRoom);
        for (var i = 0; i < 10; i++)
        {
            throttle.Succeeded();
        }

        Assert.Equal(8, throttle.Limit);
        throttle.Leave();
        Assert.Equal(0, throttle.Running);
    }

    [Fact]
    public void TheReportSumsCostAndTokensPerProjectAndDay()
    {
        var day = new DateTime(2026, 11, 30, 10, 0, 0);
        ClaudeCleanupRecord Usage(string project, DateTime time, double cost, long tokens) => new()
        {
            Time = time, Project = project, Outcome = CleanupRecords.UsageOutcome, CostUsd = cost, InputTokens = tokens, OutputTokens = tokens / 10,
        };
        var records = new[]
        {
            Usage("shop", day, 0.5, 1000), Usage("shop", day.AddDays(1), 0.25, 500), Usage("blog", day, 1.0, 3000),
            new ClaudeCleanupRecord { Time = day, Project = "shop", Outcome = "Removed", Reason = CleanupReason.Finished },
        };
        var report = CleanupReportBuilder.Build(records, null);

        Assert.Equal(1.75, report.CostUsd, 6);
        Assert.Equal(1, report.TotalRemovals);
        Assert.Equal(new[] { "blog", "shop" }, report.UsageByProject.Select(u => u.Name));
        Assert.Equal(0.75, report.UsageByProject[1].CostUsd, 6);
        Assert.Equal(1500, report.UsageByProject[1].InputTokens);
        Assert.Equal(2, report.UsageByProject[1].Tasks);
        Assert.Equal(new[] { "2026-11-30", "2026-12-01" }, report.UsagePerDay.Select(u => u.Name));
        Assert.Equal(1.5, report.UsagePerDay[0].CostUsd, 6);
    }

    [Fact]
    public void UsageRecordsRoundTripThroughTheJournal()
    {
        var record = new ClaudeCleanupRecord
        {
            Time = DateTime.Now, TaskId = "k7q2m9xa", Project = "shop", Outcome = CleanupRecords.UsageOutcome, Reason = CleanupReason.Finished,
            CostUsd = 0.0123, InputTokens = 1200, OutputTokens = 340, CacheReadTokens = 77, CacheCreationTokens = 33,
        };
        var back = CleanupJournal.Parse(System.Text.Encoding.UTF8.GetString(CleanupJournal.Serialize(record)))!;
        Assert.Equal(0.0123, back.CostUsd);
        Assert.Equal(1200, back.InputTokens);
        Assert.Equal(340, back.OutputTokens);
        Assert.Equal(77, back.CacheReadTokens);
        Assert.Equal(33, back.CacheCreationTokens);
        Assert.Equal(CleanupRecords.UsageOutcome, back.Outcome);
    }
}
