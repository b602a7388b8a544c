using System.Diagnostics;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Backends;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// A session killed at the two moments of a task's start sequence that the in-container
/// watcher cannot see by itself: after create and before start (nothing runs in the container),
/// and after start and before attach (nobody holds its stdin). A proxy in front of the engine
/// holds the session at exactly that request, and the session is killed there.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public sealed class StartWindowTests : TaskTestBase
{
    private const string StartRequest = @"^POST /[^ ]*containers/([0-9a-f]{64})/start";
    private const string AttachRequest = @"^POST /[^ ]*containers/([0-9a-f]{64})/attach";

    private readonly DirectoryInfo _state;
    private readonly string _previousState;
    private readonly List<Process> _owners = new();

    public StartWindowTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
        _previousState = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        _state = Directory.CreateTempSubdirectory("co-window-");
        Environment.SetEnvironmentVariable("XDG_STATE_HOME", _state.FullName);
    }

    /// <summary>A session held by the proxy at its first request matching <paramref name="request"/>; returns the container id.</summary>
    private (HostProcess Host, string Id) HoldSessionAt(HoldingProxy proxy)
    {
        // Offline: the held request is the task container's own (a gateway would make the same requests first).
        var host = HostProcess.Start(StartTask("sleep 600", "-Verbose -Network none"), environment: new Dictionary<string, string> { ["DOCKER_HOST"] = proxy.Host });
        if (!proxy.Held.Wait(TimeSpan.FromSeconds(60)))
        {
            host.Dispose();
            throw new TimeoutException("The session never reached the held request. Transcript:\n" + host.Transcript);
        }

        return (host, proxy.Held.Result.Groups[1].Value);
    }

    /// <summary>A labelled container in <paramref name="state"/> owned by a live process of this host that is not this test process.</summary>
    private string CreateLiveSessionContainer(string state)
    {
        var owner = Process.Start("sleep", "300")!;
        _owners.Add(owner);
        var name = $"claude-window-live-{state}-{Guid.NewGuid().ToString("N")[..6]}";
        var args = new List<string> { state == "created" ? "create" : "run", "--name", name };
        foreach (var label in new[]
        {
            "io.claude-orchestrator.managed=true",
            "io.claude-orchestrator.session-id=" + Guid.NewGuid().ToString("N"),
            "io.claude-orchestrator.owner-host=" + Environment.MachineName,
            "io.claude-orchestrator.owner-pid=" + owner.Id,
            "io.claude-orchestrator.owner-start=" + SessionIdentity.FormatStart(owner.StartTime),
        })
        {
            args.Add("--label");
            args.Add(label);
        }

        args.AddRange(new[] { Image, "true" });
        DockerCli.Run(args.ToArray()).EnsureSuccess();
        RegisterForCleanup(name);
        Assert.Equal(state, DockerCli.Inspect(name, "{{.State.Status}}"));
        return name;
    }

    [Fact]
    public void KilledBetweenCreateAndStartLeavesNothingOnceTheModuleIsNextImported()
    {
        var liveCreated = CreateLiveSessionContainer("created");
        var liveExited = CreateLiveSessionContainer("exited");

        string id;
        using (var proxy = new HoldingProxy(StartRequest))
        {
            var (host, held) = HoldSessionAt(proxy);
            id = held;
            using (host)
            {
                Assert.Equal("created", DockerCli.Inspect(id, "{{.State.Status}}"));
                host.Signal(HostProcess.SIGKILL);
                Assert.True(host.WaitForExit(TimeSpan.FromSeconds(10)));
            }
        }

        // Nothing runs in a created container: without the sweep it would stay for good.
        Thread.Sleep(1000);
        Assert.Equal("created", DockerCli.Inspect(id, "{{.State.Status}}"));

        // The next import of the module anywhere on this host sweeps it, in the background.
        var watch = Stopwatch.StartNew();
        using (var next = HostProcess.Start("'IMPORTED'; [System.Threading.Thread]::Sleep(5000)"))
        {
            next.WaitForLine(l => l == "OUTPUT: IMPORTED", TimeSpan.FromSeconds(60));
            var gone = DockerCli.WaitGone(id, TimeSpan.FromSeconds(30));
            Log($"created orphan swept {gone.TotalMilliseconds:0} ms after the import finished ({watch.ElapsedMilliseconds} ms after the host started)");
            Assert.True(next.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.True(next.ExitCode == 0, "the importing host failed. Transcript:\n" + next.Transcript);
        }

        var line = JournalLineFor(id);
        Assert.Equal("OrphanSweep", line.GetProperty("reason").GetString());
        Assert.Equal("Removed", line.GetProperty("outcome").GetString());

        // The sweep had five seconds; a live session's stopped containers are still there.
        Assert.Equal("created", DockerCli.Inspect(liveCreated, "{{.State.Status}}"));
        Assert.Equal("exited", DockerCli.Inspect(liveExited, "{{.State.Status}}"));
        Assert.DoesNotContain(JournalLines(), l => l.GetProperty("container").GetString() is var c && (c == liveCreated || c == liveExited));
    }

    [Fact]
    public void StartedButNeverAttachedContainerEndsItself()
    {
        using var proxy = new HoldingProxy(AttachRequest);
        var (host, id) = HoldSessionAt(proxy);
        using (host)
        {
            // Started before the attach: the watcher is waiting for the session to announce itself.
            Assert.Equal("running", DockerCli.Inspect(id, "{{.State.Status}}"));
            host.Signal(HostProcess.SIGKILL);
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        var gone = DockerCli.WaitGone(id, AgentWatcher.AnnounceDeadline + TimeSpan.FromSeconds(15));
        Log($"never-attached container gone {gone.TotalSeconds:0.0} s after its session was killed (deadline {AgentWatcher.AnnounceDeadline.TotalSeconds} s)");
    }

    public override void Dispose()
    {
        foreach (var owner in _owners)
        {
            owner.Kill();
            owner.Dispose();
        }

        Environment.SetEnvironmentVariable("XDG_STATE_HOME", _previousState);
        _state.Delete(recursive: true);
        base.Dispose();
    }
}
