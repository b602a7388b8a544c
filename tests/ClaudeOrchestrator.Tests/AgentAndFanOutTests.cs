using System.Management.Automation;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Jobs;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// What the module makes of the agent's events (with the stand-in speaking stream-json), the
/// Claude Code options, -Resume's refusals, and fan-out: the throttle, results as tasks end,
/// Ctrl+C and Stop-Job over many tasks, rate-limit retries.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public class AgentAndFanOutTests : TaskTestBase
{
    public AgentAndFanOutTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
    }

    private List<DirectoryInfo> Projects(int count) =>
        Enumerable.Range(0, count).Select(_ => Directory.CreateTempSubdirectory("co-fan-")).ToList();

    private static string PathList(IEnumerable<DirectoryInfo> projects) =>
        string.Join(",", projects.Select(p => $"'{p.FullName}'"));

    /// <summary>Scratch project directories for one test, deleted after it.</summary>
    private void WithProjects(int count, Action<List<DirectoryInfo>> test)
    {
        var projects = Projects(count);
        try
        {
            test(projects);
        }
        finally
        {
            projects.ForEach(p => p.Delete(true));
        }
    }

    /// <summary>Waits (up to 30 s) until this process has <paramref name="count"/> task containers, and says how many it has.</summary>
    private static int WaitForOwnContainers(int count)
    {
        var label = "io.claude-orchestrator.owner-pid=" + Environment.ProcessId;
        return Eventually.Last(() => DockerCli.TaskNamesWithLabel(label).Count, n => n >= count, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void ToolCallsAndToolErrorsAreShownOneLineEach()
    {
        var r = Session.Invoke(StartTask("tools made.txt", "-Isolation None"));

        var result = r.Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
        var shown = r.InformationText.ToList();
        Assert.Contains("-> Write made.txt", shown);
        Assert.Contains("-> Bash: npm test", shown);
        Assert.Contains("   tool error: Exit code 1", shown);
        Assert.Equal(5, result.Turns);
        Assert.Equal(0.0123, result.CostUsd);
        Assert.Equal(1200, result.InputTokens);
        Assert.Equal(340, result.OutputTokens);
        Assert.Equal(77, result.CacheReadTokens);
        Assert.Equal(33, result.CacheCreationTokens);
        Assert.Equal("stand-in-model", result.Model);
        Assert.Equal("agent: done with tools", result.ResultText);
        // The transcript keeps the raw events.
        Assert.Contains("\"type\":\"tool_use\"", File.ReadAllText(result.TranscriptPath));
        // The record keeps what the agent reported.
        var task = (ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {result.TaskId}").ThrowIfFailed().Output.Single().BaseObject;
        Assert.Equal(result.SessionId, task.AgentSessionId);
        Assert.Equal(0.0123, task.CostUsd);
        Assert.True(Directory.Exists(task.AgentStatePath));
    }

    [Theory]
    [InlineData("api-error 429 rate_limit_error Slow_down rate_limit", "RateLimited", "AgentRateLimited")]
    [InlineData("api-error 529 overloaded_error Overloaded overloaded", "Overloaded", "AgentOverloaded")]
    [InlineData("api-error 401 authentication_error Invalid_API_key authentication_failed", "AuthenticationFailed", "AgentAuthenticationFailed")]
    [InlineData("max-turns", "MaxTurnsReached", "AgentMaxTurnsReached")]
    public void AnErrorTheAgentReportsIsItsKindAndItsErrorId(string description, string kind, string errorId)
    {
        var r = Session.Invoke(StartTask(description, "-Isolation None -MaxAttempts 1"));

        var result = r.Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Failed, result.Status);
        Assert.Equal(kind, result.ErrorKind.ToString());
        Assert.Equal(1, result.Attempts);
        Assert.StartsWith(errorId + ",", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Contains("(exit code 1)", result.Reason);
    }

    [Fact]
    public void ARateLimitedTaskIsRetriedAndSucceedsWithTheAttemptsCounted()
    {
        var r = Session.Invoke(StartTask("flaky runs.txt 2", "-Isolation None -RetryDelay 200ms"));

        var result = r.Single<ClaudeTaskResult>();
        Assert.True(result.Status == ClaudeTaskStatus.Succeeded, result.Reason);
        Assert.Equal(3, result.Attempts);
        Assert.Null(result.ErrorKind);
        Assert.Contains("agent: run 3 went through", result.Output);
        Assert.Equal(2, r.Warnings.Count(w => w.Contains("RateLimited on attempt")));
        Assert.Equal("3", File.ReadAllText(Path.Combine(Project.FullName, "runs.txt")));
        Assert.Empty(r.Errors);
    }

    [Fact]
    public void ClaudeOptionsReachTheCliAndComeFromTheProfileToo()
    {
        var r = Session.Invoke(StartTask("argv", "-Model sonnet -MaxTurns 7 -MaxBudgetUsd 2.5 -AllowedTools Read,Edit -DisallowedTools WebFetch -AppendSystemPrompt 'Be brief.'"));
        var output = r.Single<ClaudeTaskResult>().Output;
        foreach (var flag in new[] { "[--model=sonnet]", "[--max-turns=7]", "[--max-budget-usd=2.5]", "[--allowedTools=Read,Edit]", "[--disallowedTools=WebFetch]", "[--append-system-prompt=Be brief.]" })
        {
            Assert.Contains(flag, output);
        }

        var profiles = Directory.CreateTempSubdirectory("co-profiles-");
        try
        {
            File.WriteAllText(Path.Combine(profiles.FullName, "agentopts.yaml"),
                $"local_path: {Project.FullName}\ndocker:\n  image: {Image}\nagent:\n  model: opus\n  max_turns: 3\n  allowed_tools: [Read, Grep]\n");
            var p = Session.Invoke($"$env:CLAUDE_PROJECTS_DIR = '{profiles.FullName}'; try {{ Start-ClaudeTask -Project agentopts 'argv' -Model haiku }} finally {{ $env:CLAUDE_PROJECTS_DIR = $null }}");
            var fromProfile = p.Single<ClaudeTaskResult>().Output;
            Assert.Contains("[--model=haiku]", fromProfile);
            Assert.Contains("[--max-turns=3]", fromProfile);
            Assert.Contains("[--allowedTools=Read,Grep]", fromProfile);
        }
        finally
        {
            profiles.Delete(true);
        }

        var refused = Session.Invoke(StartTask("x", "-AgentCommand sh,-c,true -Model sonnet"));
        Assert.Equal("AgentOptionsUnsupported,ClaudeOrchestrator.Commands.StartClaudeTaskCommand", refused.FirstError.FullyQualifiedErrorId);
        Assert.Empty(DockerCli.ManagedNames());
    }

    [Fact]
    public void ResumePassesTheSessionAndRefusesWhatCannotBeResumed()
    {
        var first = Session.Invoke(StartTask("session", "-Isolation None")).Single<ClaudeTaskResult>();
        Assert.NotNull(first.SessionId);

        // Piped: the result's TaskId binds; the stand-in echoes the session it was asked to resume.
        var piped = Session.Invoke("$first | Start-ClaudeTask -Resume -Description 'session'", new Dictionary<string, object> { ["first"] = first });
        var resumed = piped.Single<ClaudeTaskResult>();
        Assert.Contains($"resume={first.SessionId}", resumed.Output);
        Assert.Equal(first.SessionId, resumed.SessionId);
        Assert.Equal(first.TaskId, resumed.ResumedFrom);

        Assert.StartsWith("ClaudeTaskNotFound,", Session.Invoke("Start-ClaudeTask -Resume zzzzzzzz 'x'").FirstError.FullyQualifiedErrorId);

        var plain = Session.Invoke(StartTask("echo no events", "-Isolation None")).Single<ClaudeTaskResult>();
        Assert.Null(plain.SessionId);
        var noSession = Session.Invoke($"Start-ClaudeTask -Resume {plain.TaskId} 'x'");
        Assert.StartsWith("ClaudeTaskCannotResume,", noSession.FirstError.FullyQualifiedErrorId);
        Assert.Contains("reported no Claude Code session", noSession.FirstError.Exception.Message);

        // Pruned agent state: the record stays, the session is gone.
        var task = (ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {first.TaskId}").ThrowIfFailed().Output.Single().BaseObject;
        Directory.Delete(task.AgentStatePath, true);
        Assert.StartsWith("ClaudeTaskCannotResume,", Session.Invoke($"Start-ClaudeTask -Resume {first.TaskId} 'x'").FirstError.FullyQualifiedErrorId);

        using (var running = Session.Start(StartTask("sleep 30", "-Isolation None")))
        {
            WaitForSessionContainer(running, TimeSpan.FromSeconds(20));
            var id = DockerCli.Inspect(DockerCli.NamesWithLabel("io.claude-orchestrator.session-id")[0], "{{index .Config.Labels \"io.claude-orchestrator.task-id\"}}");
            using var other = new PsSession();
            var busy = other.Invoke($"Start-ClaudeTask -Resume {id} 'x'");
            Assert.StartsWith("ClaudeTaskRunning,", busy.FirstError.FullyQualifiedErrorId);
            running.Stop();
        }

        Assert.Empty(DockerCli.ManagedNames());
    }

    [Fact]
    public void PipedTasksRunUnderTheThrottleAndEachResultComesAsItsTaskEnds()
    {
        WithProjects(5, projects =>
        {
            // Piped objects with Path and Description: the longest first, so it ends last.
            var script = $"$i = 0; {PathList(projects)} | ForEach-Object {{ $i++; [pscustomobject]@{{ Path = $_; Description = \"sleep $(if ($i -eq 1) {{ 4 }} else {{ 1 }})\" }} }} | " +
                         $"Start-ClaudeTask -Image {Image} -Isolation None -ThrottleLimit 2";
            var r = Session.Invoke(script);

            var results = r.Output.Select(o => (ClaudeTaskResult)o.BaseObject).ToList();
            Assert.Equal(5, results.Count);
            Assert.All(results, x => Assert.Equal(ClaudeTaskStatus.Succeeded, x.Status));
            Assert.Equal(projects.Select(p => p.FullName).OrderBy(p => p), results.Select(x => x.Path).OrderBy(p => p));
            // Never more than two at once: count overlapping [start, end] intervals.
            var maxAtOnce = results.Max(a => results.Count(b => b.StartTime < a.EndTime && a.StartTime < b.EndTime && b.StartTime <= a.StartTime));
            Assert.True(maxAtOnce <= 2, $"{maxAtOnce} tasks ran at once");
            // Written as they ended: in order of end time, and the slow first task is not first.
            Assert.Equal(results.OrderBy(x => x.EndTime).Select(x => x.TaskId), results.Select(x => x.TaskId));
            Assert.NotEqual(projects[0].FullName, results[0].Path);
            Assert.Empty(DockerCli.ManagedNames());
        });
    }

    [Fact]
    public void CtrlCStopsEveryPipedTaskAndReturnsWithNoContainerLeft()
    {
        WithProjects(4, projects =>
        {
            using var running = Session.Start($"{PathList(projects)} | Start-ClaudeTask -Description 'sleep 600' -Image {Image} -Isolation None -ThrottleLimit 3");
            Assert.Equal(3, WaitForOwnContainers(3));
            running.Stop();
            // Stop returned: every container is gone already, and the fourth task never started.
            Assert.Empty(DockerCli.ManagedNames());
        });
    }

    [Fact]
    public void PipedAsJobIsOneJobWithAChildPerTaskAndStopJobStopsThemAll()
    {
        WithProjects(3, projects =>
        {
            var done = Session.Invoke($"$j = {PathList(projects)} | Start-ClaudeTask -Description 'succeed' -Image {Image} -Isolation None -AsJob -ThrottleLimit 2; $j; $j | Wait-Job -Timeout 60 | Receive-Job");
            var job = Assert.IsType<ClaudeTaskFanOutJob>(done.Output[0].BaseObject);
            Assert.Equal(3, job.ChildJobs.Count);
            Assert.Equal(JobState.Completed, job.JobStateInfo.State);
            var results = done.Output.Skip(1).Select(o => (ClaudeTaskResult)o.BaseObject).ToList();
            Assert.Equal(3, results.Count);
            Assert.All(results, x => Assert.Equal(ClaudeTaskStatus.Succeeded, x.Status));

            var stopped = Session.Invoke($"$j = {PathList(projects)} | Start-ClaudeTask -Description 'sleep 600' -Image {Image} -Isolation None -AsJob -ThrottleLimit 2; " +
                                         "$deadline = [DateTime]::UtcNow.AddSeconds(30); while (@($j.ChildJobs | Where-Object State -eq Running).Count -lt 2 -and [DateTime]::UtcNow -lt $deadline) { [System.Threading.Thread]::Sleep(50) }; " +
                                         "[System.Threading.Thread]::Sleep(1500); $j | Stop-Job; $j");
            var stoppedJob = (ClaudeTaskFanOutJob)stopped.Output.Single().BaseObject;
            Assert.Equal(JobState.Stopped, stoppedJob.JobStateInfo.State);
            Assert.All(stoppedJob.ChildJobs, c => Assert.Equal(JobState.Stopped, c.JobStateInfo.State));
            Assert.Empty(DockerCli.ManagedNames());
        });
    }

    [Fact]
    public void RemoveModuleDuringAFanOutJobRemovesTheRunningAndNeverStartsTheWaiting()
    {
        WithProjects(4, projects =>
        {
            using var other = new PsSession();
            other.Invoke($"$j = {PathList(projects)} | Start-ClaudeTask -Description 'sleep 600' -Image {Image} -Isolation None -AsJob -ThrottleLimit 2").ThrowIfFailed();
            Assert.Equal(2, WaitForOwnContainers(2));
            other.Invoke("Remove-Module ClaudeOrchestrator").ThrowIfFailed();
            Assert.Empty(DockerCli.ManagedNames());
            // The two that waited for a place must not start behind the removal: none once every job has ended.
            other.Invoke("$j.ChildJobs | Wait-Job -Timeout 60 | Out-Null").ThrowIfFailed();
            Assert.Empty(DockerCli.ManagedNames());
            var states = other.Invoke("$j.ChildJobs | ForEach-Object { $_.JobStateInfo.State.ToString() }").ThrowIfFailed().Output.Select(o => o.ToString()).ToList();
            Assert.Equal(4, states.Count);
            Assert.DoesNotContain("Running", states);
        });
    }

    [Fact]
    public void TheCleanupReportAddsUpCostAndTokensPerProject()
    {
        Session.Invoke(StartTask("cost 0.25 1000 100", "-Isolation None")).ThrowIfFailed();
        Session.Invoke(StartTask("cost 0.5 2000 200", "-Isolation None")).ThrowIfFailed();

        var report = (ClaudeCleanupReport)Session.Invoke("Get-ClaudeCleanupReport").ThrowIfFailed().Output.Single().BaseObject;
        var mine = report.UsageByProject.Single(u => u.Name == Project.Name);
        Assert.Equal(2, mine.Tasks);
        Assert.Equal(0.75, mine.CostUsd, 6);
        Assert.Equal(3000, mine.InputTokens);
        Assert.Equal(300, mine.OutputTokens);
        Assert.True(report.CostUsd >= 0.75);
        Assert.Contains(report.UsagePerDay, d => d.Name == DateTime.Now.ToString("yyyy-MM-dd"));
    }
}
