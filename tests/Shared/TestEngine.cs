using System.Collections.Concurrent;
using System.Diagnostics;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// An engine a test starts for itself as a child process (Podman's API service, a rootless
/// dockerd): where it listens, how it comes up, how it gets the test image, what labelled
/// containers it still has, and its removal with them.
/// </summary>
public abstract class TestEngine : IDisposable
{
    private readonly ConcurrentQueue<string> _log = new();

    protected TestEngine(string socketPath)
    {
        SocketPath = socketPath;
    }

    /// <summary>The engine's unix socket.</summary>
    public string SocketPath { get; }

    /// <summary>DOCKER_HOST (or -Engine) for it.</summary>
    public string Host => "unix://" + SocketPath;

    /// <summary>"version (API x)" as the engine reports it.</summary>
    public string Version { get; private set; }

    protected Process Process { get; private set; }

    /// <summary>Starts the engine's process and waits until it answers, or fails with its last words.</summary>
    protected void Launch(ProcessStartInfo start, string what)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        Process = Process.Start(start)!;
        Process.OutputDataReceived += (_, e) => { if (e.Data != null) _log.Enqueue(e.Data); };
        Process.ErrorDataReceived += (_, e) => { if (e.Data != null) _log.Enqueue(e.Data); };
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
        var answered = Eventually.Last(
            () => Process.HasExited ? null : DockerCli.RunOn(Host, "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"),
            version => version == null || version.ExitCode == 0, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250));
        if (answered?.ExitCode == 0)
        {
            Version = answered.Stdout.Trim();
            return;
        }

        Dispose();
        throw new InvalidOperationException($"{what} did not come up: " + string.Join("\n", _log.TakeLast(20)));
    }

    /// <summary>Loads an image of the main engine into this one (docker save, then load through this engine's API).</summary>
    public void LoadImage(string image)
    {
        var archive = Path.Combine(Path.GetTempPath(), "co-engine-image-" + Guid.NewGuid().ToString("N")[..8] + ".tar");
        DockerCli.Run("save", "-o", archive, image).EnsureSuccess();
        try
        {
            DockerCli.RunOn(Host, "load", "-i", archive).EnsureSuccess();
        }
        finally
        {
            File.Delete(archive);
        }
    }

    /// <summary>Labelled containers this engine still has, but an egress gateway (and its network holders) waiting for the session's next task.</summary>
    public IReadOnlyList<string> ManagedNames() => AllManagedNames().Except(new[] { "egress-gateway", "egress-holder" }.SelectMany(role =>
        DockerCli.RunOn(Host, "ps", "-a", "--filter", "label=io.claude-orchestrator.role=" + role, "--format", "{{.Names}}")
            .Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))).ToList();

    /// <summary>Every labelled container this engine still has.</summary>
    public IReadOnlyList<string> AllManagedNames() =>
        DockerCli.RunOn(Host, "ps", "-a", "--filter", "label=io.claude-orchestrator.managed=true", "--format", "{{.Names}}")
            .Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Ends the engine's processes and removes what it kept on disk.</summary>
    protected abstract void Stop();

    public void Dispose()
    {
        try
        {
            foreach (var name in AllManagedNames())
            {
                DockerCli.RunOn(Host, "rm", "-f", name);
            }
        }
        catch (Exception)
        {
            // The engine is gone already.
        }

        if (Process != null)
        {
            Stop();
        }

        GC.SuppressFinalize(this);
    }
}
