using System.Diagnostics;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// The docker CLI, used by tests to prepare and inspect the engine independently of the module
/// under test.
/// </summary>
public static class DockerCli
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public Result EnsureSuccess()
        {
            if (ExitCode != 0)
            {
                throw new InvalidOperationException($"docker failed ({ExitCode}): {Stderr}");
            }

            return this;
        }
    }

    public static Result Run(params string[] args) => Exec("docker", args);

    /// <summary>An image whose root filesystem is <paramref name="folder"/>, as the engine's import makes it (no registry).</summary>
    public static void ImportFolder(string folder, string image) =>
        Exec("sh", "-c", $"tar -C '{folder}' -c . | docker import - {image}").EnsureSuccess();

    /// <summary>The CLI against the engine at <paramref name="host"/> (null: the default engine).</summary>
    public static Result RunOn(string host, params string[] args) =>
        Run(host == null ? args : new[] { "-H", host }.Concat(args).ToArray());

    public static Result Exec(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Names of containers carrying a label filter such as "io.claude-orchestrator.managed=true".</summary>
    public static IReadOnlyList<string> NamesWithLabel(string labelFilter) =>
        Run("ps", "-a", "--filter", "label=" + labelFilter, "--format", "{{.Names}}").EnsureSuccess()
            .Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Names of the containers carrying a label filter that are not the session's egress (tasks, probes).</summary>
    public static IReadOnlyList<string> TaskNamesWithLabel(string labelFilter) =>
        // One listing with each container's role: two listings would see a holder made or removed between them.
        Run("ps", "-a", "--filter", "label=" + labelFilter, "--format", "{{.Names}} {{.Label \"io.claude-orchestrator.role\"}}").EnsureSuccess().Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ', 2))
            .Where(f => f.Length < 2 || (f[1] != "egress-gateway" && f[1] != "egress-holder"))
            .Select(f => f[0]).ToList();

    /// <summary>
    /// The module's containers but the session's egress gateway and its network holders, which stay
    /// a while after the last task (the leak checks stop them and then look at everything: <see cref="AllManagedNames"/>).
    /// </summary>
    public static IReadOnlyList<string> ManagedNames() => TaskNamesWithLabel("io.claude-orchestrator.managed=true");

    public static IReadOnlyList<string> AllManagedNames() => NamesWithLabel("io.claude-orchestrator.managed=true");

    /// <summary>Every container's id (anyone's, not only the module's) but the egress gateways', one per line, as "ps -aq" prints them.</summary>
    public static string IdsButGateways() =>
        // One listing with each container's role: two listings would see a holder made between them.
        string.Join("\n", Run("ps", "-a", "--format", "{{.ID}} {{.Label \"io.claude-orchestrator.role\"}}").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ', 2))
            .Where(f => f.Length < 2 || (f[1] != "egress-gateway" && f[1] != "egress-holder"))
            .Select(f => f[0]));

    /// <summary>The module's networks (an egress gateway's) on the engine DOCKER_HOST names.</summary>
    public static IReadOnlyList<string> ManagedNetworks(string host = null) =>
        RunOn(host, "network", "ls", "--filter", "label=io.claude-orchestrator.managed=true", "--format", "{{.Name}}").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The egress gateways' containers (any state) on the engine DOCKER_HOST names.</summary>
    public static IReadOnlyList<string> GatewayNames() => NamesWithLabel("io.claude-orchestrator.role=egress-gateway");

    /// <summary>The egress gateways' containers and their network holders (any state).</summary>
    public static IReadOnlyList<string> EgressNames() => GatewayNames().Concat(NamesWithLabel("io.claude-orchestrator.role=egress-holder")).ToList();

    public static bool Exists(string nameOrId, string host = null) => RunOn(host, "inspect", "--type", "container", nameOrId).ExitCode == 0;

    public static string Inspect(string nameOrId, string format) =>
        Run("inspect", "--type", "container", "--format", format, nameOrId).EnsureSuccess().Stdout.Trim();

    /// <summary>Polls until the container is gone; returns how long that took.</summary>
    public static TimeSpan WaitGone(string nameOrId, TimeSpan limit, string host = null)
    {
        var watch = Stopwatch.StartNew();
        while (Exists(nameOrId, host))
        {
            if (watch.Elapsed > limit)
            {
                throw new TimeoutException($"Container {nameOrId} still exists after {limit}.");
            }

            Thread.Sleep(20);
        }

        return watch.Elapsed;
    }
}
