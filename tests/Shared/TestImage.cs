namespace ClaudeOrchestrator.Testing;

/// <summary>
/// The image tests and benchmarks run: docker import of busybox (from busybox-static) plus the
/// stand-in claude script. No registry needed.
/// </summary>
public static class TestImage
{
    private const string BusyboxPath = "/bin/busybox";

    /// <summary>
    /// The host's git and the libraries it links, so the stand-in agent can commit inside the
    /// container as the real one does (builtins need nothing from git-core).
    /// </summary>
    private static void AddHostGit(string rootfs)
    {
        const string git = "/usr/bin/git";
        if (!File.Exists(git))
        {
            throw new InvalidOperationException($"{git} is missing: install the git package.");
        }

        AddHostProgram(rootfs, git);
    }

    /// <summary>A host program and the libraries it links, at the same paths in the image.</summary>
    private static void AddHostProgram(string rootfs, string program, bool librariesOnly = false)
    {
        var files = librariesOnly ? new List<string>() : new List<string> { program };
        foreach (var line in DockerCli.Exec("ldd", program).EnsureSuccess().Stdout.Split('\n'))
        {
            var path = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(p => p.StartsWith('/'));
            if (path != null)
            {
                files.Add(path);
            }
        }

        foreach (var file in files)
        {
            var target = Path.Combine(rootfs, file.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            // Copy what a link resolves to: the image has no use for the host's link farm.
            File.Copy(new FileInfo(file).ResolveLinkTarget(true)?.FullName ?? file, target, true);
        }
    }

    /// <summary>Imports a busybox root filesystem with the stand-in agent as <paramref name="image"/>.</summary>
    public static void Build(string image) => Build(image, null);

    /// <summary>
    /// The image for the real Claude Code CLI: the same busybox root, plus bash (the CLI's Bash
    /// tool refuses other shells), node for the Messages API stand-in, the CLI itself under
    /// /opt/claude-code, and as claude on PATH the wrapper that starts the stand-in on 127.0.0.1.
    /// </summary>
    public static void BuildRealAgent(string image, string cli) => Build(image, rootfs =>
    {
        AddHostProgram(rootfs, "/bin/bash");
        AddHostProgram(rootfs, "/usr/bin/node");
        var opt = Directory.CreateDirectory(Path.Combine(rootfs, "opt", "claude-code"));
        File.Copy(cli, Path.Combine(opt.FullName, "claude"));
        AddHostProgram(rootfs, cli, librariesOnly: true);
        var standin = Directory.CreateDirectory(Path.Combine(rootfs, "opt", "standin"));
        var shared = Path.Combine(AppContext.BaseDirectory, "RealAgent");
        File.Copy(Path.Combine(shared, "messages-api-standin.js"), Path.Combine(standin.FullName, "messages-api-standin.js"));
        var wrapper = Path.Combine(rootfs, "usr", "local", "bin", "claude");
        File.Copy(Path.Combine(shared, "claude"), wrapper, true);
        File.SetUnixFileMode(wrapper, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(Path.Combine(opt.FullName, "claude"), (UnixFileMode)0b111_101_101);
    });

    /// <summary>The stand-in's image without these busybox applets (as a minimal image may lack them).</summary>
    public static void BuildWithout(string image, params string[] applets) => Build(image, rootfs =>
    {
        foreach (var applet in applets)
        {
            File.Delete(Path.Combine(rootfs, "bin", applet));
        }
    });

    /// <summary>
    /// The stand-in's image with broken transports for a swarm task, each picked by the task's
    /// PATH (passed with -Environment): /opt/no-gzip and /opt/no-base64 hold every busybox
    /// applet but that one; /opt/tar-stops-in/tar unpacks only the start of its input and exits
    /// 0; /opt/tar-stops-out/tar writes a cut archive and exits 0; /opt/log-cut/base64 prints a
    /// few lines and then kills the script that called it; /opt/log-damaged/base64 prints a few
    /// lines and exits 0. Each directory is followed by /usr/local/bin (the agent) on PATH. Its
    /// /bin/sh is dash, so the service's script runs as in a Debian image.
    /// </summary>
    public static void BuildTransportFaults(string image) => Build(image, rootfs =>
    {
        // /bin/sh is dash here, as in Debian's images: busybox's own shell would run its tar and
        // base64 applets whatever PATH says, and never the broken ones.
        AddHostProgram(rootfs, "/bin/dash");
        File.Delete(Path.Combine(rootfs, "bin", "sh"));
        File.CreateSymbolicLink(Path.Combine(rootfs, "bin", "sh"), "dash");
        var applets = DockerCli.Exec(BusyboxPath, "--list").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(a => a != "busybox").ToList();
        foreach (var lacking in new[] { "gzip", "base64" })
        {
            var dir = Directory.CreateDirectory(Path.Combine(rootfs, "opt", "no-" + lacking));
            foreach (var applet in applets.Where(a => a != lacking))
            {
                File.CreateSymbolicLink(Path.Combine(dir.FullName, applet), "/bin/busybox");
            }
        }

        void Wrapper(string dir, string name, string script)
        {
            var target = Directory.CreateDirectory(Path.Combine(rootfs, "opt", dir));
            foreach (var applet in applets.Where(a => a != name))
            {
                File.CreateSymbolicLink(Path.Combine(target.FullName, applet), "/bin/busybox");
            }

            var file = Path.Combine(target.FullName, name);
            File.WriteAllText(file, "#!/bin/busybox sh\n" + script + "\n");
            File.SetUnixFileMode(file, (UnixFileMode)0b111_101_101);
        }

        Wrapper("tar-stops-in", "tar", "case \"$1\" in -x*) head -c 3000 | /bin/busybox tar \"$@\" 2>/dev/null; exit 0 ;; esac; exec /bin/busybox tar \"$@\"");
        Wrapper("tar-stops-out", "tar", "case \"$1\" in -c*) /bin/busybox tar \"$@\" || exit; f=$2; head -c 200 \"$f\" > \"$f.cut\"; mv \"$f.cut\" \"$f\"; exit 0 ;; esac; exec /bin/busybox tar \"$@\"");
        Wrapper("log-cut", "base64", "/bin/busybox base64 \"$@\" | head -n 3; kill -KILL $PPID");
        Wrapper("log-damaged", "base64", "/bin/busybox base64 \"$@\" | head -n 3");
    });

    private static void Build(string image, Action<string> addMore)
    {
        if (!File.Exists(BusyboxPath))
        {
            throw new InvalidOperationException($"{BusyboxPath} is missing: install the busybox-static package.");
        }

        var rootfs = Directory.CreateTempSubdirectory("co-rootfs-");
        try
        {
            var bin = Directory.CreateDirectory(Path.Combine(rootfs.FullName, "bin"));
            File.Copy(BusyboxPath, Path.Combine(bin.FullName, "busybox"));
            var applets = DockerCli.Exec(BusyboxPath, "--list").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            foreach (var applet in applets.Where(a => a != "busybox"))
            {
                File.CreateSymbolicLink(Path.Combine(bin.FullName, applet), "busybox");
            }

            var localBin = Directory.CreateDirectory(Path.Combine(rootfs.FullName, "usr", "local", "bin"));
            var agent = Path.Combine(localBin.FullName, "claude");
            File.Copy(Path.Combine(AppContext.BaseDirectory, "claude"), agent);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(agent, (UnixFileMode)0b111_101_101);
            }

            var tmp = Directory.CreateDirectory(Path.Combine(rootfs.FullName, "tmp"));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(tmp.FullName, (UnixFileMode)0b1_111_111_111);
            }

            Directory.CreateDirectory(Path.Combine(rootfs.FullName, "workspace"));
            AddHostGit(rootfs.FullName);
            addMore?.Invoke(rootfs.FullName);

            DockerCli.Exec("sh", "-c",
                $"tar -C '{rootfs.FullName}' -c . | docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - {image}")
                .EnsureSuccess();
        }
        finally
        {
            rootfs.Delete(recursive: true);
        }
    }
}
