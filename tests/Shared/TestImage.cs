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
