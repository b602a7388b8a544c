using Xunit;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests.Infrastructure;

/// <summary>
/// A real Docker engine and a test image made by docker import (busybox plus a stand-in claude
/// script). Without an engine every test in the collection fails: none may pass without one.
/// </summary>
public sealed class DockerFixture : IDisposable
{
    public const string Image = "claude-orchestrator-test:latest";

    public DockerFixture()
    {
        var version = DockerCli.Run("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})");
        if (version.ExitCode != 0)
        {
            throw new InvalidOperationException("These tests need a running Docker engine (see README, 'Running the tests'): " + version.Stderr.Trim());
        }

        EngineVersion = version.Stdout.Trim();
        TestImage.Build(Image);

        // The cleanup journal of this run goes to a directory of its own, not the user's.
        StateHome = Directory.CreateTempSubdirectory("co-state-");
        Environment.SetEnvironmentVariable("XDG_STATE_HOME", StateHome.FullName);
    }

    public DirectoryInfo StateHome { get; }

    private readonly Lazy<PodmanEngine> _podman = new(() =>
    {
        var podman = PodmanEngine.StartRootful();
        podman.LoadImage(Image);
        return podman;
    });

    /// <summary>
    /// A rootful Podman engine with the test image, started for the first suite that runs on it;
    /// its leftovers fail the run exactly like Docker's.
    /// </summary>
    public PodmanEngine Podman => _podman.Value;

    public string EngineVersion { get; }

    public void Dispose()
    {
        // The last word on leaks: whatever a test forgot, the run fails here.
        ClaudeOrchestrator.Engine.Egress.EgressGateways.StopAllAsync().Wait(TimeSpan.FromSeconds(30));
        var leftovers = DockerCli.AllManagedNames();
        foreach (var name in leftovers)
        {
            DockerCli.Run("rm", "-f", name);
        }

        DockerCli.Run("rmi", Image);
        StateHome.Delete(recursive: true);
        if (_podman.IsValueCreated)
        {
            var onPodman = _podman.Value.AllManagedNames();
            _podman.Value.Dispose();
            leftovers = leftovers.Concat(onPodman.Select(n => "podman:" + n)).ToList();
        }

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
