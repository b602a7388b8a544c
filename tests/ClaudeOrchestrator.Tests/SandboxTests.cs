using ClaudeOrchestrator.Engine.Egress;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>The task container is the security boundary: every setting is inspected on the engine.</summary>
[Trait(Needs.Trait, Needs.Docker)]
public class SandboxTests : TaskTestBase
{
    public SandboxTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
    }

    private string StartAndInspect(string extra, out RunningScript running)
    {
        running = Session.Start(StartTask("sleep 30", extra));
        return WaitForSessionContainer(running, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void DefaultsAreHardened()
    {
        var name = StartAndInspect("", out var running);
        using (running)
        {
            string Get(string format) => DockerCli.Inspect(name, format);
            Assert.Equal((4L << 30).ToString(), Get("{{.HostConfig.Memory}}"));
            Assert.Equal((4L << 30).ToString(), Get("{{.HostConfig.MemorySwap}}"));
            Assert.Equal("2000000000", Get("{{.HostConfig.NanoCpus}}"));
            Assert.Equal("512", Get("{{.HostConfig.PidsLimit}}"));
            Assert.Equal("true", Get("{{.HostConfig.ReadonlyRootfs}}"));
            Assert.Equal("false", Get("{{.HostConfig.Privileged}}"));
            Assert.Equal("[no-new-privileges]", Get("{{.HostConfig.SecurityOpt}}"));
            Assert.Equal("[ALL]", Get("{{.HostConfig.CapDrop}}"));
            Assert.Equal("[CHOWN DAC_OVERRIDE FOWNER FSETID KILL]", Get("{{.HostConfig.CapAdd}}"));
            // The network of a holder on the session's egress network: no address of the host on it, no
            // masquerade (nothing leads out but the gateway), and the gateway its name server.
            var mode = Get("{{.HostConfig.NetworkMode}}");
            Assert.StartsWith("container:", mode);
            var holder = mode.Substring("container:".Length);
            Assert.Equal(NetworkHolders.HolderRole, DockerCli.Inspect(holder, "{{index .Config.Labels \"io.claude-orchestrator.role\"}}"));
            var network = DockerCli.Inspect(holder, "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}");
            Assert.StartsWith("claude-egress-", network);
            Assert.Equal("true false", DockerCli.Run("network", "inspect", "-f",
                "{{index .Options \"com.docker.network.bridge.inhibit_ipv4\"}} {{index .Options \"com.docker.network.bridge.enable_ip_masquerade\"}}", network).Stdout.Trim());
            Assert.Matches(@"^\[\d+\.\d+\.\d+\.\d+\]$", DockerCli.Inspect(holder, "{{.HostConfig.Dns}}"));
            Assert.Equal("", Get("{{.HostConfig.PidMode}}"));
            Assert.Equal("private", Get("{{.HostConfig.IpcMode}}"));
            Assert.Equal("[]", Get("{{.HostConfig.Devices}}"));
            Assert.Equal("0:0", Get("{{.Config.User}}")); // the tests run as root: the caller's uid:gid
            var tmpfs = Get("{{json .HostConfig.Tmpfs}}");
            Assert.Contains("\"/tmp\":\"rw,noexec,nosuid,nodev,size=512m\"", tmpfs);
            Assert.Contains("\"/home/agent\":", tmpfs);
            Assert.Contains("HOME=/home/agent", Get("{{json .Config.Env}}"));
            // The project, and the agent's own state directory under the module's state (for -Resume): no other host path.
            var stateRoot = Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator", "tasks");
            var mounts = Get("{{range .Mounts}}{{.Type}}:{{.Source}}->{{.Destination}};{{end}}").Split(';', StringSplitOptions.RemoveEmptyEntries).OrderBy(m => m.Length).ToList();
            Assert.Equal(2, mounts.Count);
            Assert.Equal($"bind:{Project.FullName}->/workspace", mounts[0]);
            Assert.Matches($"^bind:{System.Text.RegularExpressions.Regex.Escape(stateRoot)}/[a-km-z2-9]{{8}}/agent->/home/agent/\\.claude$", mounts[1]);
            Assert.Contains("IS_SANDBOX=1", Get("{{json .Config.Env}}"));
            Assert.Contains("CLAUDE_CONFIG_DIR=/home/agent/.claude", Get("{{json .Config.Env}}"));
            running.Stop();
        }
    }

    [Fact]
    public void SELinuxRelabelGivesEveryBindMountTheSharedLabel()
    {
        var name = StartAndInspect("-SELinuxRelabel", out var running);
        using (running)
        {
            // The binds form, the only one with a relabel option: each bind is source:target[:ro],z.
            var binds = DockerCli.Inspect(name, "{{range .HostConfig.Binds}}{{.}};{{end}}").Split(';', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains($"{Project.FullName}:/workspace:z", binds);
            Assert.Contains(binds, b => b.EndsWith(":/home/agent/.claude:z", StringComparison.Ordinal));
            Assert.Empty(DockerCli.Inspect(name, "{{range .HostConfig.Mounts}}{{.Type}};{{end}}"));
            // The files are mounted all the same: the agent sees the project.
            Assert.Equal("bind", DockerCli.Inspect(name, "{{range .Mounts}}{{if eq .Destination \"/workspace\"}}{{.Type}}{{end}}{{end}}"));
            running.Stop();
        }
    }

    [Fact]
    public void ParametersAdjustTheLimits()
    {
        var name = StartAndInspect("-Memory 512m -Cpus 0.5 -PidsLimit 64 -Network none -User 1234:1234", out var running);
        using (running)
        {
            Assert.Equal((512L << 20).ToString(), DockerCli.Inspect(name, "{{.HostConfig.Memory}}"));
            Assert.Equal((512L << 20).ToString(), DockerCli.Inspect(name, "{{.HostConfig.MemorySwap}}"));
            Assert.Equal("500000000", DockerCli.Inspect(name, "{{.HostConfig.NanoCpus}}"));
            Assert.Equal("64", DockerCli.Inspect(name, "{{.HostConfig.PidsLimit}}"));
            Assert.Equal("none", DockerCli.Inspect(name, "{{.HostConfig.NetworkMode}}"));
            Assert.Equal("1234:1234", DockerCli.Inspect(name, "{{.Config.User}}"));
            running.Stop();
        }
    }

    [Theory]
    [InlineData("-Memory 4x", "Memory")]
    [InlineData("-Memory -1g", "Memory")]
    [InlineData("-Memory 1k", "Memory")]
    [InlineData("-Cpus -1", "Cpus")]
    [InlineData("-Cpus 0", "Cpus")]
    [InlineData("-PidsLimit -5", "PidsLimit")]
    public void InvalidLimitsAreParameterErrors(string extra, string parameter)
    {
        var before = DockerCli.Run("ps", "-aq").Stdout;

        var r = Session.Invoke(StartTask("succeed", extra));

        var error = r.FirstError;
        Assert.StartsWith("ParameterArgumentValidationError,", error.FullyQualifiedErrorId);
        Assert.Contains(parameter, error.Exception.Message);
        Assert.Empty(r.Output);
        Assert.Equal(before, DockerCli.Run("ps", "-aq").Stdout);
    }

    [Theory]
    [InlineData("host")]
    [InlineData("container:something")]
    public void NetworkModesSharingANamespaceAreRefused(string network)
    {
        var r = Session.Invoke(StartTask("succeed", $"-Network '{network}'"));

        Assert.StartsWith("NetworkModeRefused,", r.FirstError.FullyQualifiedErrorId);
        Assert.Empty(r.Output);
    }

    [Fact]
    public void OfflineTaskHasNoNetwork()
    {
        var r = Session.Invoke(StartTask("x", "-Network none -AgentCommand '/bin/sh','-c','ls /sys/class/net; echo'"));

        Assert.Equal("lo\n\n", r.Single<ClaudeTaskResult>().Output);
    }

    [Fact]
    public void PidsLimitStopsAForkBomb()
    {
        var r = Session.Invoke(StartTask("fork 200", "-PidsLimit 32"));

        var result = r.Output.Select(o => o.BaseObject).OfType<ClaudeTaskResult>().Single();
        Assert.Equal(ClaudeTaskStatus.Failed, result.Status);
        Assert.DoesNotContain("agent: forked 200", result.Output);
        Log("fork bomb stderr: " + result.ErrorOutput.Trim());

        var allowed = Session.Invoke(StartTask("fork 20", "-PidsLimit 64")).Single<ClaudeTaskResult>();
        Assert.Equal("agent: forked 20", allowed.ResultText);
        Assert.Equal(ClaudeTaskStatus.Succeeded, allowed.Status);
    }

    [Fact]
    public void OnlyTheWorkspaceAndTmpAreWritableAndTmpIsNoExec()
    {
        const string script = """
            touch /usr/evil 2>/dev/null && echo root-writable || echo root-readonly
            touch /etc/evil 2>/dev/null && echo etc-writable || echo etc-readonly
            touch /tmp/ok && echo tmp-writable
            touch "$HOME/ok" && echo home-writable
            touch /workspace/ok && echo workspace-writable
            cp /bin/busybox /tmp/bb && /tmp/bb true 2>/dev/null && echo tmp-exec || echo tmp-noexec
            """;
        var r = Session.Invoke($"Start-ClaudeTask -Path '{Project.FullName}' -Description x -Image {Image} -AgentCommand '/bin/sh','-c',$script",
            new Dictionary<string, object> { ["script"] = script });

        Assert.Equal("root-readonly\netc-readonly\ntmp-writable\nhome-writable\nworkspace-writable\ntmp-noexec\n",
            r.Single<ClaudeTaskResult>().Output);
        Assert.True(File.Exists(Path.Combine(Project.FullName, "ok")));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void FilesWrittenInTheWorkspaceBelongToTheCaller()
    {
        // An unprivileged caller (nobody, with the docker group for the socket).
        var gid = DockerCli.Exec("getent", "group", "docker").Stdout.Split(':')[2];
        File.SetUnixFileMode(Project.FullName, (UnixFileMode)0b111_111_111);
        using var host = HostProcess.Start(StartTask("write made-by-agent.txt hello"), user: "nobody", group: "docker");
        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(60)), host.Transcript);
        Assert.True(host.ExitCode == 0, host.Transcript);

        var stat = DockerCli.Exec("stat", "-c", "%u:%g", Path.Combine(Project.FullName, "made-by-agent.txt")).Stdout.Trim();
        Assert.Equal("65534:" + gid, stat);

        var overridden = Session.Invoke(StartTask("write by-override.txt x", "-User 1234:4321")).Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Succeeded, overridden.Status);
        Assert.Equal("1234:4321", DockerCli.Exec("stat", "-c", "%u:%g", Path.Combine(Project.FullName, "by-override.txt")).Stdout.Trim());
    }

    public static TheoryData<string> RefusedPaths() => new()
    {
        "/",
        "/var/run",
        "/run",
        "/var",
    };

    [Theory]
    [MemberData(nameof(RefusedPaths))]
    public void DangerousProjectPathsAreRefusedBeforeAnyContainerExists(string path)
    {
        var before = DockerCli.Run("ps", "-aq").Stdout;

        var r = Session.Invoke($"Start-ClaudeTask -Path '{path}' -Description succeed -Image {Image}");

        var error = r.FirstError;
        Assert.StartsWith("ProjectPathRefused,", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.SecurityError, error.CategoryInfo.Category);
        Assert.Equal(before, DockerCli.Run("ps", "-aq").Stdout);
    }

    [Fact]
    public void HomeItsParentsTheStateDirectoryAndSymlinksToThemAreRefused()
    {
        var home = Directory.CreateDirectory(Path.Combine(Project.FullName, "users", "alice"));
        var state = Directory.CreateDirectory(Path.Combine(Project.FullName, "state"));
        var link = Path.Combine(Project.FullName, "innocent-looking");
        File.CreateSymbolicLink(link, home.FullName);
        var rootLink = Path.Combine(Project.FullName, "root-link");
        File.CreateSymbolicLink(rootLink, "/");
        var oldHome = Environment.GetEnvironmentVariable("HOME");
        var oldState = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        Environment.SetEnvironmentVariable("HOME", home.FullName);
        Environment.SetEnvironmentVariable("XDG_STATE_HOME", state.FullName);
        try
        {
            foreach (var (path, reason) in new[]
            {
                (home.FullName, "your home directory"),
                (Path.Combine(Project.FullName, "users"), "contains your home directory"),
                (link, "your home directory"),
                (rootLink, "root of the file system"),
                (Path.Combine(state.FullName, "claude-orchestrator"), "module's own directory"),
            })
            {
                Directory.CreateDirectory(path);
                var r = Session.Invoke($"Start-ClaudeTask -Path '{path}' -Description succeed -Image {Image}");
                var error = r.FirstError;
                Assert.StartsWith("ProjectPathRefused,", error.FullyQualifiedErrorId);
                Assert.Contains(reason, error.Exception.Message);
            }

            var fine = Directory.CreateDirectory(Path.Combine(home.FullName, "src", "app"));
            Assert.Equal(ClaudeTaskStatus.Succeeded, Session.Invoke($"Start-ClaudeTask -Path '{fine.FullName}' -Description succeed -Image {Image}").Single<ClaudeTaskResult>().Status);
        }
        finally
        {
            Environment.SetEnvironmentVariable("HOME", oldHome);
            Environment.SetEnvironmentVariable("XDG_STATE_HOME", oldState);
        }
    }

    [Fact]
    public void TheProfilesDirectoryAndItsParentsAreRefused()
    {
        var profiles = Directory.CreateDirectory(Path.Combine(Project.FullName, "config", "profiles"));
        var previous = Environment.GetEnvironmentVariable("CLAUDE_PROJECTS_DIR");
        Environment.SetEnvironmentVariable("CLAUDE_PROJECTS_DIR", profiles.FullName);
        try
        {
            foreach (var path in new[] { profiles.FullName, Path.Combine(Project.FullName, "config"), Directory.CreateDirectory(Path.Combine(profiles.FullName, "inner")).FullName })
            {
                var error = Session.Invoke($"Start-ClaudeTask -Path '{path}' -Description succeed -Image {Image}").FirstError;
                Assert.StartsWith("ProjectPathRefused,", error.FullyQualifiedErrorId);
                Assert.Contains($"overlaps the module's own directory {profiles.FullName} (rule ModuleDirectory)", error.Exception.Message);
            }

            var beside = Directory.CreateDirectory(Path.Combine(Project.FullName, "config", "app"));
            Assert.Equal(ClaudeTaskStatus.Succeeded, Session.Invoke($"Start-ClaudeTask -Path '{beside.FullName}' -Description succeed -Image {Image}").Single<ClaudeTaskResult>().Status);
        }
        finally
        {
            Environment.SetEnvironmentVariable("CLAUDE_PROJECTS_DIR", previous);
        }
    }

    [Fact]
    public void ASymlinkedProjectMountsItsResolvedTarget()
    {
        var target = Directory.CreateDirectory(Path.Combine(Project.FullName, "real", "app"));
        var link = Path.Combine(Project.FullName, "link-to-app");
        File.CreateSymbolicLink(link, target.FullName);

        using var running = Session.Start($"Start-ClaudeTask -Path '{link}' -Description 'sleep 30' -Image {Image}");
        var name = WaitForSessionContainer(running, TimeSpan.FromSeconds(20));
        Assert.Equal($"bind:{target.FullName}->/workspace;", DockerCli.Inspect(name, "{{range .Mounts}}{{if eq .Destination \"/workspace\"}}{{.Type}}:{{.Source}}->{{.Destination}};{{end}}{{end}}"));
        running.Stop();

        var result = Session.Invoke($"Start-ClaudeTask -Path '{link}' -Description 'write through-link.txt ok' -Image {Image}").Single<ClaudeTaskResult>();
        Assert.Equal(target.FullName, result.Path);
        Assert.Equal("ok", File.ReadAllText(Path.Combine(target.FullName, "through-link.txt")));
    }

    [Fact]
    public void TheAgentsHomeIsAOneGigabyteTmpfs()
    {
        var result = Session.Invoke(StartTask("x", "-AgentCommand '/bin/sh','-c','df -k /home/agent | tail -n 1; touch /home/agent/ok && echo writable'")).Single<ClaudeTaskResult>();
        var fields = result.Output.Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("tmpfs", fields[0]);
        Assert.Equal((1L << 20).ToString(), fields[1]); // 1 KiB blocks
        Assert.Contains("writable", result.Output);
    }
}
