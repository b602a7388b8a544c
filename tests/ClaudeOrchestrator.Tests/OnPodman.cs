using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;

namespace ClaudeOrchestrator.Tests;

// The core, cleanup, signal and maintenance suites once more, against Podman's Docker-compatible
// API (a rootful `podman system service` the fixture starts): every fact of each suite, unchanged.

[Trait(Needs.Trait, Needs.Podman)]
public sealed class StartClaudeTaskTestsOnPodman : StartClaudeTaskTests
{
    public StartClaudeTaskTestsOnPodman(DockerFixture docker, ITestOutputHelper output) : base(docker, output, onPodman: true)
    {
    }
}

[Trait(Needs.Trait, Needs.Podman)]
public sealed class SignalTestsOnPodman : SignalTests
{
    public SignalTestsOnPodman(DockerFixture docker, ITestOutputHelper output) : base(docker, output, onPodman: true)
    {
    }
}

[Trait(Needs.Trait, Needs.Podman)]
public sealed class ProcessExitTestsOnPodman : ProcessExitTests
{
    public ProcessExitTestsOnPodman(DockerFixture docker, ITestOutputHelper output) : base(docker, output, onPodman: true)
    {
    }
}

[Trait(Needs.Trait, Needs.Podman)]
public sealed class AsJobAndLifecycleTestsOnPodman : AsJobAndLifecycleTests
{
    public AsJobAndLifecycleTestsOnPodman(DockerFixture docker, ITestOutputHelper output) : base(docker, output, onPodman: true)
    {
    }
}

[Trait(Needs.Trait, Needs.Podman)]
public sealed class OrphanTestsOnPodman : OrphanTests
{
    public OrphanTestsOnPodman(DockerFixture docker, ITestOutputHelper output) : base(docker, output, onPodman: true)
    {
    }
}

[Trait(Needs.Trait, Needs.Podman)]
public sealed class ContainerCmdletTestsOnPodman : ContainerCmdletTests
{
    public ContainerCmdletTestsOnPodman(DockerFixture docker, ITestOutputHelper output) : base(docker, output, onPodman: true)
    {
    }
}

[Trait(Needs.Trait, Needs.Podman)]
public sealed class CleanupMaintenanceTestsOnPodman : CleanupMaintenanceTests
{
    public CleanupMaintenanceTestsOnPodman(DockerFixture docker, ITestOutputHelper output) : base(docker, output, onPodman: true)
    {
    }
}

[Trait(Needs.Trait, Needs.Podman)]
public sealed class CleanupJournalTestsOnPodman : CleanupJournalTests
{
    public CleanupJournalTestsOnPodman(DockerFixture docker, ITestOutputHelper output) : base(docker, output, onPodman: true)
    {
    }
}
