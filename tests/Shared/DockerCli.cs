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

    public static IReadOnlyList<string> ManagedNames() => NamesWithLabel("io.claude-orchestrator.managed=true");

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
