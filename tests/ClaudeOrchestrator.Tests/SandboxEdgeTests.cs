using System.Management.Automation;
using System.Security.Cryptography;
using System.Text;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// The edges of the sandbox: system directories, the engine's data root and credential stores
/// are refused with the rule named, their neighbours stay usable; descriptions of any size up to
/// the documented maximum arrive byte for byte; start failures carry the engine's own reason.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public sealed class SandboxEdgeTests : TaskTestBase
{
    public SandboxEdgeTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
    }

    private ErrorRecord Refusal(string path)
    {
        var before = DockerCli.Run("ps", "-aq").Stdout;
        var r = Session.Invoke($"Start-ClaudeTask -Path '{path}' -Description succeed -Image {Image}");
        var error = r.FirstError;
        Assert.True(error.FullyQualifiedErrorId.StartsWith("ProjectPathRefused,", StringComparison.Ordinal), $"{path}: {error.FullyQualifiedErrorId}: {error}");
        Assert.Equal(ErrorCategory.SecurityError, error.CategoryInfo.Category);
        Assert.Equal(before, DockerCli.Run("ps", "-aq").Stdout);
        return error;
    }

    private void Runs(string path)
    {
        var file = "edge-" + Guid.NewGuid().ToString("N")[..6];
        var result = Session.Invoke($"Start-ClaudeTask -Path '{path}' -Description 'write {file} ok' -Image {Image}").ThrowIfFailed().Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
        Assert.Equal("ok", File.ReadAllText(Path.Combine(path, file)));
    }

    [Theory]
    [InlineData("/etc", "it is the operating system's directory /etc")]
    [InlineData("/etc/ssh", "it lies inside the operating system's directory /etc")]
    [InlineData("/usr", "it is the operating system's directory /usr")]
    [InlineData("/usr/local", "it lies inside the operating system's directory /usr")]
    [InlineData("/usr/local/bin", "it lies inside the operating system's directory /usr")]
    [InlineData("/usr/share", "it lies inside the operating system's directory /usr")]
    [InlineData("/bin", "the operating system's directory /bin")]
    [InlineData("/sbin", "the operating system's directory /sbin")]
    [InlineData("/lib", "the operating system's directory /lib")]
    [InlineData("/boot", "it is the operating system's directory /boot")]
    [InlineData("/proc", "it is the operating system's directory /proc")]
    [InlineData("/proc/self", "it lies inside the operating system's directory /proc")]
    [InlineData("/sys", "it is the operating system's directory /sys")]
    [InlineData("/dev", "it is the operating system's directory /dev")]
    [InlineData("/dev/shm", "it lies inside the operating system's directory /dev")]
    [InlineData("/var/lib", "it lies inside the operating system's directory /var")]
    [InlineData("/var/lib/docker", "it lies inside the operating system's directory /var")]
    [InlineData("/var/log", "it lies inside the operating system's directory /var")]
    [InlineData("/var/tmp", "it is /var/tmp")]
    [InlineData("/tmp", "it is /tmp")]
    [InlineData("/home", "it is /home")]
    [InlineData("/mnt", "it is /mnt")]
    [InlineData("/opt", "it is /opt")]
    [InlineData("/srv", "it is /srv")]
    public void SystemDirectoriesAreRefusedNamingTheRule(string path, string why)
    {
        if (path == "/home")
        {
            Directory.CreateDirectory(path);
        }

        var error = Refusal(path);
        Assert.Contains(why, error.Exception.Message);
        Assert.Matches(@"\(rule (SystemDirectory|SharedRoot|HomeDirectory)\)", error.Exception.Message);
    }

    [Fact]
    public void ProjectsBesideAndBelowTheSystemDirectoriesStillRun()
    {
        // The subtrees meant for local files, and names that only start like a system directory.
        foreach (var parent in new[] { "/usr/local/src", "/var/tmp", "/tmp" })
        {
            var project = Directory.CreateDirectory(Path.Combine(parent, "co-edge-" + Guid.NewGuid().ToString("N")[..6]));
            try
            {
                Runs(project.FullName);
            }
            finally
            {
                project.Delete(recursive: true);
            }
        }

        var lookalike = Directory.CreateDirectory(Path.Combine(Project.FullName, "etc"));
        Runs(lookalike.FullName);
    }

    [Fact]
    public void TheEnginesOwnDataRootIsRefusedWhereverTheEngineKeepsIt()
    {
        using var engine = new PrivateEngine();
        var inside = Directory.CreateDirectory(Path.Combine(engine.DataRoot, "volumes", "co-edge"));
        var beside = Directory.CreateDirectory(Path.Combine(Path.GetDirectoryName(engine.DataRoot)!, "project"));
        using (Override("DOCKER_HOST", engine.Host))
        {
            foreach (var path in new[] { engine.DataRoot, inside.FullName })
            {
                var error = Refusal(path);
                Assert.Contains($"the container engine's data root {engine.DataRoot}", error.Exception.Message);
                Assert.Contains("(rule SystemDirectory)", error.Exception.Message);
            }

            // Its parent holds the engine's socket as well, which is refused first.
            Assert.Contains("(rule DockerSocket)", Refusal(Path.GetDirectoryName(engine.DataRoot)).Exception.Message);

            // The neighbour passes the guard: what stops it is only that this engine lacks the image.
            var r = Session.Invoke($"Start-ClaudeTask -Path '{beside.FullName}' -Description succeed -Image {Image}");
            Assert.StartsWith("ImageNotFound,", r.FirstError.FullyQualifiedErrorId);
        }
    }

    [Fact]
    public void CredentialStoresAreRefusedAndTheirNeighboursAreNot()
    {
        var home = Directory.CreateDirectory(Path.Combine(Project.FullName, "home", "dev"));
        string H(string relative) => Path.Combine(home.FullName, relative);
        var stores = new[]
        {
            ".ssh", ".aws", ".gnupg", ".docker", ".kube", ".config/gh", ".azure", ".config/gcloud",
            ".password-store", ".claude", ".config/containers", ".terraform.d", ".nuget/NuGet", ".local/share/keyrings",
        };
        foreach (var store in stores)
        {
            Directory.CreateDirectory(H(store));
        }

        File.WriteAllText(H(".netrc"), "machine example login x password y");
        Directory.CreateDirectory(H("work/app"));
        File.CreateSymbolicLink(H("work/keys-link"), H(".ssh"));
        var movedGpg = Directory.CreateDirectory(Path.Combine(Project.FullName, "elsewhere", "gpg"));

        var saved = new[] { "HOME", "GNUPGHOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "DOCKER_CONFIG", "KUBECONFIG" }
            .ToDictionary(v => v, Environment.GetEnvironmentVariable);
        Environment.SetEnvironmentVariable("HOME", home.FullName);
        Environment.SetEnvironmentVariable("GNUPGHOME", movedGpg.FullName);
        foreach (var name in new[] { "XDG_CONFIG_HOME", "XDG_DATA_HOME", "DOCKER_CONFIG", "KUBECONFIG" })
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        try
        {
            foreach (var store in stores)
            {
                var message = Refusal(H(store)).Exception.Message;
                Assert.Contains("it is " + H(store), message);
                Assert.Contains("(rule CredentialStore)", message);
            }

            Assert.Contains("it lies inside " + H(".ssh"), Refusal(Directory.CreateDirectory(H(".ssh/keys")).FullName).Exception.Message);
            Assert.Contains("it contains " + H(".config") + "/", Refusal(H(".config")).Exception.Message);
            Assert.Contains("it contains " + H(".local/share/keyrings"), Refusal(H(".local")).Exception.Message);
            var viaLink = Refusal(H("work/keys-link")).Exception.Message;
            Assert.Contains("resolves to '" + H(".ssh") + "'", viaLink);
            Assert.Contains("(rule CredentialStore)", viaLink);
            Assert.Contains("it is " + movedGpg.FullName, Refusal(movedGpg.FullName).Exception.Message);

            // Beside the stores, and names that only start like one.
            foreach (var neighbour in new[] { "work/app", ".sshx", ".config/ghost", ".dockerignore-tools", ".cache/project" })
            {
                Runs(Directory.CreateDirectory(H(neighbour)).FullName);
            }
        }
        finally
        {
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    private static string RandomText(int bytes)
    {
        // Quotes, shell syntax, newlines and multi-byte characters, as a pasted spec would have.
        var pieces = new[] { "line of text ", "'single' ", "\"double\" ", "$(touch /tmp/x) ", "`tick` ", "ünïcødé ✓ ", "\n", "\t", "\\ " };
        var random = new Random(bytes);
        var text = new StringBuilder("digest ");
        var size = Encoding.UTF8.GetByteCount(text.ToString());
        while (true)
        {
            var piece = pieces[random.Next(pieces.Length)];
            var pieceSize = Encoding.UTF8.GetByteCount(piece);
            if (size + pieceSize > bytes)
            {
                break;
            }

            text.Append(piece);
            size += pieceSize;
        }

        return text.Append('x', bytes - size).ToString();
    }

    [Theory]
    [InlineData(DescriptionDelivery.ArgumentLimitBytes, false)]
    [InlineData(DescriptionDelivery.ArgumentLimitBytes + 1, true)]
    [InlineData(200 * 1000, true)]
    [InlineData(2 * 1000 * 1000, true)]
    public void LongDescriptionsArriveByteForByte(int bytes, bool onStdin)
    {
        var description = RandomText(bytes);
        var utf8 = Encoding.UTF8.GetBytes(description);
        Assert.Equal(bytes, utf8.Length);

        var r = Session.Invoke($"Start-ClaudeTask -Path '{Project.FullName}' -Description $d -Image {Image} -Verbose",
            new Dictionary<string, object> { ["d"] = description });
        var result = r.ThrowIfFailed().Single<ClaudeTaskResult>();

        Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
        Assert.Equal($"bytes={bytes} sha256={Convert.ToHexString(SHA256.HashData(utf8)).ToLowerInvariant()}", result.Output.Trim());
        Assert.Equal(onStdin, r.Verbose.Any(v => v.Contains("the agent reads it on stdin")));
        // The description file is gone with the task.
        var files = Path.Combine(Docker.StateHome.FullName, "claude-orchestrator", "descriptions");
        Assert.True(!Directory.Exists(files) || Directory.GetFiles(files).Length == 0);
    }

    [Fact]
    public void DescriptionsBeyondTheMaximumAreRefusedBeforeAnythingIsCreated()
    {
        var before = DockerCli.Run("ps", "-aq").Stdout;
        var r = Session.Invoke($"Start-ClaudeTask -Path '{Project.FullName}' -Description $d -Image {Image}",
            new Dictionary<string, object> { ["d"] = new string('x', DescriptionDelivery.MaximumBytes + 1) });

        var error = r.FirstError;
        Assert.StartsWith("DescriptionTooLong,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        Assert.Contains("8,388,609 bytes", error.Exception.Message);
        Assert.Empty(r.Output);
        Assert.Equal(before, DockerCli.Run("ps", "-aq").Stdout);
    }

    [Fact]
    public void AnImageWithoutAShellGetsTheShellHint()
    {
        const string noShell = "claude-orchestrator-test-noshell:latest";
        var root = Directory.CreateTempSubdirectory("co-noshell-");
        try
        {
            File.WriteAllText(Path.Combine(root.FullName, "README"), "no shell here");
            DockerCli.ImportFolder(root.FullName, noShell);
            var r = Session.Invoke($"Start-ClaudeTask -Path '{Project.FullName}' -Description succeed -Image {noShell}");

            // The engine's init starts and cannot run the shell: depending on whether the module
            // attached before that, it is a start failure or a task that exited with 127.
            var error = r.FirstError;
            Log(error.FullyQualifiedErrorId + ": " + error.Exception.Message);
            Assert.Matches("^(ContainerStartFailed|ClaudeTaskFailed),", error.FullyQualifiedErrorId);
            Assert.Contains("code 127", error.Exception.Message);
            Assert.Contains("image needs /bin/sh", error.Exception.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Empty(DockerCli.ManagedNames());
        }
        finally
        {
            DockerCli.Run("rmi", noShell);
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void AnAgentCommandMissingFromTheImageIsNamed()
    {
        var r = Session.Invoke(StartTask("succeed", "-AgentCommand 'no-such-agent','--print'"));
        var result = r.Output.Select(o => o.BaseObject).OfType<ClaudeTaskResult>().Single();
        Assert.Equal(ClaudeTaskStatus.Failed, result.Status);
        Assert.Equal(127, result.ExitCode);
        Assert.Contains("The agent command 'no-such-agent' is not on the image's PATH.", result.Reason);
        Assert.DoesNotContain("/bin/sh", result.Reason);
    }

    [Fact]
    public void AnyOtherStartFailureCarriesTheEnginesReasonAndNoShellHint()
    {
        // The task's network disappears between create and start.
        var network = "co-edge-net-" + Guid.NewGuid().ToString("N")[..6];
        DockerCli.Run("network", "create", network).EnsureSuccess();
        using var proxy = new HoldingProxy(@"^POST /[^ ]*containers/([0-9a-f]{64})/start");
        try
        {
            using var _ = Override("DOCKER_HOST", proxy.Host);
            var running = Session.Start($"Start-ClaudeTask -Path '{Project.FullName}' -Description succeed -Image {Image} -Network {network}");
            Assert.True(proxy.Held.Wait(TimeSpan.FromSeconds(60)), "the task never asked to start its container");
            DockerCli.Run("network", "rm", network).EnsureSuccess();
            proxy.Release();
            var r = running.Wait();

            var error = r.FirstError;
            Log(error.Exception.Message);
            Assert.StartsWith("ContainerStartFailed,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidOperation, error.CategoryInfo.Category);
            Assert.Contains(network, error.Exception.Message);
            Assert.Contains("not found", error.Exception.Message);
            Assert.DoesNotContain("needs /bin/sh", error.Exception.Message);
            Assert.Empty(DockerCli.ManagedNames());
        }
        finally
        {
            DockerCli.Run("network", "rm", network);
        }
    }
}
