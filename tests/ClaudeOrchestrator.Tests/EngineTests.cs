using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// Several engines from one session (-Engine, -Engine *), the engine a task ran on in its result
/// and its containers, rootless Podman found without configuration with the agent's files the
/// caller's, an engine without its init binary, and Test-ClaudeEngine's findings.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
[Trait(Needs.Trait, Needs.Podman)]
public sealed class EngineTests : TaskTestBase
{
    /// <summary>
    /// A rootless engine of its own user (Podman's API service, or Docker's dockerd-rootless.sh)
    /// with the test image, a project and a state directory that user owns, and the environment
    /// of a session of that user in which nothing names an engine (and the default socket is not
    /// the user's to use). Runs <paramref name="test"/>, then removes it all.
    /// </summary>
    private void OnRootless(string kind, Action<Rootless> test)
    {
        var (user, uid) = kind == "podman" ? ("co-rootless", 4610) : ("co-rootless-d", 4630);
        using TestEngine engine = kind == "podman" ? PodmanEngine.StartRootless(user, uid) : RootlessDocker.Start(user, uid);
        engine.LoadImage(Image);
        var project = Directory.CreateTempSubdirectory("co-rootless-project-");
        var state = Directory.CreateTempSubdirectory("co-rootless-state-");
        try
        {
            DockerCli.Exec("chown", $"{user}:", project.FullName, state.FullName).EnsureSuccess();
            var environment = new Dictionary<string, string>
            {
                ["DOCKER_HOST"] = null,
                ["DOCKER_CONTEXT"] = null,
                ["XDG_RUNTIME_DIR"] = $"/run/user/{uid}",
                ["XDG_STATE_HOME"] = state.FullName,
            };
            test(new Rootless(engine, user, uid, project.FullName, environment));
            Assert.Empty(engine.ManagedNames());
        }
        finally
        {
            DockerCli.Exec("rm", "-rf", project.FullName, state.FullName);
        }
    }

    private sealed record Rootless(TestEngine Engine, string User, int Uid, string Project, Dictionary<string, string> Environment);

