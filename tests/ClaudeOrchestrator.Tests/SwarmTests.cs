using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Backends.Swarm;
using ClaudeOrchestrator.Engine.Records;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// Tasks as one-off services on a real swarm: a manager and two workers, each a dockerd in a
/// network namespace of its own, joined over a bridge; the test image loaded on every node. The
/// workspace travels in configs and comes back from the service's log; every path out removes
/// the service, its container on whichever node, and its configs.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
[Trait(Needs.Trait, Needs.Swarm)]
[Trait(Needs.Trait, Needs.RealAgent)]
public sealed class SwarmTests : TaskTestBase, IClassFixture<SwarmTests.Swarm>
{
    private readonly Swarm _swarm;

    public SwarmTests(DockerFixture docker, Swarm swarm, ITestOutputHelper output) : base(docker, output)
    {
        _swarm = swarm;
        CommitProject(("README.md", "hello\n"), ("doomed.txt", "delete me\n"));
    }

    /// <summary>The swarm, with the stand-in's image and the real Claude Code CLI's on every node.</summary>
    public sealed class Swarm : IDisposable
    {
        public const string RealAgentImage = "claude-orchestrator-realagent:swarm";

        /// <summary>The stand-in's image without gzip, and without base64 (as a minimal image may be).</summary>
        public const string NoGzipImage = "claude-orchestrator-test:no-gzip";
        public const string NoBase64Image = "claude-orchestrator-test:no-base64";

        /// <summary>The stand-in's image with broken transports, picked by PATH (see <see cref="TestImage.BuildTransportFaults"/>).</summary>
        public const string FaultsImage = "claude-orchestrator-test:transport-faults";

