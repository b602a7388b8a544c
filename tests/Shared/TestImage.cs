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

        var files = new List<string> { git };
        foreach (var line in DockerCli.Exec("ldd", git).EnsureSuccess().Stdout.Split('\n'))
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
    public static void Build(string image)
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
