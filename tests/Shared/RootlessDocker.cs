using System.Diagnostics;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// Docker's own rootless mode (dockerd-rootless.sh under rootlesskit, from Debian's docker.io and
/// rootlesskit packages) as an unprivileged user, listening on $XDG_RUNTIME_DIR/docker.sock where
/// the module looks for it. Its network is slirp4netns, which opens /dev/net/tun: the set-up makes
/// that device usable by every user, as most distributions ship it.
/// </summary>
public sealed class RootlessDocker : TestEngine
{
    private readonly string _user;

    private RootlessDocker(string user, string socketPath) : base(socketPath)
    {
        _user = user;
    }

    public static RootlessDocker Start(string user, int uid)
    {
        var script = new[] { "/usr/bin/dockerd-rootless.sh", "/usr/share/docker.io/contrib/dockerd-rootless.sh" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("These tests need dockerd-rootless.sh (Debian's docker.io ships it in /usr/share/docker.io/contrib) and rootlesskit (apt-get install rootlesskit).");
        if (DockerCli.Exec("sh", "-c", "command -v rootlesskit").ExitCode != 0)
        {
            throw new InvalidOperationException("These tests need rootlesskit (apt-get install rootlesskit).");
        }

        var home = TestUsers.Ensure(user, uid);
        var runtime = TestUsers.RuntimeDirectory(user, uid);
        DockerCli.Exec("chmod", "666", "/dev/net/tun").EnsureSuccess();
        var socket = Path.Combine(runtime, "docker.sock");
        var start = new ProcessStartInfo("runuser");
        foreach (var arg in new[] { "-u", user, "--", "env", $"HOME={home}", $"XDG_RUNTIME_DIR={runtime}",
                     $"PATH={Path.GetDirectoryName(script)}:/usr/sbin:/usr/bin:/sbin:/bin", script })
        {
            start.ArgumentList.Add(arg);
        }

        var engine = new RootlessDocker(user, socket);
        engine.Launch(start, "rootless dockerd");
        return engine;
    }

    protected override void Stop()
    {
        // rootlesskit, its child dockerd and containerd all run as the user.
        DockerCli.Exec("pkill", "-TERM", "-u", _user);
        if (!Process.WaitForExit(15_000))
        {
            DockerCli.Exec("pkill", "-KILL", "-u", _user);
        }
    }
}