        public Swarm()
        {
            Cluster = new SwarmCluster(workers: 2);
            try
            {
                Cluster.Load(DockerFixture.Image);
                TestImage.BuildRealAgent(RealAgentImage, ClaudeCodeCli.Locate());
                Cluster.Load(RealAgentImage);
                TestImage.BuildWithout(NoGzipImage, "gzip");
                TestImage.BuildWithout(NoBase64Image, "base64");
                TestImage.BuildTransportFaults(FaultsImage);
                foreach (var image in new[] { NoGzipImage, NoBase64Image, FaultsImage })
                {
                    Cluster.Load(image);
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public SwarmCluster Cluster { get; }

        public void Dispose()
        {
            Cluster.Dispose();
            foreach (var image in new[] { RealAgentImage, NoGzipImage, NoBase64Image, FaultsImage })
            {
                DockerCli.Run("rmi", image);
            }
        }
    }

    private SwarmCluster Cluster => _swarm.Cluster;

    private string Git(params string[] args) => ProjectGit(args);

    private string OnSwarm(string description, string extra = "") => StartTask(description, $"-Swarm -Network bridge -Engine {Cluster.Endpoint} {extra}");

    /// <summary>Services, configs and their containers on every node that answers, waiting a little for the nodes' engines to finish removing.</summary>
    private void AssertNothingLeftOnTheSwarm()
    {
        Assert.Empty(Cluster.Services(Project.FullName));
        Assert.Empty(Cluster.Configs(Project.FullName));
        Assert.Empty(Eventually.Last(() => Cluster.TaskContainers(), left => left.Count == 0, TimeSpan.FromSeconds(45), TimeSpan.FromMilliseconds(200)));
    }

    private ClaudeTask TaskOf(string projectPath = null) =>
        (ClaudeTask)Session.Invoke($"Get-ClaudeTask | Where-Object Path -eq '{projectPath ?? Project.FullName}'").ThrowIfFailed().Output.Single().BaseObject;

    [Fact]
    public void TasksSpreadAcrossTheNodesAsServicesAndTheirWorkComesBackIntoTheirBranches()
    {
        var path = Project.FullName.Replace("'", "''");
        using var running = Session.Start(
            $"'{path}','{path}','{path}' | Start-ClaudeTask -Description 'write-then-sleep spread.txt from-the-swarm 8' -Image {Image} -Swarm -Network bridge -Engine {Cluster.Endpoint} " +
            "-ThrottleLimit 3 -Environment @{ ANTHROPIC_API_KEY = 'sk-ant-swarm-secret' }");

        // While they run: three services, each with its node, found by Get-ClaudeContainer -All.
        using var other = new PsSession();
        var services = Eventually.Last(
            () => other.Invoke($"Get-ClaudeContainer -All -Engine {Cluster.Endpoint}").ThrowIfFailed().Output
                .Select(o => (ClaudeContainer)o.BaseObject).Where(c => c.Kind == "service" && c.ProjectPath == Project.FullName).ToList(),
            listed => listed.Count == 3 && listed.All(s => s.State == "running" && s.Node != null),
            TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(250));

        Log("services: " + string.Join("; ", services.Select(s => $"{s.Name} {s.State} on {s.Node}")));
        Assert.Equal(3, services.Count);
        Assert.All(services, s => Assert.Equal("running", s.State));
        Assert.All(services, s => Assert.StartsWith("coe-node", s.Node));
        Assert.Contains(services, c => c.Kind == "service");

        // The service as the engine has it: one replica, no restart, the sandbox, the labels, no secret in them.
        var inspect = Cluster.Manager.Cli("service", "inspect", services[0].Id, "--format",
            "{{json .Spec.Mode}}|{{.Spec.TaskTemplate.RestartPolicy.Condition}}|{{.Spec.TaskTemplate.ContainerSpec.ReadOnly}}|" +
            "{{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}}|{{.Spec.TaskTemplate.Resources.Limits.NanoCPUs}}|{{.Spec.TaskTemplate.Resources.Limits.Pids}}|" +
            "{{.Spec.TaskTemplate.Resources.Reservations.MemoryBytes}}|{{json .Spec.TaskTemplate.ContainerSpec.CapabilityDrop}}|{{.Spec.TaskTemplate.ContainerSpec.StopGracePeriod}}|" +
            "{{range .Spec.TaskTemplate.ContainerSpec.Mounts}}{{.Type}}:{{.Target}} {{end}}").EnsureSuccess().Stdout.Trim();
        Log("service spec: " + inspect);
        var fields = inspect.Split('|');
        Assert.Equal("{\"Replicated\":{\"Replicas\":1}}", fields[0]);
        Assert.Equal("none", fields[1]);
        Assert.Equal("true", fields[2]);
        Assert.Equal((4L << 30).ToString(), fields[3]);
        Assert.Equal("2000000000", fields[4]);
        Assert.Equal("512", fields[5]);
        Assert.Equal((1L << 30).ToString(), fields[6]);
        Assert.Equal("[\"ALL\"]", fields[7]);
        Assert.Equal("30s", fields[8]);
        Assert.Contains("tmpfs:/workspace", fields[9]);
        Assert.DoesNotContain("bind", fields[9]);
        var labels = Cluster.Manager.Cli("service", "inspect", services[0].Id, "--format", "{{json .Spec.Labels}}{{json .Spec.TaskTemplate.ContainerSpec.Labels}}").EnsureSuccess().Stdout;
        Assert.Contains("io.claude-orchestrator.managed", labels);
        Assert.DoesNotContain("sk-ant-swarm-secret", labels);

        var results = running.Wait().ThrowIfFailed().Output.Select(o => (ClaudeTaskResult)o.BaseObject).ToList();
        Assert.Equal(3, results.Count);
        foreach (var result in results)
        {
            Assert.True(result.Status == ClaudeTaskStatus.Succeeded, result.Reason + "\n" + result.Output + result.ErrorOutput);
            Assert.Equal(WorkspaceTransfer.Copy, result.Workspace);
            Assert.StartsWith("coe-node", result.Node);
            Assert.Contains("agent: wrote spread.txt, sleeping", result.Output);
            Assert.DoesNotContain("claude-orchestrator-result", result.Output);
            Assert.Equal("from-the-swarm", Git("show", result.Branch + ":spread.txt"));
        }

        Log("nodes: " + string.Join(", ", results.Select(r => r.Node)));
        Assert.True(results.Select(r => r.Node).Distinct().Count() >= 2, "the scheduler spread the tasks over more than one node");
        Assert.False(File.Exists(Path.Combine(Project.FullName, "spread.txt")), "the user's tree is untouched");
        AssertNothingLeftOnTheSwarm();
    }

    [Fact]
    public void AnAgentsCommitsDeletionsAndFailureComeBackWithItsExitCode()
    {
        var ok = Session.Invoke(OnSwarm("several doomed.txt")).Single<ClaudeTaskResult>();
        Assert.True(ok.Status == ClaudeTaskStatus.Succeeded, ok.Reason + "\n" + ok.Output + ok.ErrorOutput);
        Assert.Contains("agent: several done, 2 commit(s) visible", ok.Output);
        Assert.Equal("committed", Git("show", ok.Branch + ":committed.txt"));
        Assert.Equal("loose", Git("show", ok.Branch + ":loose.txt"));
        Assert.DoesNotContain("doomed.txt", Git("ls-tree", "-r", "--name-only", ok.Branch));
        Assert.Contains("100755 blob", Git("ls-tree", ok.Branch, "tool.sh"));

        var failed = Session.Invoke(OnSwarm("write-then-fail partial.txt half-done")).Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Failed, failed.Status);
        Assert.Equal(3, failed.ExitCode);
        Assert.Contains("exited with code 3", failed.Reason);
        Assert.Equal("half-done", Git("show", failed.Branch + ":partial.txt"));
        AssertNothingLeftOnTheSwarm();
    }

    [Fact]
    public void CtrlCAndATimeoutRemoveTheServiceAndTheWorkUpToThenComesBack()
    {
        using (var running = Session.Start(OnSwarm("write-then-sleep left.txt before-ctrl-c 600")))
        {
            running.WaitForInformation(l => l == "agent: wrote left.txt, sleeping", TimeSpan.FromSeconds(90));
            var service = Assert.Single(Cluster.Services(Project.FullName));
            // Two heartbeats later: the label updates left the running task alone (one task, its first).
            string Beat() => Cluster.Manager.Cli("service", "inspect", service, "--format", "{{index .Spec.Labels \"io.claude-orchestrator.heartbeat\"}}").EnsureSuccess().Stdout.Trim();
            var before = long.Parse(Beat());
            var after = Eventually.Last(() => long.Parse(Beat()), beat => beat >= before + 10, SwarmServices.HeartbeatInterval * 3, TimeSpan.FromMilliseconds(500));
            Assert.True(after >= before + 10, $"heartbeat {before} -> {after}");
            Assert.Single(Cluster.Manager.Cli("service", "ps", "-q", service).EnsureSuccess().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal(1, running.InformationText.Count(l => l == "agent: wrote left.txt, sleeping"));
            running.Stop();
            running.Wait();
        }

        var cancelled = TaskOf();
        Assert.Equal(ClaudeTaskStatus.Cancelled, cancelled.Status);
        Assert.Equal("before-ctrl-c", Git("show", cancelled.Branch + ":left.txt"));
        AssertNothingLeftOnTheSwarm();

        var timedOut = Session.Invoke(OnSwarm("write-then-sleep late.txt before-timeout 600", "-Timeout 8s")).Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.TimedOut, timedOut.Status);
        Assert.Equal("before-timeout", Git("show", timedOut.Branch + ":late.txt"));
        AssertNothingLeftOnTheSwarm();
    }

    [Fact]
    public void SigtermFlushesTheServiceAndTheWorkIsSavedBeforeTheProcessExits()
    {
        using (var host = HostProcess.StartWhenWritten($"-Path '{Project.FullName}' -Description 'write-then-sleep left.txt before-sigterm 600' -Image {Image} -Swarm -Network bridge -Engine {Cluster.Endpoint}", "left.txt"))
        {
            host.Signal(HostProcess.SIGTERM);
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(60)), host.Transcript);
        }

