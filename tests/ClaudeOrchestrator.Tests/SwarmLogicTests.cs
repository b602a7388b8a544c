using System.IO.Compression;
using System.Text;
using ClaudeOrchestrator.Engine;
using Xunit;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// The pure logic of tasks on a swarm: reading the result out of a service's log lines, the
/// swarm task states as container states, which objects a sweep may take, and the service spec
/// built from the container's create body. The shell side of the result is GNU tar, gzip and
/// base64 here, as in any image.
/// </summary>
public sealed class SwarmLogicTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("co-swarm-logic-");

    public void Dispose() => _scratch.Delete(recursive: true);

    /// <summary>What the service script prints for one directory: tar -czf - -C parent name | base64.</summary>
    private string[] Printed(string parent, string name)
    {
        var r = Testing.DockerCli.Exec("sh", "-c", $"tar -czf - -C '{parent}' '{name}' | base64");
        Assert.Equal(0, r.ExitCode);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void TheResultIsTakenOutOfTheLogAndTheAgentsLinesAreLeft()
    {
        var tree = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "workspace"));
        File.WriteAllText(Path.Combine(tree.FullName, "made.txt"), new string('x', 200_000));
        var lines = new List<string> { "agent says hello", "claude-orchestrator-result other-nonce begin" };
        lines.Add("claude-orchestrator-result n1 begin");
        lines.Add("claude-orchestrator-result n1 part /workspace");
        lines.AddRange(Printed(_scratch.FullName, "workspace"));
        lines.Add("claude-orchestrator-result n1 failed /home/agent/.claude");
        lines.Add("claude-orchestrator-result n1 end 7");
        lines.Add("a line after the end");

        using var result = new ServiceResult("n1");
        var left = lines.Where(l => !result.Take(l)).ToList();
        Assert.Equal(new[] { "agent says hello", "claude-orchestrator-result other-nonce begin", "a line after the end" }, left);
        Assert.True(result.Begun);
        Assert.True(result.Ended.IsCompleted);
        Assert.Equal(7, result.Ended.Result);

        using var archive = result.Open("/workspace");
        using var copy = new MemoryStream();
        archive.CopyTo(copy);
        copy.Position = 0;
        var staged = Path.Combine(_scratch.FullName, "staged");
        WorkspaceTree.Extract(new TarReader(copy), "workspace", staged);
        Assert.Equal(200_000, new FileInfo(Path.Combine(staged, "made.txt")).Length);
        Assert.Contains("could not pack /home/agent/.claude", Assert.Throws<InvalidDataException>(() => result.Open("/home/agent/.claude")).Message);
    }

    [Fact]
    public void AResultCutShortOrDamagedIsAnErrorNeverATree()
    {
        var tree = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "workspace"));
        File.WriteAllText(Path.Combine(tree.FullName, "a.txt"), "a");
        var printed = Printed(_scratch.FullName, "workspace");

        using (var cut = new ServiceResult("n"))
        {
            cut.Take("claude-orchestrator-result n begin");
            cut.Take("claude-orchestrator-result n part /workspace");
            cut.Take(printed[0]);
            Assert.False(cut.Ended.IsCompleted);
            Assert.Contains("ended before /workspace was printed whole", Assert.Throws<InvalidDataException>(() => cut.Open("/workspace")).Message);
        }

        using (var damaged = new ServiceResult("n"))
        {
            damaged.Take("claude-orchestrator-result n begin");
            damaged.Take("claude-orchestrator-result n part /workspace");
            damaged.Take("this is not base64!");
            damaged.Take("claude-orchestrator-result n end 0");
            Assert.Contains("not base64", Assert.Throws<InvalidDataException>(() => damaged.Open("/workspace")).Message);
        }

        using (var never = new ServiceResult("n"))
        {
            // The agent printed a marker-like line of its own: without the nonce it is the agent's.
            Assert.False(never.Take("claude-orchestrator-result begin"));
            Assert.False(never.Begun);
        }
    }

    [Theory]
    [InlineData("running", "running")]
    [InlineData("complete", "exited")]
    [InlineData("failed", "exited")]
    [InlineData("shutdown", "exited")]
    [InlineData("orphaned", "exited")]
    [InlineData("pending", "created")]
    [InlineData("preparing", "created")]
    public void SwarmTaskStatesAreTheContainerStatesTheFiltersKnow(string task, string container) =>
        Assert.Equal(container, SwarmServices.ContainerState(task));

    [Fact]
    public void OnlyAStaleHeartbeatMakesAnotherMachinesServiceAnOrphanAndItsConfigsGoWithIt()
    {
        ClaudeContainer Service(DateTime? beat) => new()
        {
            Kind = ContainerKinds.Service, TaskId = "t1", SessionId = "someone-else", OwnerHost = "another-machine", OwnerPid = 1, Heartbeat = beat, Created = DateTime.Now,
        };
        var config = new ClaudeContainer { Kind = ContainerKinds.Config, TaskId = "t1", SessionId = "someone-else", OwnerHost = "another-machine", OwnerPid = 1, Created = DateTime.Now };

        var fresh = Service(DateTime.UtcNow.AddSeconds(-5));
        Assert.False(SwarmServices.IsOrphan(fresh, new[] { fresh, config }));
        Assert.False(SwarmServices.IsOrphan(config, new[] { fresh, config }));

        var stale = Service(DateTime.UtcNow - SwarmServices.HeartbeatStale - TimeSpan.FromSeconds(1));
        Assert.True(SwarmServices.IsOrphan(stale, new[] { stale, config }));
        Assert.True(SwarmServices.IsOrphan(config, new[] { stale, config }));

        // A config alone: leftover only once it is older than a heartbeat's staleness.
        Assert.False(SwarmServices.IsOrphan(config, new[] { config }));
        config.Created = DateTime.Now - SwarmServices.HeartbeatStale - TimeSpan.FromSeconds(1);
        Assert.True(SwarmServices.IsOrphan(config, new[] { config }));

        // This session's own are never orphans, however old the beat.
        stale.SessionId = SessionIdentity.SessionId;
        Assert.False(SwarmServices.IsOrphan(stale, new[] { stale }));
    }

    [Fact]
    public void TheServiceSpecCarriesTheSandboxTheLabelsAndNoSecret()
    {
        var project = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "project"));
        var spec = new Engine.TaskSpec
        {
            ProjectName = "p",
            ProjectPath = project.FullName,
            Description = "do it",
            Image = "img:1",
            AgentCommand = new List<string> { "claude", "--print" },
            Environment = new Dictionary<string, string> { ["ANTHROPIC_API_KEY"] = "sk-ant-never-in-labels" },
            Placement = new List<string> { "node.role==worker" },
        };
        var shipped = ShippedWorkspace.Plan(spec, null, null, null);
        var built = ServiceRunner.BuildSpec(spec, "claude-x", "nonce1", shipped, null, null, null, new List<Docker.DotNet.Models.SwarmConfigReference>());

        Assert.Equal(1UL, built.Mode.Replicated.Replicas);
        Assert.Equal("none", built.TaskTemplate.RestartPolicy.Condition);
        var container = built.TaskTemplate.ContainerSpec;
        Assert.True(container.ReadOnly);
        Assert.True(container.Init);
        Assert.Equal(new[] { "ALL" }, container.CapabilityDrop);
        Assert.Equal(Sandbox.KeptCapabilities, container.CapabilityAdd);
        Assert.Equal(ServiceRunner.StopGrace, container.StopGracePeriod);
        Assert.Contains(container.Mounts, m => m.Type == "tmpfs" && m.Target == "/workspace");
        Assert.Contains(container.Mounts, m => m.Type == "tmpfs" && m.Target == "/tmp" && m.TmpfsOptions.SizeBytes == 512L << 20);
        Assert.DoesNotContain(container.Mounts, m => m.Type == "bind");
        Assert.Equal(new[] { "node.role==worker" }, built.TaskTemplate.Placement.Constraints);
        Assert.Equal(built.TaskTemplate.Resources.Limits.MemoryBytes / 4, built.TaskTemplate.Resources.Reservations.MemoryBytes);
        Assert.Null(built.TaskTemplate.Networks);

        // The managed label is on the service, not on its container: a node's engine leaves that to the swarm.
        Assert.Equal("true", built.Labels["io.claude-orchestrator.managed"]);
        Assert.False(container.Labels.ContainsKey("io.claude-orchestrator.managed"));
        Assert.Equal("nonce1", built.Labels[ServiceSalvage.MarkLabel]);
        var everything = string.Join("\n", built.Labels.Values.Concat(container.Labels.Values).Concat(container.Args));
        Assert.DoesNotContain("sk-ant-never-in-labels", everything);
        Assert.Contains("ANTHROPIC_API_KEY=sk-ant-never-in-labels", container.Env);
        Assert.Equal("do it", container.Args.Last());
    }
}
