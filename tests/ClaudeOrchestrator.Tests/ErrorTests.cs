using System.Diagnostics;
using System.Management.Automation;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

[Trait(Needs.Trait, Needs.Docker)]
public class ErrorTests : TaskTestBase
{
    public ErrorTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
    }

    [Fact]
    public void UnreachableEngineIsATerminatingErrorNamingTheEndpointWithinSeconds()
    {
        var socket = Path.Combine(Path.GetTempPath(), "co-no-engine-" + Guid.NewGuid().ToString("N") + ".sock");
        Environment.SetEnvironmentVariable("DOCKER_HOST", "unix://" + socket);
        try
        {
            var watch = Stopwatch.StartNew();
            var r = Session.Invoke(StartTask("succeed"));
            watch.Stop();

            var error = r.FirstError;
            Assert.StartsWith("DockerEngineUnreachable,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ConnectionError, error.CategoryInfo.Category);
            Assert.Contains("unix://" + socket, error.Exception.Message);
            Assert.Contains("does not exist", error.Exception.Message);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");

            var caught = Session.Invoke(StartTask("succeed").Insert(0, "try { ") + " ; 'not reached' } catch { 'caught: ' + $_.FullyQualifiedErrorId }");
            Assert.StartsWith("caught: DockerEngineUnreachable,", Assert.Single(caught.Output).ToString());

            var list = Session.Invoke("Get-ClaudeContainer -All");
            Assert.StartsWith("DockerEngineUnreachable,", list.FirstError.FullyQualifiedErrorId);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DOCKER_HOST", null);
        }
    }

    [Fact]
    public void UnreachableTcpEndpointFailsFast()
    {
        // A listening socket that never answers HTTP: the ping times out instead of hanging.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var endpoint = "tcp://127.0.0.1:" + ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        Environment.SetEnvironmentVariable("DOCKER_HOST", endpoint);
        try
        {
            var watch = Stopwatch.StartNew();
            var r = Session.Invoke(StartTask("succeed"));
            watch.Stop();

            var error = r.FirstError;
            Assert.StartsWith("DockerEngineUnreachable,", error.FullyQualifiedErrorId);
            Assert.Contains("127.0.0.1", error.Exception.Message);
            Log($"silent TCP endpoint reported after {watch.ElapsedMilliseconds} ms");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
        }
        finally
        {
            Environment.SetEnvironmentVariable("DOCKER_HOST", null);
        }
    }

    [Fact]
    public void PermissionDeniedOnTheSocketSaysSo()
    {
        Assert.True(Environment.UserName == "root", "this test switches to the unprivileged user 'nobody' and so must run as root");
        var before = DockerCli.IdsButGateways();

        using var host = HostProcess.Start(StartTask("succeed"), user: "nobody");

        var line = host.WaitForLine(l => l.StartsWith("ERROR: "), TimeSpan.FromSeconds(60));
        Assert.StartsWith("ERROR: DockerEnginePermissionDenied,", line);
        Assert.Contains("Permission denied", line);
        Assert.Contains("unix:///var/run/docker.sock", line);
        Assert.True(host.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, host.ExitCode);
        Assert.Equal(before, DockerCli.IdsButGateways());
    }

    [Fact]
    public void MissingProjectPathIsItemNotFoundAndCreatesNothing()
    {
        var missing = Path.Combine(Project.FullName, "does-not-exist");
        var before = DockerCli.IdsButGateways();

        var r = Session.Invoke($"Start-ClaudeTask -Path '{missing}' -Description 'succeed' -Image {Image}");

        var error = Assert.Single(r.Errors);
        Assert.StartsWith("ProjectPathNotFound,", error.FullyQualifiedErrorId);
        Assert.IsType<ItemNotFoundException>(error.Exception);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Equal(missing, error.TargetObject);
        Assert.Empty(r.Output);
        Assert.Equal(before, DockerCli.IdsButGateways());
    }

    [Fact]
    public void ProjectPathThatIsAFileIsRefused()
    {
        var file = Path.Combine(Project.FullName, "file.txt");
        File.WriteAllText(file, "x");

        var r = Session.Invoke($"Start-ClaudeTask -Path '{file}' -Description 'succeed' -Image {Image}");

        Assert.StartsWith("ProjectPathNotDirectory,", Assert.Single(r.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void MissingImageSaysHowToBuildItAndLeavesNoContainer()
    {
        var before = DockerCli.IdsButGateways();

        var r = Session.Invoke($"Start-ClaudeTask -Path '{Project.FullName}' -Description 'succeed' -Image claude-orchestrator-missing:none");

        var error = r.FirstError;
        Assert.StartsWith("ImageNotFound,", error.FullyQualifiedErrorId);
        Assert.Contains("docker build", error.Exception.Message);
        Assert.Contains("claude-orchestrator-missing:none", error.Exception.Message);
        Assert.Equal(before, DockerCli.IdsButGateways());
    }

    [Theory]
    [InlineData("''")]
    [InlineData("'   '")]
    [InlineData("\"`n`t\"")]
    public void EmptyDescriptionIsRefusedBeforeAnythingIsCreated(string description)
    {
        var r = Session.Invoke($"Start-ClaudeTask -Path '{Project.FullName}' -Description {description} -Image {Image}");

        var error = r.FirstError;
        Assert.StartsWith("DescriptionEmpty,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
    }

    [Fact]
    public void InvalidEnvironmentNameIsRefused()
    {
        var r = Session.Invoke(StartTask("succeed", "-Environment @{ 'A=B' = 'x' }"));

        Assert.StartsWith("EnvironmentNameInvalid,", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Empty(r.Output);
    }

    [Fact]
    public void BadTimeoutIsAParameterError()
    {
        var r = Session.Invoke(StartTask("succeed", "-Timeout 'soon'"));

        Assert.Contains("is not a duration", r.FirstError.Exception.Message);
        Assert.Empty(r.Output);
    }

    [Fact]
    public void AnEngineRefusalAtCreateIsDockerEngineErrorWithTheEnginesReason()
    {
        // More CPUs than the machine has: the engine refuses the create itself.
        var before = DockerCli.IdsButGateways();

        var r = Session.Invoke(StartTask("succeed", "-Cpus 512"));

        var error = r.FirstError;
        Assert.StartsWith("DockerEngineError,", error.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidOperation, error.CategoryInfo.Category);
        Assert.Contains("refused to create the task container", error.Exception.Message);
        Assert.Contains("CPUs", error.Exception.Message);
        Assert.Equal(before, DockerCli.IdsButGateways());
    }

    [Fact]
    public void AnErrorAfterTheContainerExistsStillRemovesIt()
    {
        // The engine connection drops while the module attaches: the container exists and runs.
        using var proxy = new HoldingProxy(@"^POST /[^ ]*containers/([0-9a-f]{64})/attach");
        using (Override("DOCKER_HOST", proxy.Host))
        {
            // Offline: the held attach is the task container's (a gateway attaches before it starts).
            using var running = Session.Start(StartTask("sleep 600", "-Network none"));
            Assert.True(proxy.Held.Wait(TimeSpan.FromSeconds(60)), "the task never attached");
            var id = proxy.Held.Result.Groups[1].Value;
            Assert.Equal("running", DockerCli.Inspect(id, "{{.State.Status}}"));

            proxy.DropHeld();
            var r = running.Wait();

            Log(r.Describe());
            Assert.StartsWith("DockerEngineUnreachable,", r.FirstError.FullyQualifiedErrorId);
            Assert.False(DockerCli.Exists(id), "the finally removal did not run");
            var line = JournalLineFor(id);
            Assert.Equal("Failed", line.GetProperty("reason").GetString());
            Assert.Equal("Removed", line.GetProperty("outcome").GetString());
        }
    }
}