        // Gone by the time the process was: the service, its configs; the work in the branch.
        Assert.Empty(Cluster.Services(Project.FullName));
        Assert.Empty(Cluster.Configs(Project.FullName));
        var task = TaskOf();
        Assert.Equal("before-sigterm", Git("show", task.Branch + ":left.txt"));
        Assert.Null(task.CheckoutPath);
        AssertNothingLeftOnTheSwarm();
    }

    [Fact]
    public void AServiceOfASessionKilledOnAnotherMachineIsSweptOnceItsHeartbeatIsStale()
    {
        using (var host = HostProcess.StartWhenWritten($"-Path '{Project.FullName}' -Description 'write-then-sleep left.txt x 600' -Image {Image} -Swarm -Network bridge -Engine {Cluster.Endpoint}", "left.txt", hostName: "elsewhere-" + Guid.NewGuid().ToString("N")[..6]))
        {
            host.Signal(HostProcess.SIGKILL);
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        var killedAt = DateTime.UtcNow;
        var service = Assert.Single(Cluster.Services(Project.FullName));
        var listed = Session.Invoke($"Get-ClaudeContainer -All -Engine {Cluster.Endpoint}").ThrowIfFailed().Output
            .Select(o => (ClaudeContainer)o.BaseObject).Where(c => c.ProjectPath == Project.FullName).ToList();
        Assert.Contains(listed, c => c.Kind == "service" && c.OwnerHost.StartsWith("elsewhere-") && c.State == "running");
        Assert.Contains(listed, c => c.Kind == "config");

        // Another host's pid proves nothing here: only a stale heartbeat makes it an orphan.
        Assert.Empty(Session.Invoke($"Get-ClaudeContainer -Orphaned -Engine {Cluster.Endpoint}").ThrowIfFailed().Output
            .Select(o => (ClaudeContainer)o.BaseObject).Where(c => c.ProjectPath == Project.FullName));
        var orphans = Eventually.Last(
            () => Session.Invoke($"Get-ClaudeContainer -Orphaned -Engine {Cluster.Endpoint}").ThrowIfFailed().Output
                .Select(o => (ClaudeContainer)o.BaseObject).Where(c => c.ProjectPath == Project.FullName).ToList(),
            listed => listed.Any(o => o.Kind == "service") && listed.Any(o => o.Kind == "config"),
            TimeSpan.FromSeconds(90) - (DateTime.UtcNow - killedAt), TimeSpan.FromSeconds(1));

        Log($"an orphan {(DateTime.UtcNow - killedAt).TotalSeconds:0.0} s after the kill: " + string.Join(", ", orphans.Select(o => o.Kind + " " + o.Name)));
        Assert.Contains(orphans, o => o.Kind == "service" && o.Id.StartsWith(service));

        // The configs are orphans with their service, and go after it in the same sweep.
        Assert.Contains(orphans, o => o.Kind == "config");
        var sweep = Session.Invoke($"Remove-ClaudeContainer -Orphaned -Engine {Cluster.Endpoint} -Confirm:$false");
        Assert.Empty(sweep.Errors);
        Assert.Empty(Cluster.Services(Project.FullName));
        Assert.Empty(Cluster.Configs(Project.FullName));

        AssertNothingLeftOnTheSwarm();
    }

    /// <summary>Also for an agent that ignores SIGTERM: the sweep's removal of the service kills it after its grace, and its work still comes back.</summary>
    [Theory]
    [InlineData("write-then-sleep left.txt survived-sigkill 600", "survived-sigkill")]
    [InlineData("write-then-ignore-term left.txt stubborn-after-sigkill", "stubborn-after-sigkill")]
    public void AfterSigkillTheSweepOnThisMachineRemovesTheServiceAndSavesItsWorkIntoTheBranch(string agent, string written)
    {
        using (var host = HostProcess.StartWhenWritten($"-Path '{Project.FullName}' -Description '{agent}' -Image {Image} -Swarm -Network bridge -Engine {Cluster.Endpoint}", "left.txt"))
        {
            host.Signal(HostProcess.SIGKILL);
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        // Nothing on a swarm ends a service by itself: it runs on, and its owner here is provably dead.
        Assert.Single(Cluster.Services(Project.FullName));
        var task = TaskOf();
        Assert.Equal(ClaudeTaskStatus.Interrupted, task.Status);
        Assert.False(File.Exists(Path.Combine(task.CheckoutPath, "left.txt")), "the checkout here never had the agent's file");
        var orphans = Session.Invoke($"Get-ClaudeContainer -Orphaned -Engine {Cluster.Endpoint}").ThrowIfFailed().Output
            .Select(o => (ClaudeContainer)o.BaseObject).Where(c => c.TaskId == task.TaskId).ToList();
        Assert.Contains(orphans, o => o.Kind == "service" && o.State == "running" && o.Status.StartsWith("service task running on coe-node"));

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var sweep = Session.Invoke($"Remove-ClaudeContainer -Orphaned -Engine {Cluster.Endpoint} -Confirm:$false");
        Log($"sweep: {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.Empty(sweep.Errors);
        var salvaged = (ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {task.TaskId}").ThrowIfFailed().Output.Single().BaseObject;
        Assert.Equal(ClaudeTaskWork.Salvaged, salvaged.Work);
        Assert.Equal(written, Git("show", salvaged.Branch + ":left.txt"));
        Assert.Null(salvaged.CheckoutPath);
        AssertNothingLeftOnTheSwarm();
    }

    [Fact]
    public void ANodeStoppedMidTaskEndsTheTaskWithItsReasonAndNothingIsLeftOnceItReturns()
    {
        var profiles = Directory.CreateTempSubdirectory("co-profiles-");
        File.WriteAllText(Path.Combine(profiles.FullName, "onworker.yaml"),
            $"name: onworker\nlocal_path: {Project.FullName}\ndocker:\n  engine: {Cluster.Endpoint}\n  swarm: true\n  network_mode: bridge\n  placement:\n    - node.role==worker\n  image: {Image}\n");
        SwarmCluster.Node stopped = null;
        try
        {
            using var running = Session.Start($"$env:CLAUDE_PROJECTS_DIR = '{profiles.FullName}'; Start-ClaudeTask -Project onworker 'write-then-sleep lost.txt never-back 600'");
            running.WaitForInformation(l => l == "agent: wrote lost.txt, sleeping", TimeSpan.FromSeconds(90));
            using var other = new PsSession();
            var service = other.Invoke($"Get-ClaudeContainer -All -Engine {Cluster.Endpoint}").ThrowIfFailed().Output
                .Select(o => (ClaudeContainer)o.BaseObject).Single(c => c.Kind == "service" && c.ProjectPath == Project.FullName);
            stopped = Cluster.Nodes.Single(n => n.Name == service.Node);
            Assert.NotSame(Cluster.Manager, stopped);
            Log("stopping " + stopped.Name);
            stopped.Stop();

            var result = running.Wait().Single<ClaudeTaskResult>();
            Log(result.Status + ": " + result.Reason);
            Assert.Equal(ClaudeTaskStatus.Failed, result.Status);
            Assert.Contains($"The node {stopped.Name} running the task went away", result.Reason);
            Assert.Empty(Cluster.Services(Project.FullName));
            Assert.Empty(Cluster.Configs(Project.FullName));
        }
        finally
        {
            Session.Invoke("$env:CLAUDE_PROJECTS_DIR = $null");
            profiles.Delete(true);
            if (stopped != null && !stopped.Running)
            {
                stopped.Start();
            }
        }

        // Back in the swarm, the node's engine removes the container of the task it no longer has.
        AssertNothingLeftOnTheSwarm();
    }

    [Fact]
    public void TheRealCliOnTheSwarmReportsItsCostAndItsSessionComesBackForResume()
    {
        const string key = "sk-ant-swarm-real-0123456789";
        var env = "-Environment @{ CLAUDE_CODE_MAX_RETRIES = '0' }";
        var r = Session.Invoke($"$env:ANTHROPIC_API_KEY = '{key}'; try {{ Start-ClaudeTask -Path '{Project.FullName}' -Description 'write notes.txt from a swarm node' " +
                               $"-Image {Swarm.RealAgentImage} -Swarm -Network bridge -Engine {Cluster.Endpoint} {env} }} finally {{ $env:ANTHROPIC_API_KEY = $null }}");
        var first = r.Single<ClaudeTaskResult>();
        Assert.True(first.Status == ClaudeTaskStatus.Succeeded, first.Reason + "\n" + first.Output + first.ErrorOutput);
        Assert.StartsWith("coe-node", first.Node);
        Assert.Equal("from a swarm node", Git("show", first.Branch + ":notes.txt"));
        // The CLI's own report, read from the service's log as it streamed.
        Assert.Matches("^[0-9a-f-]{36}$", first.SessionId);
        Assert.Equal(2, first.Turns);
        Assert.True(first.CostUsd > 0);
        Assert.Equal(85, first.OutputTokens);
        Assert.Contains("-> Write notes.txt", r.InformationText);
        Assert.DoesNotContain(r.InformationText, l => l.StartsWith("{\"") || l.StartsWith("claude-orchestrator-result"));
        Assert.DoesNotContain(key, File.ReadAllText(first.TranscriptPath));
        Assert.DoesNotContain(key, r.AllText);

        // Its session came back with the work: a resumed task on the swarm continues it, on the same branch.
        var resumed = Session.Invoke($"$env:ANTHROPIC_API_KEY = '{key}'; try {{ Start-ClaudeTask -Resume {first.TaskId} 'how many messages so far' " +
                                     $"-Swarm -Network bridge -Engine {Cluster.Endpoint} {env} }} finally {{ $env:ANTHROPIC_API_KEY = $null }}").Single<ClaudeTaskResult>();
        Assert.True(resumed.Status == ClaudeTaskStatus.Succeeded, resumed.Reason + resumed.Output + resumed.ErrorOutput);
        Assert.Equal(first.SessionId, resumed.SessionId);
        Assert.Equal(first.Branch, resumed.Branch);
        var seen = int.Parse(System.Text.RegularExpressions.Regex.Match(resumed.ResultText, @"seen (\d+) messages").Groups[1].Value);
        Assert.True(seen >= 5, resumed.ResultText);
        AssertNothingLeftOnTheSwarm();
    }

    /// <summary>
    /// A transport that fails on the way in or on the way back: never Succeeded, never a
    /// deletion saved (the branch stays at its base, with the project's files), a reason that
    /// says what failed and what to do, and nothing left on the swarm.
    /// </summary>
    [Theory]
    [InlineData(Swarm.NoGzipImage, null, "lacks gzip on its PATH", false)]
    [InlineData(Swarm.NoBase64Image, null, "lacks base64 on its PATH", false)]
    [InlineData(Swarm.FaultsImage, "/opt/tar-stops-in", "did not arrive whole", false)]
    [InlineData(Swarm.FaultsImage, "/opt/tar-stops-out", "did not come back from the swarm service", true)]
    [InlineData(Swarm.FaultsImage, "/opt/log-cut", "was printed whole", true)]
    [InlineData(Swarm.FaultsImage, "/opt/log-damaged", "came back damaged", true)]
    public void ATransportThatFailsIsNeverASuccessAndNeverSavesDeletions(string image, string path, string why, bool agentRan)
    {
        var env = path == null ? string.Empty : $"-Environment @{{ PATH = '{path}:/usr/local/bin' }}";
        var base_ = Git("rev-parse", "HEAD");
        var r = Session.Invoke($"Start-ClaudeTask -Path '{Project.FullName}' -Description 'several doomed.txt' -Image {image} -Swarm -Network bridge -Engine {Cluster.Endpoint} {env}");
        var result = r.Single<ClaudeTaskResult>();
        Log($"{result.Status} {result.Work}: {result.Reason}\n{result.Output}{result.ErrorOutput}");
        Assert.NotEqual(ClaudeTaskStatus.Succeeded, result.Status);
        Assert.Contains(why, result.Reason);
        Assert.StartsWith("ClaudeTaskFailed", r.FirstError.FullyQualifiedErrorId);
        var record = TaskOf();
        if (agentRan)
        {
            // The agent committed, wrote, deleted doomed.txt: none of it came back, and none of it is read as deletions.
            Assert.Equal(ClaudeTaskWork.Lost, result.Work);
            Assert.Equal(ClaudeTaskWork.Lost, record.Work);
            Assert.Contains("lived only in the service and is lost", record.WorkError);
            Assert.Equal(base_, Git("rev-parse", result.Branch));
        }
        else
        {
            Assert.Contains("the agent did not run", result.Reason);
            Assert.NotEqual(ClaudeTaskWork.Lost, result.Work);
            Assert.DoesNotContain("claude/", Git("branch", "--list"));
        }

        if (image != Swarm.FaultsImage)
        {
            Assert.Contains("run the task without -Swarm", result.Reason);
        }

        Assert.Null(record.CheckoutPath);
        Assert.Equal("delete me\n", File.ReadAllText(Path.Combine(Project.FullName, "doomed.txt")));
        Assert.False(Directory.Exists(Path.Combine(TaskStore.DirectoryFor(record.TaskId), ReturnedParts.DirectoryName)));
        AssertNothingLeftOnTheSwarm();
    }

    [Fact]
    public void TestClaudeEngineOnAManagerSaysWhatAnImageLacksForTheSwarmTransport()
    {
        var lacking = Session.Invoke($"Test-ClaudeEngine -Engine {Cluster.Endpoint} -Image {Swarm.NoGzipImage}").Output.Select(o => (ClaudeEngineCheck)o.BaseObject).ToList();
        var check = Assert.Single(lacking, c => c.Check == "Swarm transport");
        Assert.Equal(ClaudeEngineCheckStatus.Fail, check.Status);
        Assert.Contains("lacks gzip", check.Detail);
        Assert.Contains("without -Swarm", check.Fix);

        var fine = Session.Invoke($"Test-ClaudeEngine -Engine {Cluster.Endpoint} -Image {Image}").Output.Select(o => (ClaudeEngineCheck)o.BaseObject).ToList();
        Assert.Equal(ClaudeEngineCheckStatus.Pass, Assert.Single(fine, c => c.Check == "Swarm transport").Status);

        // An engine that is no manager does not need it, and is not told about it.
        var plain = Session.Invoke($"Test-ClaudeEngine -Image {Image}").Output.Select(o => (ClaudeEngineCheck)o.BaseObject).ToList();
        Assert.DoesNotContain(plain, c => c.Check == "Swarm transport");
    }

    [Fact]
    public void AnAgentThatIgnoresSigtermIsStoppedAndItsWorkStillComesBack()
    {
        var timedOut = Session.Invoke(OnSwarm("write-then-ignore-term stubborn.txt before-timeout", "-Timeout 8s")).Single<ClaudeTaskResult>();
        Log($"{timedOut.Status} {timedOut.Work} {timedOut.Duration}: {timedOut.Reason}");
        Assert.Equal(ClaudeTaskStatus.TimedOut, timedOut.Status);
        Assert.Equal(ClaudeTaskWork.ModuleCommit, timedOut.Work);
        Assert.Equal("before-timeout", Git("show", timedOut.Branch + ":stubborn.txt"));
        AssertNothingLeftOnTheSwarm();

        using (var running = Session.Start(OnSwarm("write-then-ignore-term stubborn2.txt before-ctrl-c")))
        {
            running.WaitForInformation(l => l == "agent: wrote stubborn2.txt, ignoring SIGTERM", TimeSpan.FromSeconds(90));
            running.Stop();
            running.Wait();
        }

        var cancelled = (ClaudeTask)Session.Invoke("Get-ClaudeTask | Where-Object Summary -like '*stubborn2.txt*'").ThrowIfFailed().Output.Single().BaseObject;
        Assert.Equal(ClaudeTaskStatus.Cancelled, cancelled.Status);
        Assert.Equal("before-ctrl-c", Git("show", cancelled.Branch + ":stubborn2.txt"));
        AssertNothingLeftOnTheSwarm();
    }

    /// <summary>
    /// A manager that fails GET /services (as one does after a swarm leave that timed out) while
    /// its containers are fine: every command still serves the containers, says what it could
    /// not list as its own error, and fails ($? false).
    /// </summary>
    [Fact]
    public void AManagerThatCannotListItsServicesStillHasItsContainersListedAndRemoved()
    {
        using var proxy = new HoldingProxy(@"^GET /[^ ]*services[? ]", Cluster.Endpoint);
        proxy.FailEveryMatch(500, "rpc error: code = Canceled desc = grpc: the client connection is closing");
        var engine = proxy.Host;
        // Labelled containers of a session that is gone (a pid that no longer runs), running and created.
        var dead = HostProcess.DeadPid();
        var names = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var name = $"claude-broken-list-{Guid.NewGuid().ToString("N")[..8]}";
            Cluster.Manager.Cli(i < 4 ? "run" : "create", i < 4 ? "-d" : "--rm", "--name", name,
                "--label", "io.claude-orchestrator.managed=true", "--label", "io.claude-orchestrator.session-id=gone-" + i,
                "--label", "io.claude-orchestrator.owner-pid=" + dead, "--label", "io.claude-orchestrator.owner-host=" + Environment.MachineName,
                "--label", "io.claude-orchestrator.project-path=" + Project.FullName, Image, "sleep", "600").EnsureSuccess();
            names.Add(name);
        }

        var running = names.Take(4).ToList();
        var created = names.Skip(4).ToList();
        var listed = Session.Invoke($"Get-ClaudeContainer -All -Engine {engine}; $?");
        Assert.False((bool)listed.Output.Last().BaseObject);
        Assert.Equal(running.OrderBy(n => n), listed.Output.Select(o => o.BaseObject).OfType<ClaudeContainer>().Select(c => c.Name).Where(running.Contains).OrderBy(n => n));
        var error = Assert.Single(listed.Errors);
        Assert.StartsWith("EngineListIncomplete,", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.ReadError, error.CategoryInfo.Category);
        Assert.Contains("could not list the swarm's services", error.ToString());
        Assert.Contains("client connection is closing", error.ToString());

        var orphans = Session.Invoke($"Get-ClaudeContainer -Orphaned -Engine {engine}");
        Assert.Equal(4, orphans.Output.Count(o => running.Contains(((ClaudeContainer)o.BaseObject).Name)));
        Assert.StartsWith("EngineListIncomplete,", Assert.Single(orphans.Errors).FullyQualifiedErrorId);

        // The sweep that the first contact started removes the created orphans all the same.
        Eventually.True(() => !Cluster.Manager.Cli("ps", "-a", "--format", "{{.Names}}").Stdout.Split('\n').Any(created.Contains),
            TimeSpan.FromSeconds(30), "the background sweep removes the created orphans");

        var removed = Session.Invoke($"Remove-ClaudeContainer -All -Engine {engine} -Force -Confirm:$false; $?");
        Assert.False((bool)removed.Output.Last().BaseObject);
        Assert.StartsWith("EngineListIncomplete,", Assert.Single(removed.Errors).FullyQualifiedErrorId);
        var left = Cluster.Manager.Cli("ps", "-a", "--format", "{{.Names}}").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Empty(left.Where(names.Contains));
        Assert.True(proxy.Failures >= 3, "the services were asked for and refused each time");
    }

    [Fact]
    public void SwarmOnAnEngineThatIsNoManagerIsRefusedBeforeAnythingExists()
    {
        var r = Session.Invoke(StartTask("succeed", "-Swarm"));
        Assert.StartsWith("SwarmUnavailable,", r.FirstError.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidOperation, r.FirstError.CategoryInfo.Category);
        Assert.Contains("is not a swarm manager", r.FirstError.ToString());

        var mount = Session.Invoke(OnSwarm("succeed", "-Workspace Mount"));
        Assert.StartsWith("SwarmUnavailable,", mount.FirstError.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, mount.FirstError.CategoryInfo.Category);

        // The egress gateway serves one engine: without -Network a swarm task is refused, and told how to opt out.
        var open = Session.Invoke(StartTask("succeed", $"-Swarm -Engine {Cluster.Endpoint}"));
        Assert.StartsWith("SwarmEgressUnavailable,", open.FirstError.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.SecurityError, open.FirstError.CategoryInfo.Category);
        Assert.Contains("-Network with an overlay network (or bridge)", open.FirstError.ToString());
        Assert.Contains("open egress", open.FirstError.ToString());

        // Offline is no way out either: a service without a network would join its node's bridge.
        var offline = Session.Invoke(StartTask("succeed", $"-Swarm -Network none -Engine {Cluster.Endpoint}"));
        Assert.StartsWith("SwarmEgressUnavailable,", offline.FirstError.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, offline.FirstError.CategoryInfo.Category);
        Assert.Contains("-Network none cannot be used with -Swarm", offline.FirstError.ToString());

        // Nothing was made: no branch, no service, no task left running.
        Assert.DoesNotContain("claude/", Git("branch", "--list"));
        Assert.Empty(Cluster.Services(Project.FullName));
    }
}
