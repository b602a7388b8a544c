using Xunit;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Testing;
using ClaudeOrchestrator.Tests.Infrastructure;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// The tar code a copied workspace travels in, against GNU tar (the format's other side), and
/// the extraction's refusals: what comes back was written by the agent.
/// </summary>
[Trait(Needs.Trait, Needs.None)]
public sealed class WorkspaceTreeTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("co-tree-");

    public void Dispose() => _dir.Delete(true);

    private string PathOf(params string[] parts) => Path.Combine(new[] { _dir.FullName }.Concat(parts).ToArray());

    [Fact]
    public void APackedTreeIsWhatGnuTarExtracts()
    {
        var source = Directory.CreateDirectory(PathOf("source")).FullName;
        var longName = string.Join("/", Enumerable.Repeat("segment-of-a-long-path", 8)) + "/file-ü.txt";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(source, longName))!);
        File.WriteAllText(Path.Combine(source, longName), "long\n");
        File.WriteAllBytes(Path.Combine(source, "big.bin"), Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray());
        File.WriteAllText(Path.Combine(source, "run.sh"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(source, "run.sh"), (UnixFileMode)0b111_101_101);
        File.CreateSymbolicLink(Path.Combine(source, "link"), "run.sh");
        File.WriteAllText(Path.Combine(source, "skipped.txt"), "no\n");

        var archive = PathOf("out.tar");
        using (var stream = File.Create(archive))
        {
            var tar = new TarWriter(stream, 1234, 5678);
            WorkspaceTree.Pack(tar, source, "workspace", rel => rel == "skipped.txt", open: false);
            tar.Finish();
        }

        var target = Directory.CreateDirectory(PathOf("gnu")).FullName;
        DockerCli.Exec("tar", "-xf", archive, "-C", target).EnsureSuccess();
        var listing = DockerCli.Exec("tar", "--numeric-owner", "-tvf", archive).EnsureSuccess().Stdout;
        Assert.Contains("1234/5678", listing);
        Assert.Equal("long\n", File.ReadAllText(Path.Combine(target, "workspace", longName)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(source, "big.bin")), File.ReadAllBytes(Path.Combine(target, "workspace", "big.bin")));
        Assert.Equal("run.sh", new FileInfo(Path.Combine(target, "workspace", "link")).LinkTarget);
        Assert.True((File.GetUnixFileMode(Path.Combine(target, "workspace", "run.sh")) & UnixFileMode.UserExecute) != 0);
        Assert.False(File.Exists(Path.Combine(target, "workspace", "skipped.txt")));
    }

    [Fact]
    public void WhatGnuTarPacksExtractsUnderTheTopDirectoryAndMirrorsOntoATree()
    {
        var source = Directory.CreateDirectory(PathOf("workspace")).FullName;
        var longName = string.Join("/", Enumerable.Repeat("another-long-segment", 14)) + "/f.txt";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(source, longName))!);
        File.WriteAllText(Path.Combine(source, longName), "deep\n");
        File.WriteAllText(Path.Combine(source, "changed.txt"), "new content\n");
        File.CreateSymbolicLink(Path.Combine(source, "to-outside"), "/etc/passwd");
        foreach (var format in new[] { "gnu", "pax", "ustar" })
        {
            var archive = PathOf(format + ".tar");
            var r = DockerCli.Exec("tar", "--format=" + format, "-cf", archive, "-C", _dir.FullName, "workspace");
            if (format == "ustar")
            {
                // ustar cannot hold the long name at all: GNU tar says so and leaves it out.
                Assert.NotEqual(0, r.ExitCode);
            }
            else
            {
                r.EnsureSuccess();
            }

            var staging = PathOf("staging-" + format);
            using (var stream = File.OpenRead(archive))
            {
                WorkspaceTree.Extract(new TarReader(stream), "workspace", staging);
            }

            Assert.Equal("new content\n", File.ReadAllText(Path.Combine(staging, "changed.txt")));
            Assert.Equal("/etc/passwd", new FileInfo(Path.Combine(staging, "to-outside")).LinkTarget);
            Assert.Equal(format != "ustar", File.Exists(Path.Combine(staging, longName)));

            // The real tree: a changed file, a file the agent deleted, and a link where a directory was.
            var real = Directory.CreateDirectory(PathOf("real-" + format)).FullName;
            File.WriteAllText(Path.Combine(real, "changed.txt"), "old\n");
            File.WriteAllText(Path.Combine(real, "deleted.txt"), "gone after the mirror\n");
            Directory.CreateDirectory(Path.Combine(real, "to-outside"));
            File.WriteAllText(Path.Combine(real, "to-outside", "inner.txt"), "x");
            WorkspaceTree.Mirror(staging, real);
            Assert.Equal("new content\n", File.ReadAllText(Path.Combine(real, "changed.txt")));
            Assert.False(File.Exists(Path.Combine(real, "deleted.txt")));
            Assert.Equal("/etc/passwd", new FileInfo(Path.Combine(real, "to-outside")).LinkTarget);
            Assert.NotEqual("", File.ReadAllText("/etc/passwd"));
        }
    }

    [Fact]
    public void ExtractionRefusesNamesThatClimbAndNeverWritesThroughALink()
    {
        var outside = Directory.CreateDirectory(PathOf("outside")).FullName;
        var archive = new MemoryStream();
        var tar = new TarWriter(archive, 0, 0);
        tar.AddDirectory("workspace", 493, DateTime.UtcNow);
        tar.AddFile("workspace/../escaped.txt", 420, DateTime.UtcNow, "x"u8.ToArray());
        tar.AddFile("/abs.txt", 420, DateTime.UtcNow, "x"u8.ToArray());
        tar.AddSymbolicLink("workspace/door", outside, DateTime.UtcNow);
        tar.AddFile("workspace/door/through.txt", 420, DateTime.UtcNow, "x"u8.ToArray());
        tar.AddFile("elsewhere/file.txt", 420, DateTime.UtcNow, "x"u8.ToArray());
        tar.AddFile("workspace/ok.txt", 2541, DateTime.UtcNow, "fine"u8.ToArray());
        tar.Finish();
        archive.Position = 0;

        var staging = PathOf("staging");
        var skipped = WorkspaceTree.Extract(new TarReader(archive), "workspace", staging);

        Assert.Equal(4, skipped);
        Assert.Empty(Directory.GetFileSystemEntries(outside));
        Assert.False(File.Exists(PathOf("escaped.txt")));
        Assert.Equal("fine", File.ReadAllText(Path.Combine(staging, "ok.txt")));
        // No setuid, setgid or sticky bit survives.
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(Path.Combine(staging, "ok.txt")) & (UnixFileMode)0b111_111_111_111);
        Assert.Throws<IOException>(() => WorkspaceTree.Extract(new TarReader(new MemoryStream()), "workspace", staging));
    }

    [Fact]
    public void ADamagedArchiveIsAnErrorNotAPartialTree()
    {
        var archive = new MemoryStream();
        var tar = new TarWriter(archive, 0, 0);
        tar.AddFile("workspace/a.txt", 420, DateTime.UtcNow, new byte[1000]);
        tar.Finish();
        var bytes = archive.ToArray();
        bytes[10] ^= 0x55;
        Assert.Throws<InvalidDataException>(() => WorkspaceTree.Extract(new TarReader(new MemoryStream(bytes)), "workspace", PathOf("damaged")));
        var cut = archive.ToArray().Take(700).ToArray();
        Assert.Throws<InvalidDataException>(() => WorkspaceTree.Extract(new TarReader(new MemoryStream(cut)), "workspace", PathOf("cut")));
    }

    [Fact]
    public void AnArchiveCutAtAnEntrysEndOrEmptyIsAnErrorNeverAShorterTree()
    {
        // Read back and mirrored, a shorter tree would be saved as the agent deleting files.
        var archive = new MemoryStream();
        var tar = new TarWriter(archive, 0, 0);
        tar.AddDirectory("workspace", 493, DateTime.UtcNow);
        tar.AddFile("workspace/a.txt", 420, DateTime.UtcNow, new byte[512]);
        tar.AddFile("workspace/b.txt", 420, DateTime.UtcNow, new byte[512]);
        tar.Finish();
        var whole = archive.ToArray();

        // Cut exactly after a.txt's data: every entry before it is whole, and the end block is missing.
        var atBoundary = whole.Take(3 * 512).ToArray();
        var e = Assert.Throws<InvalidDataException>(() => WorkspaceTree.Extract(new TarReader(new MemoryStream(atBoundary)), "workspace", PathOf("boundary")));
        Assert.Contains("cut short", e.Message);
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => WorkspaceTree.Extract(new TarReader(new MemoryStream()), "workspace", PathOf("empty"))).Message);

        // Whole but holding nothing of the part: an end block alone, or another directory's entries.
        Assert.Contains("nothing at or under", Assert.Throws<InvalidDataException>(() => WorkspaceTree.Extract(new TarReader(new MemoryStream(new byte[1024])), "workspace", PathOf("nothing"))).Message);

        // The whole archive is fine.
        WorkspaceTree.Extract(new TarReader(new MemoryStream(whole)), "workspace", PathOf("whole"));
        Assert.True(File.Exists(Path.Combine(PathOf("whole"), "b.txt")));
    }

    [Theory]
    [InlineData("unix:///var/run/docker.sock", true)]
    [InlineData("npipe://./pipe/docker_engine", true)]
    [InlineData("tcp://127.0.0.1:2375", true)]
    [InlineData("tcp://localhost:2376", true)]
    [InlineData("tcp://[::1]:2375", true)]
    [InlineData("tcp://10.0.0.5:2375", false)]
    [InlineData("tcp://build-host.example:2376", false)]
    [InlineData("https://192.168.1.20:2376", false)]
    public void AnEngineIsOnThisMachineBySocketOrLoopback(string endpoint, bool local) =>
        Assert.Equal(local, DockerConnection.OnThisMachine(endpoint));

    [Theory]
    [InlineData("1000:1000", 1000, 1000)]
    [InlineData("0", 0, 0)]
    [InlineData("agent", null, null)]
    [InlineData(null, null, null)]
    public void TheShippedFilesBelongToTheTasksNumericUser(string user, int? uid, int? gid) =>
        Assert.Equal((uid, gid), ShippedWorkspace.NumericUser(user));
}
