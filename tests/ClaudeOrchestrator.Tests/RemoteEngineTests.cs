using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>One engine for a test class, the image loaded (starting a dockerd and loading take seconds); with TLS or an sshd in front when asked.</summary>
public abstract class RemoteFixture : IDisposable
{
    protected RemoteFixture(bool tls, bool ssh)
    {
        Engine = new RemoteEngine(tls);
        try
        {
            Engine.Load(DockerFixture.Image);
            Ssh = ssh ? new SshHost(Engine) : null;
        }
        catch
        {
            Engine.Dispose();
            throw;
        }
    }

    public RemoteEngine Engine { get; }

    /// <summary>Null unless asked for.</summary>
    public SshHost Ssh { get; }

    public void Dispose()
    {
        Ssh?.Dispose();
        Engine.Dispose();
    }
}

/// <summary>
/// Tasks on an engine that is not on this machine: a dockerd in a network namespace of its own,
/// reached over TCP at a non-loopback address. The workspace travels in labelled volumes and
/// comes back; the container never bind-mounts a path of this machine; nothing stays behind.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
[Trait(Needs.Trait, Needs.Remote)]
public sealed class RemoteEngineTests : TaskTestBase, IClassFixture<RemoteEngineTests.Remote>
{
    private readonly Remote _remote;

    public RemoteEngineTests(DockerFixture docker, Remote remote, ITestOutputHelper output) : base(docker, output)
    {
        _remote = remote;
        CommitProject(("README.md", "hello\n"), ("doomed.txt", "delete me\n"),
            (Path.Combine("src", "deep", new string('n', 120) + ".txt"), "a name longer than a tar header holds\n"));
    }

    public sealed class Remote : RemoteFixture
    {
        public Remote() : base(tls: false, ssh: false)
        {
        }
    }

    private RemoteEngine Engine => _remote.Engine;

    private string Git(params string[] args) => ProjectGit(args);

    private string OnRemote(string description, string extra = "") => StartTask(description, $"-Engine {Engine.Endpoint} {extra}");

    /// <summary>Of this test's project (the engine is shared by the class).</summary>
    private void AssertNothingLeftOnTheEngine(string projectPath = null)
    {
        Assert.Empty(Engine.Containers(projectPath ?? Project.FullName));
        Assert.Empty(Engine.Volumes(projectPath ?? Project.FullName));
    }