    public EngineTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
    }

    private string PodmanHost => Docker.Podman.Host;

    [Fact]
    public void TasksOnTwoEnginesAreListedAndRemovedEachOnItsOwnEngine()
    {
        // Offline: each engine holds just the task's container (no egress gateway beside it).
        Session.Invoke(StartTask("ignore-term 600", "-AsJob -Network none")).ThrowIfFailed();
        Session.Invoke(StartTask("ignore-term 600", $"-AsJob -Network none -Engine {PodmanHost}")).ThrowIfFailed();
        var label = "io.claude-orchestrator.owner-pid=" + Environment.ProcessId;
        Eventually.Last(() => DockerCli.TaskNamesWithLabel(label).Count >= 1 && Docker.Podman.ManagedNames().Count >= 1, both => both, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));

        var onDocker = Assert.Single(DockerCli.TaskNamesWithLabel(label));
        var onPodman = Assert.Single(Docker.Podman.ManagedNames());

        // This session's containers, wherever they run, each with its engine's endpoint.
        var mine = Session.Invoke("Get-ClaudeContainer").ThrowIfFailed().Output.Select(o => (ClaudeContainer)o.BaseObject).ToList();
        Assert.Equal(new[] { onDocker, onPodman }.OrderBy(n => n), mine.Select(c => c.Name).OrderBy(n => n));
        Assert.Equal(PodmanHost, mine.Single(c => c.Name == onPodman).Engine);
        Assert.Equal("unix:///var/run/docker.sock", mine.Single(c => c.Name == onDocker).Engine);
        var listed = Session.Invoke($"Get-ClaudeContainer -All -Engine unix:///var/run/docker.sock,{PodmanHost}").ThrowIfFailed();
        Assert.Equal(new[] { onDocker, onPodman }.OrderBy(n => n), listed.Output.Select(o => ((ClaudeContainer)o.BaseObject).Name).OrderBy(n => n));

        // Every known engine: these two, and any other this process or the docker CLI knows; one
        // that is gone (an earlier test's private engine) is an error of its own, the rest are listed.
        var all = Session.Invoke("Get-ClaudeContainer -All -Engine *");
        Assert.All(all.Errors, e => Assert.StartsWith("DockerEngineUnreachable,", e.FullyQualifiedErrorId));
        Assert.DoesNotContain(all.Errors, e => e.Exception.Message.Contains(PodmanHost) || e.Exception.Message.Contains("/var/run/docker.sock"));
        var allContainers = all.Output.Select(o => (ClaudeContainer)o.BaseObject).ToList();
        Assert.Contains(allContainers, c => c.Name == onPodman && c.Engine == PodmanHost);
        Assert.Contains(allContainers, c => c.Name == onDocker);

        // Piped: each removed on the engine that has it; both tasks end Cancelled.
        var r = Session.Invoke($"Get-ClaudeContainer -All -Engine unix:///var/run/docker.sock,{PodmanHost} | Remove-ClaudeContainer -Confirm:$false -PassThru; Get-Job | Wait-Job -Timeout 30 | Receive-Job -ErrorAction SilentlyContinue");
        Assert.False(DockerCli.Exists(onDocker));
        Assert.False(DockerCli.Exists(onPodman, PodmanHost));
        var results = r.Output.Select(o => o.BaseObject).OfType<ClaudeTaskResult>().ToList();
        Assert.Equal(2, results.Count);
        Assert.All(results, t => Assert.Equal(ClaudeTaskStatus.Cancelled, t.Status));
        Assert.Contains(results, t => t.Engine == PodmanHost);
        Session.Invoke("Get-Job | Remove-Job -Force");
    }

    /// <summary>A task on a branch on rootful Podman: the overlay (Podman's local volume driver mounts it), its work saved from the layer, nothing left.</summary>
    [Fact]
    public void ATaskOnABranchOnRootfulPodmanWorksOnAnOverlay()
    {
        CommitProject(("README.md", "hello\n"), ("src/a.txt", "a\n"), ("src/b.txt", "b\n"));
        var r = Session.Invoke(StartTask("run echo changed >> src/a.txt; rm src/b.txt; mkdir new; echo n > new/n.txt; git status --porcelain | wc -l",
            $"-Network none -Engine {PodmanHost}")).Single<ClaudeTaskResult>();

        Assert.True(r.Status == ClaudeTaskStatus.Succeeded, r.Reason + r.ErrorOutput);
        Assert.Equal(CheckoutMethod.Overlay, r.Checkout);
        Assert.Equal(PodmanHost, r.Engine);
        Assert.Equal(new[] { "A\tnew/n.txt", "D\tsrc/b.txt", "M\tsrc/a.txt" },
            ProjectGit("diff", "--name-status", "main", r.Branch).Split('\n').OrderBy(l => l, StringComparer.Ordinal));
        // The agent's own git status saw its three changes, no more.
        Assert.Contains("3\n", r.Output);
        Assert.Empty(Docker.Podman.ManagedNames());
        Assert.DoesNotContain(DockerCli.RunOn(PodmanHost, "volume", "ls", "-q").Stdout.Split('\n'), v => v.Contains(r.TaskId));
    }

    [Fact]
    public void AProfileNamesTheEngineItsTasksRunOn()
    {
        var profiles = Directory.CreateTempSubdirectory("co-profiles-");
        try
        {
            using (Override("CLAUDE_PROJECTS_DIR", profiles.FullName))
            {
                File.WriteAllText(Path.Combine(profiles.FullName, "onpodman.yaml"),
                    $"name: onpodman\nlocal_path: {Project.FullName}\nisolation: none\ndocker:\n  image: {Image}\n  engine: {PodmanHost}\n");
                var profile = (ClaudeProject)Session.Invoke("Get-ClaudeProject onpodman").ThrowIfFailed().Output.Single().BaseObject;
                Assert.Equal(PodmanHost, profile.Engine);

                var result = Session.Invoke("Start-ClaudeTask -Project onpodman -Description 'succeed'").ThrowIfFailed().Single<ClaudeTaskResult>();
                Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
                Assert.Equal(PodmanHost, result.Engine);
                // And the task's record keeps it, for the salvage sweep of that engine alone.
                var task = (ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {result.TaskId}").ThrowIfFailed().Output.Single().BaseObject;
                Assert.Equal(PodmanHost, task.Engine);
            }
        }
        finally
        {
            profiles.Delete(true);
        }
    }

    [Fact]
    public void AnEngineThatNamesNothingIsRefusedBeforeAnythingExists()
    {
        var before = Directory.Exists(StateTasksDirectory) ? Directory.GetDirectories(StateTasksDirectory).Length : 0;
        var r = Session.Invoke(StartTask("succeed", "-Engine no-such-context"));

        Assert.Equal("EngineNotFound,ClaudeOrchestrator.Commands.StartClaudeTaskCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Contains("no-such-context", r.Errors[0].Exception.Message);
        Assert.Equal(System.Management.Automation.ErrorCategory.ObjectNotFound, r.Errors[0].CategoryInfo.Category);
        Assert.Empty(DockerCli.ManagedNames());
        Assert.Equal(before, Directory.Exists(StateTasksDirectory) ? Directory.GetDirectories(StateTasksDirectory).Length : 0);

        var scheme = Session.Invoke(StartTask("succeed", "-Engine ftp://example.invalid"));
        Assert.StartsWith("EngineNotFound,", Assert.Single(scheme.Errors).FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, scheme.Errors[0].CategoryInfo.Category);
    }

    private string StateTasksDirectory => Path.Combine(Docker.StateHome.FullName, "claude-orchestrator", "tasks");

    [Theory]
    [InlineData("podman")]
    [InlineData("docker")]
    public void ARootlessEngineIsFoundWithoutConfigurationAndTheAgentsFilesAreTheCallers(string kind) => OnRootless(kind, r =>
    {
        // Writable for a container uid that is not the caller's: the explicit -User run below.
        DockerCli.Exec("chmod", "777", r.Project).EnsureSuccess();
        using (var host = HostProcess.Start(
                   $"$r = Start-ClaudeTask -Path '{r.Project}' -Description 'write default.txt hi' -Image {Image} -Isolation None -Network none; " +
                   $"[Console]::WriteLine('ENGINE ' + $r.Engine + ' ' + $r.Status); " +
                   $"$u = Start-ClaudeTask -Path '{r.Project}' -Description 'write explicit.txt hi' -Image {Image} -Isolation None -Network none -User '{r.Uid}:{r.Uid}'; " +
                   $"[Console]::WriteLine('EXPLICIT ' + $u.Status)",
                   user: r.User, environment: r.Environment))
        {
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(120)), host.Transcript);
            Log(host.Transcript);
            Assert.Contains($"ENGINE {r.Engine.Host} Succeeded", host.Transcript);
            Assert.Contains("EXPLICIT Succeeded", host.Transcript);
        }

        // The default (root in the container, which a rootless engine maps to the caller) leaves the caller's files...
        Assert.Equal(r.Uid.ToString(), Owner(Path.Combine(r.Project, "default.txt")));
        // ...where the caller's own uid inside would have left a subordinate uid's.
        Assert.NotEqual(r.Uid.ToString(), Owner(Path.Combine(r.Project, "explicit.txt")));
    });

    /// <summary>
    /// A task on a branch on a rootless engine: an overlay where that engine can mount one over
    /// the caller's files, else every file written, as Test-ClaudeEngine says beforehand; the work
    /// reaches the branch either way, and nothing of the task is left.
    /// </summary>
    [Theory]
    [InlineData("podman")]
    [InlineData("docker")]
    public void ATaskOnABranchOnARootlessEngineGetsTheCheckoutTheDoctorNames(string kind) => OnRootless(kind, r =>
    {
        DockerCli.Exec("git", "-c", "safe.directory=*", "-C", r.Project, "init", "-q", "-b", "main").EnsureSuccess();
        for (var i = 0; i < 50; i++)
        {
            File.WriteAllText(Path.Combine(r.Project, $"f{i}.txt"), $"{i}\n");
        }

        DockerCli.Exec("git", "-c", "safe.directory=*", "-C", r.Project, "add", "-A").EnsureSuccess();
        DockerCli.Exec("git", "-c", "safe.directory=*", "-C", r.Project, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "first").EnsureSuccess();
        DockerCli.Exec("chown", "-R", $"{r.User}:", r.Project).EnsureSuccess();
        using (var host = HostProcess.Start(
                   $"$c = Test-ClaudeEngine -Image {Image} -ErrorAction SilentlyContinue | Where-Object Check -eq Checkout; " +
                   $"[Console]::WriteLine('DOCTOR ' + $c.Status + ' ' + $c.Detail); " +
                   $"$r = Start-ClaudeTask -Path '{r.Project}' -Description 'run echo changed >> f1.txt; rm f2.txt; echo new > n.txt' -Image {Image} -Network none; " +
                   $"[Console]::WriteLine('TASK ' + $r.Status + ' ' + $r.Checkout + ' ' + $r.Work + ' ' + $r.FilesChanged + ' ' + $r.Branch)",
                   user: r.User, environment: r.Environment))
        {
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(180)), host.Transcript);
            Log(host.Transcript);
            var doctor = host.Transcript.Split('\n').Single(l => l.Contains("DOCTOR "));
            var method = doctor.Contains("DOCTOR Pass Overlay") ? "Overlay" : "Full";
            Assert.True(method == "Overlay" || doctor.Contains("DOCTOR Warn Full"), doctor);
            Assert.Contains($"TASK Succeeded {method} ModuleCommit 3 claude/", host.Transcript);
        }

        var branch = DockerCli.Exec("git", "-c", "safe.directory=*", "-C", r.Project, "branch", "--list", "claude/*", "--format=%(refname:short)").Stdout.Trim();
        Assert.Equal(new[] { "A\tn.txt", "D\tf2.txt", "M\tf1.txt" },
            DockerCli.Exec("git", "-c", "safe.directory=*", "-C", r.Project, "diff", "--name-status", "main", branch).Stdout.Trim().Split('\n').OrderBy(l => l, StringComparer.Ordinal));
        Assert.Empty(Directory.GetDirectories(Path.Combine(r.Environment["XDG_STATE_HOME"]!, "claude-orchestrator", "tasks")).Where(d => Directory.Exists(Path.Combine(d, "checkout"))));
    });

    [Theory]
    [InlineData("podman")]
    [InlineData("docker")]
    public void SigtermToASessionOnARootlessEngineRemovesItsContainerBeforeItExits(string kind) => OnRootless(kind, r =>
    {
        using var host = HostProcess.Start(
            $"Start-ClaudeTask -Path '{r.Project}' -Description 'ignore-term 600' -Image {Image} -Isolation None -Network none",
            user: r.User, environment: r.Environment);
        host.WaitForLine(l => l.Contains("agent: ignoring SIGTERM"), TimeSpan.FromSeconds(60));
        Assert.Single(r.Engine.ManagedNames());
        host.Signal(HostProcess.SIGTERM);
        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(60)), host.Transcript);
        Assert.Empty(r.Engine.ManagedNames());
    });

    private static string Owner(string path) => DockerCli.Exec("stat", "-c", "%u", path).EnsureSuccess().Stdout.Trim();

    [Fact]
    public void AnEngineWithoutItsInitBinarySaysWhatToInstall()
    {
        using var podman = PodmanEngine.StartRootful(hideInit: true);
        podman.LoadImage(Image);
        var r = Session.Invoke(StartTask("succeed", $"-Engine {podman.Host} -Isolation None"));

        var error = r.FirstError;
        Assert.StartsWith("EngineInitMissing,", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.NotInstalled, error.CategoryInfo.Category);
        Assert.Contains("catatonit", error.Exception.Message);
        Assert.Contains("apt install catatonit", error.Exception.Message);
        Assert.Empty(podman.ManagedNames());

        var checks = Checks(Session.Invoke($"Test-ClaudeEngine -Engine {podman.Host} -Image {Image} -Path '{Project.FullName}'"), out var failed);
        Assert.Equal(ClaudeEngineCheckStatus.Fail, checks["Init"].Status);
        Assert.Contains("catatonit", checks["Init"].Fix);
        Assert.True(failed);
        Assert.Empty(podman.ManagedNames());
    }

    [Fact]
    public void TestClaudeEngineReportsEveryCheckOnBothEnginesWithoutTheKeysValue()
    {
        const string secret = "sk-ant-api03-DOCTOR-MUST-NOT-SHOW-71";
        using (Override("ANTHROPIC_API_KEY", secret))
        {
            foreach (var (engine, kind) in new[] { ("unix:///var/run/docker.sock", "Docker"), (PodmanHost, "Podman") })
            {
                var r = Session.Invoke($"Test-ClaudeEngine -Engine {engine} -Image {Image} -Path '{Project.FullName}'");
                var checks = Checks(r, out var failed);
                Log(string.Join("\n", checks.Values.Select(c => $"{c.Check}: {c.Status} {c.Detail} {c.Fix}")));
                Assert.False(failed, r.Describe());
                Assert.Equal(new[] { "Endpoint", "Reachable", "Engine", "Rootless", "Limits", "API key", "Image", "Init", "Shell", "Bash", "Agent", "Project mount", "User mapping", "Checkout" },
                    checks.Keys);
                Assert.All(checks.Values, c => Assert.Equal(engine, c.Engine));
                Assert.StartsWith(kind + " ", checks["Engine"].Detail);
                Assert.Contains("rootful", checks["Rootless"].Detail);
                Assert.Contains("is readable in the container", checks["Project mount"].Detail);
                Assert.Contains("is yours", checks["User mapping"].Detail);
                // The busybox test image has no bash: a warning with its fix, not a failure.
                Assert.Equal(ClaudeEngineCheckStatus.Warn, checks["Bash"].Status);
                Assert.Contains("ANTHROPIC_API_KEY", checks["API key"].Detail);
                // Docker and Podman, rootful on this machine's Linux: tasks on a branch get an overlay.
                Assert.Equal(ClaudeEngineCheckStatus.Pass, checks["Checkout"].Status);
                Assert.StartsWith("Overlay", checks["Checkout"].Detail);
                Assert.DoesNotContain(secret, r.AllText + string.Join(" ", checks.Values.Select(c => c.Detail + c.Fix)));
            }
        }

        // The probe containers are gone, and journaled like any other.
        Assert.Empty(DockerCli.ManagedNames());
        Assert.Empty(Docker.Podman.ManagedNames());
    }

    [Fact]
    public void AFailedCheckMakesTheScriptExitOne()
    {
        using var host = HostProcess.Start($"Test-ClaudeEngine -Image {Image} -AgentCommand no-such-agent -Path '{Project.FullName}'",
            environment: new Dictionary<string, string> { ["ANTHROPIC_API_KEY"] = "sk-ant-x" });
        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(60)), host.Transcript);
        Assert.Equal(1, host.ExitCode);
        Assert.Contains("ERROR: ClaudeEngineCheckFailed,", host.Transcript);
        Assert.Contains("Agent on unix:///var/run/docker.sock", host.Transcript);
    }

    private static Dictionary<string, ClaudeEngineCheck> Checks(PsResult r, out bool failed)
    {
        failed = r.Errors.Any(e => e.FullyQualifiedErrorId.StartsWith("ClaudeEngineCheckFailed,", StringComparison.Ordinal));
        return r.Output.Select(o => (ClaudeEngineCheck)o.BaseObject).ToDictionary(c => c.Check);
    }

    [Fact]
    public void WellKnownSocketsPutTheDefaultFirstThenRootlessDockerThenPodman()
    {
        using (Override("XDG_RUNTIME_DIR", "/run/user/4242"))
        {
            var endpoints = EngineEndpoints.WellKnownSockets().Select(s => s.Endpoint).ToList();
            Assert.Equal("unix:///var/run/docker.sock", endpoints[0]);
            Assert.Equal("unix:///run/user/4242/docker.sock", endpoints[1]);
            Assert.Equal("unix:///run/user/4242/podman/podman.sock", endpoints[2]);
            Assert.Equal("unix:///run/podman/podman.sock", endpoints[3]);
        }

        Assert.Equal(EngineEndpoints.Normalize("unix:///var/run/docker.sock"), EngineEndpoints.Normalize("unix:///var/run/docker.sock/"));
        Assert.NotEqual(EngineEndpoints.Normalize("tcp://a:2375"), EngineEndpoints.Normalize("tcp://b:2375"));
    }
}
