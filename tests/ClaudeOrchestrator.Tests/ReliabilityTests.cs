using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>Load, odd input and neighbours: nothing lost, nothing leaked, nothing foreign touched.</summary>
[Trait(Needs.Trait, Needs.Docker)]
public sealed class ReliabilityTests : TaskTestBase
{
    public ReliabilityTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
    }

    [Fact]
    public void HundredKilobyteDescriptionOfHostileCharactersArrivesByteForByte()
    {
        var piece = "it's \"q\" `b` $(id) ${HOME} ; && | > < * ? ~ \\ \t ünïcødé ✓ 🚀\r\n";
        var text = new StringBuilder("echo ");
        while (Encoding.UTF8.GetByteCount(text.ToString()) < 100 * 1024)
        {
            text.Append(piece);
        }

        var description = text.ToString();
        var r = Session.Invoke($"Start-ClaudeTask -Path $project -Description $description -Image {Image}",
            new Dictionary<string, object> { ["project"] = Project.FullName, ["description"] = description });

        var output = r.Single<ClaudeTaskResult>().Output;
        Log($"description: {Encoding.UTF8.GetByteCount(description)} bytes; agent echoed {Encoding.UTF8.GetByteCount(output)} bytes");
        Assert.Equal(Encoding.UTF8.GetBytes(description), Encoding.UTF8.GetBytes(output));
    }

    [Fact]
    public void EightParallelRunspacesHalfCancelledLeaveCorrectResultsAndNothingBehind()
    {
        var state = InitialSessionState.CreateDefault2();
        state.ImportPSModule(Repo.Manifest);
        using var pool = RunspaceFactory.CreateRunspacePool(state);
        Assert.True(pool.SetMaxRunspaces(8));
        pool.Open();

        var tasks = Enumerable.Range(0, 8).Select(i =>
        {
            var ps = PowerShell.Create();
            ps.RunspacePool = pool;
            // Even ones finish on their own while the odd ones are cancelled around them.
            ps.AddCommand("Start-ClaudeTask").AddParameter("Path", Project.FullName).AddParameter("Image", Image)
              .AddParameter("Description", i % 2 == 0 ? $"sleep 15 task-{i}" : "sleep 600");
            return (Index: i, PowerShell: ps, Handle: ps.BeginInvoke());
        }).ToList();

        try
        {
            // Every agent has started (its first line arrived) before any is cancelled.
            WaitUntil(() => tasks.All(t => t.PowerShell.Streams.Information.Any(i => i.MessageData?.ToString()?.StartsWith("agent: sleeping") == true)),
                TimeSpan.FromSeconds(90), () => string.Join("; ", tasks.Select(t => $"{t.Index}: {t.PowerShell.InvocationStateInfo.State} {t.PowerShell.InvocationStateInfo.Reason?.Message} " +
                    string.Join("|", t.PowerShell.Streams.Information.Select(i => i.MessageData)) + string.Join("|", t.PowerShell.Streams.Error))));
            Assert.Equal(8, DockerCli.TaskNamesWithLabel("io.claude-orchestrator.owner-pid=" + Environment.ProcessId).Count);
            foreach (var task in tasks.Where(t => t.Index % 2 == 1))
            {
                task.PowerShell.Stop();
                Assert.Equal(PSInvocationState.Stopped, task.PowerShell.InvocationStateInfo.State);
            }

            foreach (var task in tasks.Where(t => t.Index % 2 == 0))
            {
                var result = (ClaudeTaskResult)Assert.Single(task.PowerShell.EndInvoke(task.Handle)).BaseObject;
                Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
                Assert.Contains("\nagent: sleeping 15\nagent: woke up\n", result.Output);
                Assert.Equal("agent: woke up", result.ResultText);
                Assert.Empty(task.PowerShell.Streams.Error);
            }

            Assert.Empty(DockerCli.ManagedNames());
            Assert.Empty(Session.Invoke("Get-ClaudeContainer").ThrowIfFailed().Output);
        }
        finally
        {
            tasks.ForEach(t => t.PowerShell.Dispose());
        }
    }

    [Fact]
    public void TwoHundredStartCancelCyclesLeakNoContainersMemoryOrHandles()
    {
        const int cycles = 200;
        const int warmup = 20;
        long memoryAfterWarmup = 0, handlesAfterWarmup = 0;
        var watch = Stopwatch.StartNew();
        for (var i = 1; i <= cycles; i++)
        {
            using (var running = Session.Start(StartTask("sleep 600")))
            {
                running.WaitForInformation(l => l == "agent: sleeping 600", TimeSpan.FromSeconds(30));
                running.Stop();
            }

            if (i == warmup)
            {
                (memoryAfterWarmup, handlesAfterWarmup) = Footprint();
            }
        }

        var (memory, handles) = Footprint();
        Log($"{cycles} cycles in {watch.Elapsed.TotalSeconds:0} s; managed heap {memoryAfterWarmup / 1024} KB -> {memory / 1024} KB, " +
            $"open handles {handlesAfterWarmup} -> {handles} between cycle {warmup} and {cycles}");
        Assert.Empty(DockerCli.ManagedNames());
        Assert.Empty(Session.Invoke("Get-ClaudeContainer").ThrowIfFailed().Output);
        // One leaked object graph or socket per cycle would show as 180 of them.
        Assert.InRange(handles - handlesAfterWarmup, long.MinValue, 20);
        Assert.InRange(memory - memoryAfterWarmup, long.MinValue, 8L * 1024 * 1024);
    }

    [Fact]
    public void UnlabelledContainersNamedLikeOursSurviveEveryCmdlet()
    {
        var suffix = Guid.NewGuid().ToString("N")[..4];
        var lookalikes = new[]
        {
            CreateUnlabelled($"claude-1700000000000-{suffix}"),
            CreateUnlabelled($"my-claude-db-{suffix}"),
            CreateUnlabelled($"xclaudex-{suffix}", "io.claude-orchestrator.project=spoofed"),
        };

        var r = Session.Invoke(string.Join("; ",
            "$listed = @(Get-ClaudeContainer -All) + @(Get-ClaudeContainer -Orphaned) + @(Get-ClaudeContainer -All -Name '*claude*')",
            "Remove-ClaudeContainer -Confirm:$false",
            "Remove-ClaudeContainer -All -Confirm:$false",
            "Remove-ClaudeContainer -Orphaned -Confirm:$false",
            "Get-ClaudeContainer -All | Remove-ClaudeContainer -Confirm:$false",
            "$listed"));

        r.ThrowIfFailed();
        Assert.Empty(r.Output);
        Assert.All(lookalikes, name => Assert.True(DockerCli.Exists(name), name + " was touched"));
    }

    [Fact]
    public void ASecondLiveProcesssTaskSurvivesDefaultAndOrphanedRemoval()
    {
        using var other = HostProcess.Start(StartTask("sleep 600", "-Verbose"));
        var name = other.WaitForLine(l => l.StartsWith("VERBOSE: Creating container "), TimeSpan.FromSeconds(60)).Split(' ')[3];
        other.WaitForLine(l => l == "INFO: agent: sleeping 600", TimeSpan.FromSeconds(30));

        var r = Session.Invoke("Remove-ClaudeContainer -Confirm:$false; Remove-ClaudeContainer -Orphaned -Confirm:$false; @(Get-ClaudeContainer -Orphaned).Count");

        r.ThrowIfFailed();
        Assert.Equal(0, (int)r.Output.Single().BaseObject);
        Assert.True(DockerCli.Exists(name));
        Assert.Equal("running", DockerCli.Inspect(name, "{{.State.Status}}"));

        // The other session's own SIGTERM path still cleans up after it.
        other.Signal(HostProcess.SIGTERM);
        Assert.True(other.WaitForExit(TimeSpan.FromSeconds(10)));
        DockerCli.WaitGone(name, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void ApiKeyAppearsInNoLabelOutputStreamOrError()
    {
        const string secret = "sk-ant-api03-LEAKCHECK-7f3a9c2e1b";
        Environment.SetEnvironmentVariable("ANTHROPIC_API_KEY", secret);
        try
        {
            using var running = Session.Start(StartTask("sleep 600", "-Verbose -Debug -Environment @{ EXTRA_TOKEN = $env:ANTHROPIC_API_KEY }"));
            var name = WaitForSessionContainer(running, TimeSpan.FromSeconds(30));
            var inspected = DockerCli.Inspect(name, "{{json .Config.Labels}} {{.Name}} {{json .Config.Cmd}} {{json .Config.Entrypoint}}");
            running.Stop();
            var stopped = running.Wait();

            var failing = Session.Invoke(StartTask("fail 3", "-Verbose -Debug"));
            var listed = Session.Invoke("Get-ClaudeContainer -All -Verbose -Debug | ForEach-Object { $_.PSObject.Properties | ForEach-Object { \"$($_.Name)=$($_.Value)\" } }; " +
                "Remove-ClaudeContainer -All -Verbose -Debug -WhatIf");

            Assert.Contains("io.claude-orchestrator.managed", inspected);
            Assert.NotEmpty(failing.Errors);
            Assert.NotEmpty(failing.Verbose);
            foreach (var text in new[] { inspected, stopped.AllText, failing.AllText, listed.AllText })
            {
                Assert.DoesNotContain(secret, text);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("ANTHROPIC_API_KEY", null);
        }
    }

    private static (long Memory, long Handles) Footprint()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return (GC.GetTotalMemory(forceFullCollection: true), Directory.GetFiles("/proc/self/fd").Length);
    }

    private static void WaitUntil(Func<bool> condition, TimeSpan limit, Func<string> describe = null)
    {
        if (!Eventually.Last(condition, met => met, limit))
        {
            throw new TimeoutException("condition not met within " + limit + ": " + describe?.Invoke());
        }
    }
}
