using System.Diagnostics;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// The real Claude Code CLI: the native linux-x64 executable of the npm package, fetched once
/// with npm into a cache directory that outlives test runs (CI keeps it between runs), so a test
/// run downloads it at most once. CLAUDE_CODE_CLI names an executable to use instead.
/// </summary>
public static class ClaudeCodeCli
{
    /// <summary>The version the end-to-end tests were written against.</summary>
    public const string Version = "2.1.332";

    private const string Package = "@anthropic-ai/claude-code-linux-x64";

    public static string CacheDirectory =>
        Environment.GetEnvironmentVariable("CLAUDE_ORCHESTRATOR_TEST_CACHE") is { Length: > 0 } cache
            ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "claude-orchestrator-tests");

    /// <summary>The executable's path, downloading it when it is not cached yet; throws when it cannot be had.</summary>
    public static string Locate()
    {
        var explicitPath = Environment.GetEnvironmentVariable("CLAUDE_CODE_CLI");
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return File.Exists(explicitPath) ? explicitPath : throw new InvalidOperationException($"CLAUDE_CODE_CLI names {explicitPath}, which does not exist.");
        }

        var directory = Path.Combine(CacheDirectory, "claude-code-" + Version);
        var executable = Path.Combine(directory, "package", "claude");
        if (File.Exists(executable))
        {
            return executable;
        }

        var staging = Directory.CreateTempSubdirectory("co-claude-code-");
        try
        {
            var pack = Run("npm", staging.FullName, "pack", "--silent", Package + "@" + Version);
            var tarball = pack.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last().Trim();
            Run("tar", staging.FullName, "-xzf", tarball, "package/claude");
            Directory.CreateDirectory(Path.GetDirectoryName(directory)!);
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, true);
            }

            Directory.CreateDirectory(directory);
            Directory.Move(Path.Combine(staging.FullName, "package"), Path.Combine(directory, "package"));
            return executable;
        }
        finally
        {
            staging.Delete(recursive: true);
        }
    }

    private static string Run(string program, string directory, params string[] args)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} took over 5 minutes.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"Fetching the Claude Code CLI failed: {program} {string.Join(' ', args)} exited with {process.ExitCode}: {stderr.Result.Trim()}");
        }

        return stdout.Result;
    }
}
