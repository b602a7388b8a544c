using System.Diagnostics;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// A Podman engine serving the Docker-compatible API on a socket of its own: `podman system
/// service` from Debian's podman package, rootful with a private storage, run and tmp
/// directory, or rootless as an unprivileged user on that user's usual socket
/// ($XDG_RUNTIME_DIR/podman/podman.sock). Test set-up only: the OCI runtime is a wrapper that
/// drops the RLIMIT_NPROC and RLIMIT_NOFILE settings from each bundle before runc sees it,
/// because the kernel on these machines refuses Podman's default raising of them ("error
/// setting rlimit type 6: operation not permitted"). The module knows nothing of it.
/// </summary>
public sealed class PodmanEngine : TestEngine
{
    private readonly DirectoryInfo _dir;
    private readonly string _user;

    private PodmanEngine(DirectoryInfo dir, string socketPath, string user) : base(socketPath)
    {
        _dir = dir;
        _user = user;
    }

    /// <summary>A rootful engine with storage of its own under a temporary directory.</summary>
    /// <param name="hideInit">
    /// Run the service in a mount namespace where catatonit is absent, as on a host without
    /// Debian's catatonit package.
    /// </param>
    public static PodmanEngine StartRootful(bool hideInit = false)
    {
        RequirePodman();
        var dir = Directory.CreateTempSubdirectory("co-podman-");
        var conf = WriteConfig(dir.FullName, dir.FullName);
        var socket = Path.Combine(dir.FullName, "podman.sock");
        var start = new ProcessStartInfo(hideInit ? "unshare" : "podman");
        if (hideInit)
        {
            foreach (var arg in new[] { "-m", "sh", "-c",
                         "mount -t tmpfs none /usr/libexec/podman && " +
                         "for f in /usr/bin/catatonit /usr/libexec/catatonit/catatonit; do [ -e $f ] && mount --bind /dev/null $f; done; " +
                         "exec podman \"$@\"", "sh" })
            {
                start.ArgumentList.Add(arg);
            }
        }

        foreach (var arg in new[] { "--root", Path.Combine(dir.FullName, "storage"), "--runroot", Path.Combine(dir.FullName, "run"),
                     "system", "service", "--time=0", "unix://" + socket })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CONTAINERS_CONF"] = conf;
        var engine = new PodmanEngine(dir, socket, null);
        engine.Launch(start, "podman system service");
        return engine;
    }

    /// <summary>
    /// A rootless engine of <paramref name="user"/> (created with subordinate ids if missing), on
    /// that user's standard socket, so the module finds it without configuration.
    /// </summary>
    public static PodmanEngine StartRootless(string user, int uid)
    {
        RequirePodman();
        var home = TestUsers.Ensure(user, uid);
        var runtime = TestUsers.RuntimeDirectory(user, uid);
        var dir = Directory.CreateTempSubdirectory("co-podman-rootless-");
        Directory.CreateDirectory(Path.Combine(runtime, "podman"));
        var configDir = Directory.CreateDirectory(Path.Combine(home, ".config", "containers"));
        WriteConfig(configDir.FullName, null);
        DockerCli.Exec("chown", "-R", $"{user}:", runtime, Path.Combine(home, ".config"), dir.FullName).EnsureSuccess();
        var socket = Path.Combine(runtime, "podman", "podman.sock");
        var start = new ProcessStartInfo("runuser");
        foreach (var arg in new[] { "-u", user, "--", "env", $"HOME={home}", $"XDG_RUNTIME_DIR={runtime}", "podman", "system", "service", "--time=0", "unix://" + socket })
        {
            start.ArgumentList.Add(arg);
        }

        var engine = new PodmanEngine(dir, socket, user);
        engine.Launch(start, "rootless podman system service");
        return engine;
    }

    private static void RequirePodman()
    {
        if (DockerCli.Exec("sh", "-c", "command -v podman").ExitCode != 0)
        {
            throw new InvalidOperationException("These tests need Podman (apt-get install podman catatonit uidmap; see README, 'Running the tests').");
        }
    }

    /// <summary>containers.conf with the rlimit-dropping runtime; for a rootful engine also its own tmp and event log.</summary>
    private static string WriteConfig(string directory, string privateDir)
    {
        var wrapper = Path.Combine(directory, "runc-without-rlimits");
        File.WriteAllText(wrapper, """
            #!/usr/bin/python3
            # Test set-up only: drops RLIMIT_NPROC and RLIMIT_NOFILE from the OCI bundle, which this kernel refuses to set.
            import json, os, sys
            args = sys.argv[1:]
            if "create" in args or "run" in args:
                bundle = os.getcwd()
                for i, a in enumerate(args):
                    if a in ("--bundle", "-b") and i + 1 < len(args):
                        bundle = args[i + 1]
                    elif a.startswith("--bundle="):
                        bundle = a.split("=", 1)[1]
                path = os.path.join(bundle, "config.json")
                if os.path.exists(path):
                    with open(path) as f:
                        config = json.load(f)
                    limits = config.get("process", {}).get("rlimits")
                    if limits:
                        config["process"]["rlimits"] = [r for r in limits if r.get("type") not in ("RLIMIT_NPROC", "RLIMIT_NOFILE")]
                        with open(path, "w") as f:
                            json.dump(config, f)
            os.execv("/usr/sbin/runc", ["runc"] + args)
            """);
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                      UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var conf = Path.Combine(directory, "containers.conf");
        var engine = privateDir == null
            ? string.Empty
            : $"tmp_dir = \"{Path.Combine(privateDir, "tmp")}\"\nevents_logger = \"file\"\nevents_logfile_path = \"{Path.Combine(privateDir, "events.log")}\"\n";
        File.WriteAllText(conf, $"[engine]\n{engine}runtime = \"runc-without-rlimits\"\n[engine.runtimes]\nrunc-without-rlimits = [\"{wrapper}\"]\n");
        return conf;
    }

    protected override void Stop()
    {
        try
        {
            if (!Process.HasExited)
            {
                if (_user != null)
                {
                    // runuser's child is the user's podman: end it with its parent.
                    DockerCli.Exec("pkill", "-TERM", "-u", _user, "-f", "podman system service");
                }

                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        // Podman's overlay mounts of removed containers are gone; what is left are plain files.
        DockerCli.Exec("sh", "-c", $"umount -R '{_dir.FullName}/storage/overlay' 2>/dev/null; rm -rf '{_dir.FullName}'");
    }
}
