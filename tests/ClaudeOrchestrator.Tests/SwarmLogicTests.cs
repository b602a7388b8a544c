using System.IO.Compression;
using System.Text;
using Xunit;
using ClaudeOrchestrator.Engine.Backends.Swarm;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Sandboxing;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Tests.Infrastructure;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// The pure logic of tasks on a swarm: reading the result out of a service's log lines, the
/// swarm task states as container states, which objects a sweep may take, and the service spec
/// built from the container's create body. The shell side of the result is GNU tar, gzip and
/// base64 here, as in any image.
/// </summary>
[Trait(Needs.Trait, Needs.None)]
public sealed class SwarmLogicTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("co-swarm-logic-");

    public void Dispose() => _scratch.Delete(recursive: true);

    /// <summary>
    /// What the service script prints for one directory, with GNU tar, gzip, base64 and
    /// sha256sum: the part's lines between its marker and its checksum.
    /// </summary>
    private (string[] Lines, string Sum) Printed(string parent, string name)
    {
        var file = Path.Combine(_scratch.FullName, name + ".tgz");
        var r = Testing.DockerCli.Exec("sh", "-c", $"tar -czf '{file}' -C '{parent}' '{name}' && base64 '{file}' && sha256sum < '{file}'");
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        File.Delete(file);
        return (lines[..^1], lines[^1].Split(' ')[0]);
    }

    private string Parts => Path.Combine(_scratch.FullName, "parts");

    /// <summary>The received part extracted as the restore would extract it.</summary>
    private string Extracted(ServiceResult result, string target, string top)
    {
        var staged = Path.Combine(_scratch.FullName, "staged-" + Guid.NewGuid().ToString("N")[..6]);
        using var file = File.OpenRead(result.Received(target));
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        WorkspaceTree.Extract(new TarReader(gzip), top, staged);
        return staged;
    }

    [Fact]
    public void TheResultIsTakenOutOfTheLogAndTheAgentsLinesAreLeft()
    {
        var tree = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "workspace"));
        File.WriteAllText(Path.Combine(tree.FullName, "made.txt"), new string('x', 200_000));
        var (printed, sum) = Printed(_scratch.FullName, "workspace");
        var lines = new List<string> { "claude-orchestrator-result n1 start", "agent says hello", "claude-orchestrator-result other-nonce begin" };
        lines.Add("claude-orchestrator-result n1 begin");
        lines.Add("claude-orchestrator-result n1 part /workspace");
        lines.AddRange(printed);
        lines.Add("claude-orchestrator-result n1 sum /workspace " + sum);
        lines.Add("claude-orchestrator-result n1 failed /home/agent/.claude");
        lines.Add("claude-orchestrator-result n1 end 7");
        lines.Add("a line after the end");

        using var result = new ServiceResult("n1", Parts);
        var left = lines.Where(l => !result.Take(l)).ToList();
        Assert.Equal(new[] { "agent says hello", "claude-orchestrator-result other-nonce begin", "a line after the end" }, left);
        Assert.True(result.Started);
        Assert.True(result.Begun);
        Assert.True(result.Ended.IsCompleted);
        Assert.Equal(7, result.Ended.Result);

        // Kept beside the record as soon as its checksum matched: the only copy once the service is gone.
        Assert.Equal(new[] { "/workspace" }, Directory.GetFiles(Parts).Select(f => Uri.UnescapeDataString(Path.GetFileNameWithoutExtension(f))));
        var staged = Extracted(result, "/workspace", "workspace");
        Assert.Equal(200_000, new FileInfo(Path.Combine(staged, "made.txt")).Length);
        Assert.Contains("could not pack /home/agent/.claude", Assert.Throws<InvalidDataException>(() => result.Received("/home/agent/.claude")).Message);
    }

    [Fact]
    public void APartIsReceivedOnlyWhenItsChecksumMatchesAndNeverWhenCutDamagedOrMissing()
    {
        var tree = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "workspace"));
        File.WriteAllText(Path.Combine(tree.FullName, "a.txt"), new string('a', 100_000));
        File.WriteAllBytes(Path.Combine(tree.FullName, "noise.bin"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(50_000));
        var (printed, sum) = Printed(_scratch.FullName, "workspace");
        Assert.True(printed.Length > 3, "the part spans several lines");

        ServiceResult Read(IEnumerable<string> lines)
        {
            var result = new ServiceResult("n", Parts);
            foreach (var line in new[] { "claude-orchestrator-result n start", "claude-orchestrator-result n begin" }.Concat(lines))
            {
                result.Take(line);
            }

            return result;
        }

        string Why(ServiceResult result) => Assert.Throws<InvalidDataException>(() => result.Received("/workspace")).Message;
        var part = new[] { "claude-orchestrator-result n part /workspace" };
        var end = new[] { "claude-orchestrator-result n end 0" };

        // The log ends inside the part: no checksum line, so never received.
        using (var cut = Read(part.Concat(printed.Take(2))))
        {
            Assert.False(cut.Ended.IsCompleted);
            Assert.Contains("ended before /workspace was printed whole", Why(cut));
        }

        // Lines missing from the middle, then the checksum: the bytes do not match it.
        using (var gap = Read(part.Concat(printed.Take(1)).Concat(printed.Skip(2)).Append("claude-orchestrator-result n sum /workspace " + sum).Concat(end)))
        {
            Assert.Contains("came back damaged", Why(gap));
        }

        // Every line there, but the part ended without its checksum (the script's base64 or sha256sum failed).
        using (var unsummed = Read(part.Concat(printed).Concat(end)))
        {
            Assert.Contains("ended before /workspace was printed whole", Why(unsummed));
        }

        using (var notBase64 = Read(part.Append("this is not base64!").Append("claude-orchestrator-result n sum /workspace " + sum).Concat(end)))
        {
            Assert.Contains("not base64", Why(notBase64));
        }

        // Nothing received, nothing left behind: the cut parts' files are gone.
        Assert.Empty(Directory.GetFiles(Parts, "*.tgz"));
        Assert.Empty(Directory.GetFiles(Parts, "*.partial"));

        // The whole part, and its checksum: received.
        using (var whole = Read(part.Concat(printed).Append("claude-orchestrator-result n sum /workspace " + sum).Concat(end)))
        {
            Assert.Equal(100_000, new FileInfo(Path.Combine(Extracted(whole, "/workspace", "workspace"), "a.txt")).Length);
        }

        using (var never = new ServiceResult("n", Parts))
        {
            // The agent printed a marker-like line of its own: without the nonce it is the agent's.
            Assert.False(never.Take("claude-orchestrator-result begin"));
            Assert.False(never.Begun);
            Assert.Contains("printed no result", Assert.Throws<InvalidDataException>(() => never.Received("/workspace")).Message);
        }
    }

    [Fact]
    public void AnEmptyOrCutArchiveThatMatchesItsChecksumIsStillNeverATree()
    {
        // A tar that exits 0 having written nothing (busybox tar without its compressor) or
        // stopped early: the checksum is of what it wrote, so the archive itself must prove it is whole.
        foreach (var bytes in new[] { Array.Empty<byte>(), Gzip(Array.Empty<byte>()), Gzip(TarOf("workspace", 3)[..1024]), Gzip(TarOf("other", 1)) })
        {
            using var result = new ServiceResult("n", Parts);
            result.Take("claude-orchestrator-result n begin");
            result.Take("claude-orchestrator-result n part /workspace");
            if (bytes.Length > 0)
            {
                result.Take(Convert.ToBase64String(bytes));
            }

            result.Take("claude-orchestrator-result n sum /workspace " + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)).ToLowerInvariant());
            result.Take("claude-orchestrator-result n end 0");
            var staged = Path.Combine(_scratch.FullName, "staged-" + Guid.NewGuid().ToString("N")[..6]);
            Assert.ThrowsAny<InvalidDataException>(() =>
            {
                using var file = File.OpenRead(result.Received("/workspace"));
                using var gzip = new GZipStream(file, CompressionMode.Decompress);
                WorkspaceTree.Extract(new TarReader(gzip), "workspace", staged);
            });
        }
    }

    [Fact]
    public void TheServiceSaysWhatItLacksAndWhenTheWorkspaceDidNotArrive()
    {
        using var missing = new ServiceResult("n", Parts);
        Assert.True(missing.Take("claude-orchestrator-result n missing gzip base64"));
        Assert.Equal("gzip base64", missing.MissingTools);
        Assert.True(missing.TransportFailed.IsCompleted);
        Assert.False(missing.Started);

        using var notArrived = new ServiceResult("n", Parts);
        Assert.True(notArrived.Take("claude-orchestrator-result n not-arrived incomplete"));
        Assert.Equal("incomplete", notArrived.NotArrived);
        Assert.True(notArrived.TransportFailed.IsCompleted);
    }

    /// <summary>A tar of <paramref name="files"/> small files under <paramref name="top"/>, as GNU tar writes it.</summary>
    private byte[] TarOf(string top, int files)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_scratch.FullName, "src-" + Guid.NewGuid().ToString("N")[..6], top));
        for (var i = 0; i < files; i++)
        {
            File.WriteAllText(Path.Combine(dir.FullName, $"f{i}.txt"), new string('z', 700));
        }

        var file = Path.Combine(_scratch.FullName, "t.tar");
        Assert.Equal(0, Testing.DockerCli.Exec("tar", "-cf", file, "-C", dir.Parent!.FullName, top).ExitCode);
        return File.ReadAllBytes(file);
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
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
        var spec = new TaskPlan
        {
            ProjectName = "p",
            ProjectPath = project.FullName,
            Description = "do it",
            Image = "img:1",
            AgentCommand = new List<string> { "claude", "--print" },
            Environment = new Dictionary<string, string> { ["ANTHROPIC_API_KEY"] = "sk-ant-never-in-labels" },
            Placement = new List<string> { "node.role==worker" },
            // A swarm task has a network of its own choosing (the gateway's is refused there): the default bridge here.
            Sandbox = new ClaudeOrchestrator.Engine.Sandboxing.Sandbox { Network = "bridge" },
            Egress = ClaudeTaskEgress.Open,
        };
        var shipped = ShippedWorkspace.Plan(spec, null, null, null);
        var built = ServiceSpecs.BuildSpec(spec, "claude-x", "nonce1", shipped, null, null, null, new List<Docker.DotNet.Models.SwarmConfigReference>());

        Assert.Equal(1UL, built.Mode.Replicated.Replicas);
        Assert.Equal("none", built.TaskTemplate.RestartPolicy.Condition);
        var container = built.TaskTemplate.ContainerSpec;
        Assert.True(container.ReadOnly);
        Assert.True(container.Init);
        Assert.Equal(new[] { "ALL" }, container.CapabilityDrop);
        Assert.Equal(Sandbox.KeptCapabilities, container.CapabilityAdd);
        Assert.Equal(ServiceSpecs.StopGrace, container.StopGracePeriod);
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
