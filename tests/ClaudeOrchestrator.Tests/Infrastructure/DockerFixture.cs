using Xunit;

namespace ClaudeOrchestrator.Tests.Infrastructure;

/// <summary>
/// A real Docker engine and a test image made by docker import (busybox plus a stand-in claude
/// script). Without an engine every test in the collection fails: none may pass without one.
/// </summary>
public sealed class DockerFixture : IDisposable
{
    public const string Image = "claude-orchestrator-test:latest";
    private const string BusyboxPath = "/bin/busybox";

    public DockerFixture()
    {
        var version = DockerCli.Run("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})");
        if (version.ExitCode != 0)
        {
            throw new InvalidOperationException("These tests need a running Docker engine (see README, 'Running the tests'): " + version.Stderr.Trim());
        }

        EngineVersion = version.Stdout.Trim();
        BuildImage();
    }

    public string EngineVersion { get; }

    private static void BuildImage()
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
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Assets", "claude"), agent);
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

            DockerCli.Exec("sh", "-c",
                $"tar -C '{rootfs.FullName}' -c . | docker import --change 'ENV PATH=/usr/local/bin:/bin' - {Image}")
                .EnsureSuccess();
        }
        finally
        {
            rootfs.Delete(recursive: true);
        }
    }

    public void Dispose()
    {
        // The last word on leaks: whatever a test forgot, the run fails here.
        var leftovers = DockerCli.ManagedNames();
        foreach (var name in leftovers)
        {
            DockerCli.Run("rm", "-f", name);
        }

        DockerCli.Run("rmi", Image);
        if (leftovers.Count > 0)
        {
            throw new InvalidOperationException("Labelled containers were left behind: " + string.Join(", ", leftovers));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DockerCollection : ICollectionFixture<DockerFixture>
{
    public const string Name = "Docker engine";
}
