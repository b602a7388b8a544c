namespace ClaudeOrchestrator.Tests.Infrastructure;

/// <summary>
/// What a test class needs to run, as its "Needs" trait, so a tier can be picked by it:
/// dotnet test --filter Needs=None runs the tests that need no engine. A class that needs an
/// engine fails without one; it is never skipped.
/// </summary>
public static class Needs
{
    public const string Trait = "Needs";

    /// <summary>Nothing but the built module (and git or tar where a test says so).</summary>
    public const string None = "None";

    /// <summary>A Docker engine (the default one), and root for the tests that start private dockerds or switch users.</summary>
    public const string Docker = "Docker";

    /// <summary>Podman, its API service started by the fixture.</summary>
    public const string Podman = "Podman";

    /// <summary>An engine on "another machine": a dockerd in a network namespace, over TCP, TLS or ssh.</summary>
    public const string Remote = "Remote";

    /// <summary>A three-node swarm of dockerds in network namespaces.</summary>
    public const string Swarm = "Swarm";

    /// <summary>The real Claude Code CLI (fetched with npm once).</summary>
    public const string RealAgent = "RealAgent";
}