    [Fact]
    public void TheWorkspaceTravelsInVolumesAndTheAgentsWorkComesBackIntoTheBranch()
    {
        var r = Session.Invoke(OnRemote("several doomed.txt", "-Verbose"));
        Log(string.Join("\n", r.Verbose));
        var result = r.Single<ClaudeTaskResult>();
        Assert.True(result.Status == ClaudeTaskStatus.Succeeded, result.Reason + "\n" + result.Output + result.ErrorOutput);
        Assert.Equal(WorkspaceTransfer.Copy, result.Workspace);
        Assert.Contains(r.Verbose, v => v.Contains("is not on this machine: copying the workspace into claude-" + result.TaskId + "-workspace"));

        // Where /workspace came from inside the container: the engine's volume, not a path of this machine.
        var root = result.Output.Split('\n').Single(l => l.StartsWith("mount-root=")).Substring("mount-root=".Length);
        Log("/workspace in the container: " + root);
        Assert.Contains("/volumes/claude-" + result.TaskId + "-workspace/_data", root);
        Assert.DoesNotContain("checkout", root);
        Assert.DoesNotContain(Project.FullName, root);
        // The agent saw the history up to the base commit (one commit) plus its own.
        Assert.Contains("agent: several done, 2 commit(s) visible", result.Output);

        // Its commit, its uncommitted file, its deletion and its executable are all in the branch.
        Assert.Equal(ClaudeTaskWork.ModuleCommit, result.Work);
        Assert.Equal(2, result.Commits);
        Assert.Equal("committed", Git("show", result.Branch + ":committed.txt"));
        Assert.Equal("loose", Git("show", result.Branch + ":loose.txt"));
        Assert.Equal("agent: add committed.txt", Git("log", "-1", "--format=%s", result.Branch + "~1"));
        Assert.DoesNotContain("doomed.txt", Git("ls-tree", "-r", "--name-only", result.Branch));
        Assert.Contains("100755 blob", Git("ls-tree", result.Branch, "tool.sh"));
        Assert.Contains(new string('n', 120) + ".txt", Git("ls-tree", "-r", "--name-only", result.Branch));
        // The user's tree is untouched.
        Assert.True(File.Exists(Path.Combine(Project.FullName, "doomed.txt")));
        Assert.False(File.Exists(Path.Combine(Project.FullName, "loose.txt")));

        AssertNothingLeftOnTheEngine();
        var task = (ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {result.TaskId}").ThrowIfFailed().Output.Single().BaseObject;
        Assert.Equal(WorkspaceTransfer.Copy, task.Workspace);
        Assert.Null(task.CheckoutPath);
    }

    [Fact]
    public void TheContainerHasNoBindMountAndACancelledTaskStillBringsItsWorkBack()
    {
        using var running = Session.Start(OnRemote("write-then-sleep left.txt from-far-away 600"));
        running.WaitForInformation(l => l == "agent: wrote left.txt, sleeping", TimeSpan.FromSeconds(60));
        // Running: the task's container (a holder is only ever created), and beside it, on that engine, the session's egress gateway.
        var name = Assert.Single(Engine.Cli("ps", "--format", "{{.Names}}", "--filter", "label=io.claude-orchestrator.task-id").EnsureSuccess().Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Single(Engine.Cli("ps", "--format", "{{.Names}}", "--filter", "label=io.claude-orchestrator.role=egress-gateway").EnsureSuccess().Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var mounts = Engine.Cli("inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Source}} -> {{.Destination}}\n{{end}}", name).EnsureSuccess().Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Log("mounts of " + name + ":\n" + string.Join("\n", mounts));
        Assert.NotEmpty(mounts);
        Assert.All(mounts, m => Assert.StartsWith("volume claude-", m));
        Assert.Contains(mounts, m => m.EndsWith("-> /workspace"));
        Assert.DoesNotContain(mounts, m => m.Contains(Project.FullName) || m.Contains("/checkout"));

        running.Stop();
        running.Wait();
        var result = (ClaudeTask)Session.Invoke($"Get-ClaudeTask | Where-Object Path -eq '{Project.FullName}'").ThrowIfFailed().Output.Single().BaseObject;
        Assert.Equal(ClaudeTaskStatus.Cancelled, result.Status);
        Assert.Equal(ClaudeTaskWork.ModuleCommit, result.Work);
        Assert.Equal("from-far-away", Git("show", result.Branch + ":left.txt"));
        AssertNothingLeftOnTheEngine();
    }

    [Fact]
    public void WorkspaceCopyOnTheLocalEngineCopiesAndMountOnTheRemoteOneBinds()
    {
        var run = Session.Invoke(StartTask("several doomed.txt", "-Workspace Copy -Verbose"));
        Assert.Contains(run.Verbose, v => v.StartsWith("-Workspace Copy: copying the workspace into claude-"));
        var copied = run.Single<ClaudeTaskResult>();
        Assert.True(copied.Status == ClaudeTaskStatus.Succeeded, copied.Reason + copied.ErrorOutput);
        Assert.Equal(WorkspaceTransfer.Copy, copied.Workspace);
        Assert.Contains("/volumes/claude-" + copied.TaskId + "-workspace/_data", copied.Output);
        Assert.Equal("loose", Git("show", copied.Branch + ":loose.txt"));
        Assert.Empty(DockerCli.Run("volume", "ls", "-q", "--filter", "label=io.claude-orchestrator.task-id=" + copied.TaskId).EnsureSuccess().Stdout.Trim());

        // Mount on the remote engine: the user says it sees this machine's files (here it does: same disk).
        var bound = Session.Invoke(OnRemote("several doomed.txt", "-Workspace Mount")).Single<ClaudeTaskResult>();
        Assert.True(bound.Status == ClaudeTaskStatus.Succeeded, bound.Reason + bound.ErrorOutput);
        Assert.Equal(WorkspaceTransfer.Mount, bound.Workspace);
        Assert.Contains("/tasks/" + bound.TaskId + "/checkout", bound.Output);
        Assert.Equal("loose", Git("show", bound.Branch + ":loose.txt"));
        AssertNothingLeftOnTheEngine();
    }

    [Fact]
    public void AnImageTheRemoteEngineLacksIsImageNotFoundAndLeavesNoVolume()
    {
        var r = Session.Invoke($"Start-ClaudeTask -Path '{Project.FullName}' -Description 'succeed' -Image claude-orchestrator-absent:none -Engine {Engine.Endpoint}");
        Assert.StartsWith("ImageNotFound", r.FirstError.FullyQualifiedErrorId);
        Assert.Contains(Engine.Endpoint, r.FirstError.ToString());
        AssertNothingLeftOnTheEngine();
        Assert.DoesNotContain("claude/", Git("branch", "--list", "claude/*"));
    }

    [Fact]
    public void AnAgentRunningAsAnotherUserMayWriteItsCopiedWorkspace()
    {
        var r = Session.Invoke(OnRemote("several doomed.txt", "-User 4321:4321"));
        var result = r.Single<ClaudeTaskResult>();
        Assert.True(result.Status == ClaudeTaskStatus.Succeeded, result.Reason + "\n" + result.Output + result.ErrorOutput);
        Assert.Equal("loose", Git("show", result.Branch + ":loose.txt"));
        Assert.Equal("committed", Git("show", result.Branch + ":committed.txt"));
        AssertNothingLeftOnTheEngine();
    }

    [Fact]
    public void ALongDescriptionTravelsInAVolumeOfItsOwnByteForByte()
    {
        var description = "digest " + string.Concat(Enumerable.Range(0, 40_000).Select(i => $"line {i} 'q' \"d\" $(x) ünï\n"));
        var utf8 = System.Text.Encoding.UTF8.GetBytes(description);
        var r = Session.Invoke($"Start-ClaudeTask -Path '{Project.FullName}' -Description $d -Image {Image} -Engine {Engine.Endpoint} -Verbose",
            new Dictionary<string, object> { ["d"] = description });
        var result = r.ThrowIfFailed().Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
        Assert.Contains(r.Verbose, v => v.Contains($"claude-{result.TaskId}-description (/run/claude-orchestrator)"));
        Assert.Equal($"bytes={utf8.Length} sha256={Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(utf8)).ToLowerInvariant()}", result.Output.Trim());
        AssertNothingLeftOnTheEngine();
    }

    [Fact]
    public void ATaskInPlaceGetsTheWholeTreeBack()
    {
        var plain = Directory.CreateTempSubdirectory("co-plain-");
        try
        {
            File.WriteAllText(Path.Combine(plain.FullName, "keep.txt"), "kept\n");
            var r = Session.Invoke($"Start-ClaudeTask -Path '{plain.FullName}' -Description 'write-here made.txt far' -Image {Image} -Engine {Engine.Endpoint} -Isolation None");
            var result = r.Single<ClaudeTaskResult>();
            Assert.True(result.Status == ClaudeTaskStatus.Succeeded, result.Reason + result.ErrorOutput);
            Assert.Equal(ClaudeTaskWork.InPlace, result.Work);
            Assert.Equal("far", File.ReadAllText(Path.Combine(plain.FullName, "made.txt")));
            Assert.Equal("kept\n", File.ReadAllText(Path.Combine(plain.FullName, "keep.txt")));
            AssertNothingLeftOnTheEngine(plain.FullName);
        }
        finally
        {
            plain.Delete(true);
        }
    }

    [Fact]
    public void AVolumeOfATaskThisMachineHasNoRecordOfIsLeftAloneWithoutForceAndAnUnlabelledOneAlways()
    {
        var foreign = "claude-zz" + Guid.NewGuid().ToString("N")[..6] + "-workspace";
        var unlabelled = "not-ours-" + Guid.NewGuid().ToString("N")[..6];
        Engine.Cli("volume", "create", "--label", "io.claude-orchestrator.managed=true", "--label", "io.claude-orchestrator.role=workspace",
            "--label", "io.claude-orchestrator.task-id=zzforeign", "--label", "io.claude-orchestrator.owner-host=build-7",
            "--label", "io.claude-orchestrator.project-path=" + Project.FullName, "--label", "io.claude-orchestrator.mount=/workspace", foreign).EnsureSuccess();
        Engine.Cli("volume", "create", "--label", "io.claude-orchestrator.project-path=" + Project.FullName, unlabelled).EnsureSuccess();
        try
        {
            var all = Session.Invoke($"Get-ClaudeContainer -All -Engine {Engine.Endpoint}").ThrowIfFailed().Output.Select(o => (ClaudeContainer)o.BaseObject).ToList();
            Assert.Contains(all, c => c.Name == foreign && c.Kind == "volume" && c.OwnerHost == "build-7");
            Assert.DoesNotContain(all, c => c.Name == unlabelled);

            var kept = Session.Invoke($"Get-ClaudeContainer -All -Engine {Engine.Endpoint} -Status volume | Remove-ClaudeContainer -Confirm:$false");
            Assert.Contains("WorkspaceVolumeHoldsWork", kept.FirstError.FullyQualifiedErrorId);
            Assert.Contains("build-7", kept.FirstError.ToString());
            Assert.Contains(foreign, Engine.Volumes(Project.FullName));

            Session.Invoke($"Remove-ClaudeContainer -All -Engine {Engine.Endpoint} -Force -Confirm:$false").ThrowIfFailed();
            Assert.DoesNotContain(foreign, Engine.Volumes(Project.FullName));
            Assert.Contains(unlabelled, Engine.Cli("volume", "ls", "-q").EnsureSuccess().Stdout);
        }
        finally
        {
            Engine.Cli("volume", "rm", "-f", foreign, unlabelled);
        }
    }

    [Fact]
    public void AfterSigkillTheWorkWaitsInTheVolumesAndTheSweepBringsItIntoTheBranch()
    {
        using (var host = HostProcess.StartWhenWritten($"-Path '{Project.FullName}' -Description 'write-then-sleep left.txt survived-sigkill 600' -Image {Image} -Engine {Engine.Endpoint}", "left.txt"))
        {
            host.Signal(HostProcess.SIGKILL);
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        // The watcher ends the container; the work stays in the task's volumes, and only there.
        Eventually.Last(() => Engine.Containers(Project.FullName).Count, n => n == 0, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));

        Assert.Empty(Engine.Containers(Project.FullName));
        var volumes = Engine.Volumes(Project.FullName);
        Log("left on the engine after SIGKILL: " + string.Join(", ", volumes));
        Assert.Contains(volumes, v => v.EndsWith("-workspace"));
        var task = Session.Invoke($"Get-ClaudeTask | Where-Object Path -eq '{Project.FullName}'").ThrowIfFailed().Output.Select(o => (ClaudeTask)o.BaseObject).Single();
        Assert.Equal(ClaudeTaskStatus.Interrupted, task.Status);
        Assert.False(File.Exists(Path.Combine(task.CheckoutPath, "left.txt")), "the checkout on this machine never had the agent's file");

        // Found like containers: -All and -Orphaned list them, as volumes of the dead session's task.
        var listed = Session.Invoke($"Get-ClaudeContainer -Orphaned -Engine {Engine.Endpoint} -Status volume").ThrowIfFailed().Output
            .Select(o => (ClaudeContainer)o.BaseObject).Where(c => c.TaskId == task.TaskId).ToList();
        Assert.Equal(volumes.OrderBy(v => v), listed.Select(c => c.Name).OrderBy(n => n));
        Assert.All(listed, c => Assert.Equal(("volume", "volume", false), (c.Kind, c.State, c.IsTracked)));
        Assert.Contains(listed, c => c.Status == $"task {task.TaskId}'s /workspace");

        var sweep = Session.Invoke($"Remove-ClaudeContainer -Orphaned -Engine {Engine.Endpoint} -Confirm:$false -Verbose");
        Log(string.Join("\n", sweep.Verbose));
        Assert.Empty(sweep.Errors);
        var salvaged = (ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {task.TaskId}").ThrowIfFailed().Output.Single().BaseObject;
        Assert.Equal(ClaudeTaskWork.Salvaged, salvaged.Work);
        Assert.Equal("survived-sigkill", Git("show", salvaged.Branch + ":left.txt"));
        Assert.Null(salvaged.CheckoutPath);
        AssertNothingLeftOnTheEngine();
    }

    /// <summary>
    /// The work read back through the archive API, cut half-way by the network: never restored
    /// (it would read as the agent deleting files), the volumes kept, the reason said once; the
    /// next sweep over a sound connection brings it into the branch.
    /// </summary>
    [Fact]
    public void AWorkspaceReadBackCutShortIsNeverSavedAndTheSweepBringsItLater()
    {
        using var proxy = new HoldingProxy(@"^GET /[^ ]*containers/[^/ ]+/archive", Engine.Endpoint);
        proxy.CutEveryMatchingResponse(3000);
        var baseCommit = Git("rev-parse", "HEAD");
        var r = Session.Invoke(StartTask("several doomed.txt", $"-Engine {proxy.Host} -Workspace Copy"));
        var result = r.Single<ClaudeTaskResult>();
        Log($"{result.Status} {result.Work}: {result.Reason}");
        Assert.True(proxy.Failures > 0, "the read-back was cut");
        Assert.Equal(ClaudeTaskStatus.Failed, result.Status);
        Assert.Equal(ClaudeTaskWork.NotSaved, result.Work);
        Assert.Contains("cut short", result.Reason);
        // Nothing of it saved: not the agent's files, and not its "deletions" either.
        Assert.Equal(baseCommit, Git("rev-parse", result.Branch));
        Assert.Contains(Engine.Volumes(Project.FullName), v => v.EndsWith("-workspace"));
        var record = (ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {result.TaskId}").ThrowIfFailed().Output.Single().BaseObject;
        Assert.Equal(ClaudeTaskWork.NotSaved, record.Work);
        Assert.Contains("cut short", record.WorkError);
        Assert.True(File.Exists(Path.Combine(record.CheckoutPath, "doomed.txt")), "the checkout here was not mirrored from half a tree");

        // The same cut again: still not saved, and not said again.
        var journal = JournalLines().Count(l => l.TryGetProperty("outcome", out var o) && o.GetString() == "NotSaved");
        var again = Session.Invoke($"Remove-ClaudeContainer -Orphaned -Engine {proxy.Host} -Confirm:$false");
        Assert.Empty(again.Errors.Where(e => e.FullyQualifiedErrorId.StartsWith("WorkNotSaved")));
        Assert.Equal(journal, JournalLines().Count(l => l.TryGetProperty("outcome", out var o) && o.GetString() == "NotSaved"));

        proxy.Heal();
        var sweep = Session.Invoke($"Remove-ClaudeContainer -Orphaned -Engine {proxy.Host} -Confirm:$false");
        Assert.Empty(sweep.Errors);
        var salvaged = (ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {result.TaskId}").ThrowIfFailed().Output.Single().BaseObject;
        Assert.Equal(ClaudeTaskWork.Salvaged, salvaged.Work);
        Assert.Null(salvaged.WorkError);
        Assert.Equal("loose", Git("show", salvaged.Branch + ":loose.txt"));
        Assert.Equal("committed", Git("show", salvaged.Branch + ":committed.txt"));
        Assert.DoesNotContain("doomed.txt", Git("ls-tree", "-r", "--name-only", salvaged.Branch));
        Assert.Null(salvaged.CheckoutPath);
        AssertNothingLeftOnTheEngine();
    }

    [Fact]
    public void AWorkspaceTheEngineFailsToTakeLeavesNothingAndRunsNothing()
    {
        using var proxy = new HoldingProxy(@"^PUT /[^ ]*containers/[^/ ]+/archive", Engine.Endpoint);
        proxy.FailEveryMatch(500, "write /var/lib/docker/volumes/x/_data/a: no space left on device");
        var r = Session.Invoke(StartTask("several doomed.txt", $"-Engine {proxy.Host} -Workspace Copy"));
        Assert.StartsWith("WorkspaceNotShipped,", r.FirstError.FullyQualifiedErrorId);
        Assert.Contains("no space left on device", r.FirstError.ToString());
        Assert.DoesNotContain("claude/", Git("branch", "--list"));
        AssertNothingLeftOnTheEngine();
    }
}

/// <summary>An engine on another machine that takes TLS with client certificates only, as DOCKER_TLS_VERIFY and DOCKER_CERT_PATH configure the docker CLI.</summary>
[Trait(Needs.Trait, Needs.Docker)]
[Trait(Needs.Trait, Needs.Remote)]
public sealed class RemoteTlsEngineTests : TaskTestBase, IClassFixture<RemoteTlsEngineTests.Remote>
{
    private readonly Remote _remote;

    public RemoteTlsEngineTests(DockerFixture docker, Remote remote, ITestOutputHelper output) : base(docker, output)
    {
        _remote = remote;
    }

    public sealed class Remote : RemoteFixture
    {
        public Remote() : base(tls: true, ssh: false)
        {
        }
    }

    private RemoteEngine Engine => _remote.Engine;

    private PsResult WithEnvironment(string host, string verify, string certPath, string script)
    {
        try
        {
            Session.Invoke($"$env:DOCKER_HOST = '{host}'; $env:DOCKER_TLS_VERIFY = {(verify == null ? "$null" : "'" + verify + "'")}; $env:DOCKER_CERT_PATH = {(certPath == null ? "$null" : "'" + certPath + "'")}").ThrowIfFailed();
            return Session.Invoke(script);
        }
        finally
        {
            Session.Invoke("$env:DOCKER_HOST = $null; $env:DOCKER_TLS_VERIFY = $null; $env:DOCKER_CERT_PATH = $null");
        }
    }

    [Fact]
    public void ATaskRunsOverVerifiedTlsWithTheDockerCliVariables()
    {
        var r = WithEnvironment(Engine.Endpoint, "1", Engine.CertificateDirectory,
            StartTask("write-here made.txt over-tls", "-Isolation None -Verbose"));
        var result = r.Single<ClaudeTaskResult>();
        Assert.True(result.Status == ClaudeTaskStatus.Succeeded, result.Reason + result.ErrorOutput + r.Describe());
        Assert.Equal(WorkspaceTransfer.Copy, result.Workspace);
        Assert.Equal("over-tls", File.ReadAllText(Path.Combine(Project.FullName, "made.txt")));
        Assert.Empty(Engine.Containers(Project.FullName));
        Assert.Empty(Engine.Volumes(Project.FullName));
        // The certificate material is read, never repeated.
        Assert.DoesNotContain(r.Verbose.Concat(r.Debug), l => l.Contains("PRIVATE KEY") || l.Contains("BEGIN CERTIFICATE"));
    }

    [Fact]
    public void AnEngineWhoseCertificateIsNotSignedByTheGivenAuthorityIsRefusedBeforeAnythingIsCreated()
    {
        // Another CA's files: the engine's certificate does not chain to it.
        using var other = new RemoteEngine(tls: true);
        var r = WithEnvironment(Engine.Endpoint, "1", other.CertificateDirectory, StartTask("write-here never.txt x", "-Isolation None"));
        Log(r.Describe());
        Assert.Contains("DockerEngineUnreachable", r.FirstError.FullyQualifiedErrorId);
        Assert.False(File.Exists(Path.Combine(Project.FullName, "never.txt")));
        Assert.Empty(Engine.Containers(Project.FullName));
        Assert.Empty(Engine.Volumes(Project.FullName));

        // Without TLS at all, a TLS-only engine does not answer plain HTTP either.
        var plain = WithEnvironment(Engine.Endpoint, null, null, StartTask("write-here never.txt x", "-Isolation None"));
        Assert.Contains("DockerEngineUnreachable", plain.FirstError.FullyQualifiedErrorId);
        Assert.Empty(Engine.Volumes(Project.FullName));
    }
}

/// <summary>An engine on another machine reached over ssh://, as the docker CLI reaches a build host: one ssh connection per session, keys from ssh's own configuration.</summary>
[Trait(Needs.Trait, Needs.Docker)]
[Trait(Needs.Trait, Needs.Remote)]
public sealed class RemoteSshEngineTests : TaskTestBase, IClassFixture<RemoteSshEngineTests.Remote>
{
    private readonly Remote _remote;

    public RemoteSshEngineTests(DockerFixture docker, Remote remote, ITestOutputHelper output) : base(docker, output)
    {
        _remote = remote;
    }

    public sealed class Remote : RemoteFixture
    {
        public Remote() : base(tls: false, ssh: true)
        {
        }
    }

    private static int SshProcessesOf(int pid) =>
        DockerCli.Exec("pgrep", "-f", $"co-ssh-{pid}-").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    [Fact]
    public void ATaskRunsOverSshWithItsWorkspaceCopiedAndTheTunnelGoesWithTheSession()
    {
        using var command = Override(SshTunnel.CommandVariable, _remote.Ssh.ClientCommand);
        var r = Session.Invoke(StartTask("write-here made.txt over-ssh", $"-Isolation None -Engine {_remote.Ssh.Endpoint} -Verbose"));
        var result = r.Single<ClaudeTaskResult>();
        Assert.True(result.Status == ClaudeTaskStatus.Succeeded, result.Reason + result.ErrorOutput + r.Describe());
        Assert.Equal(_remote.Ssh.Endpoint, result.Engine.TrimEnd('/'));
        Assert.Equal(WorkspaceTransfer.Copy, result.Workspace);
        Assert.Equal("over-ssh", File.ReadAllText(Path.Combine(Project.FullName, "made.txt")));
        Assert.Empty(_remote.Engine.Volumes(Project.FullName));
        Assert.Empty(_remote.Engine.Containers(Project.FullName));
        var listed = Session.Invoke($"Get-ClaudeContainer -All -Engine {_remote.Ssh.Endpoint}").ThrowIfFailed();
        Assert.Empty(listed.Output.Select(o => (ClaudeContainer)o.BaseObject).Where(c => c.ProjectPath == Project.FullName));
        // One tunnel for the session, however many requests and streams went through it.
        Assert.Equal(1, SshProcessesOf(Environment.ProcessId));

        // A session killed outright takes its tunnel along, and the engine sees the task's connection close.
        var script = StartTask("ignore-term 600", $"-Isolation None -Engine {_remote.Ssh.Endpoint}");
        using (var host = HostProcess.Start(script, environment: new Dictionary<string, string> { [SshTunnel.CommandVariable] = _remote.Ssh.ClientCommand }))
        {
            host.WaitForLine(l => l == "INFO: agent: ignoring SIGTERM", TimeSpan.FromSeconds(60));
            Assert.Equal(1, SshProcessesOf(host.Id));
            var name = Assert.Single(_remote.Engine.Cli("ps", "--format", "{{.Names}}", "--filter", "label=io.claude-orchestrator.project-path=" + Project.FullName).EnsureSuccess().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            host.Signal(HostProcess.SIGKILL);
            var gone = DockerCli.WaitGone(name, TimeSpan.FromSeconds(15), _remote.Engine.Socket);
            Log($"over ssh: container gone {gone.TotalMilliseconds:0} ms after SIGKILL of the host");
            Assert.True(gone < TimeSpan.FromSeconds(5), $"took {gone}");
            Assert.Equal(0, Eventually.Last(() => SshProcessesOf(host.Id), n => n == 0, TimeSpan.FromSeconds(10)));
            // Nothing could remove its local socket then; the next session's tunnel does, and that session removes its own on exit.
            Assert.Single(SocketsOf(host.Id));
            using (var next = HostProcess.Start(StartTask("succeed", $"-Isolation None -Engine {_remote.Ssh.Endpoint}"),
                       environment: new Dictionary<string, string> { [SshTunnel.CommandVariable] = _remote.Ssh.ClientCommand }))
            {
                Assert.True(next.WaitForExit(TimeSpan.FromSeconds(60)), next.Transcript);
                Assert.Equal(0, next.ExitCode);
                Assert.Empty(SocketsOf(host.Id));
                Assert.Empty(SocketsOf(next.Id));
            }
        }
    }

    private static string[] SocketsOf(int pid) => Directory.GetFiles(Path.GetTempPath(), $"co-ssh-{pid}-*.sock");

    [Fact]
    public void AHostThatRefusesTheConnectionIsAClearErrorBeforeAnythingIsCreated()
    {
        using var command = Override(SshTunnel.CommandVariable, _remote.Ssh.ClientCommand);
        var wrongPort = _remote.Ssh.Endpoint.Replace(_remote.Engine.Address, _remote.Engine.Address + ":2222");
        var r = Session.Invoke(StartTask("write-here never.txt x", $"-Isolation None -Engine {wrongPort}"));
        Log(r.Describe());
        var error = r.FirstError;
        Assert.StartsWith("DockerEngineUnreachable", error.FullyQualifiedErrorId);
        Assert.Contains("ssh could not forward", error.ToString());
        Assert.Contains("Connection refused", error.ToString());
        Assert.False(File.Exists(Path.Combine(Project.FullName, "never.txt")));
    }
}
