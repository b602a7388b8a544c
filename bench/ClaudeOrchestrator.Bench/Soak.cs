using System.Diagnostics;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// Kills the host (standing in for pwsh) N times in rotation with SIGKILL, SIGTERM, SIGHUP and
/// SIGINT while a SIGTERM-ignoring agent runs, and measures signal-to-container-gone latency.
/// Any container still present 10 s after its host died is a leak.
/// </summary>
public static class Soak
{
    private static readonly (string Name, int Signal, bool Group)[] Modes =
    {
        ("SIGKILL", HostProcess.SIGKILL, false),
        ("SIGTERM", HostProcess.SIGTERM, false),
        ("SIGHUP", HostProcess.SIGHUP, false),
        ("SIGINT(group)", HostProcess.SIGINT, true),
    };

    public static async Task<int> RunAsync(int iterations, string image)
    {
        var project = Directory.CreateTempSubdirectory("co-soak-");
        using var api = new EngineApi();
        var byMode = Modes.ToDictionary(m => m.Name, _ => new Distribution());
        var all = new Distribution();
        var leaks = 0;
        var failures = 0;
        var watch = Stopwatch.StartNew();

        for (var i = 0; i < iterations; i++)
        {
            var mode = Modes[i % Modes.Length];
            using var host = HostProcess.Start(
                $"Start-ClaudeTask -Path '{project.FullName}' -Description 'ignore-term 600' -Image {image} -Verbose");
            string name;
            try
            {
                name = host.WaitForLine(l => l.StartsWith("VERBOSE: Creating container "), TimeSpan.FromSeconds(60)).Split(' ')[3];
                host.WaitForLine(l => l == "INFO: agent: ignoring SIGTERM", TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException e)
            {
                failures++;
                Console.Error.WriteLine($"[{i}] host did not start a task: {e.Message}");
                continue;
            }

            if (mode.Group)
            {
                host.SignalGroup(mode.Signal);
            }
            else
            {
                host.Signal(mode.Signal);
            }

            var gone = await api.WaitGoneAsync(name, TimeSpan.FromSeconds(10));
            if (gone == null)
            {
                leaks++;
                Console.Error.WriteLine($"[{i}] LEAK after {mode.Name}: {name}");
                await api.ForceRemoveAsync(name);
            }
            else
            {
                byMode[mode.Name].Add(gone.Value);
                all.Add(gone.Value);
            }

            host.WaitForExit(TimeSpan.FromSeconds(10));
            if ((i + 1) % 20 == 0)
            {
                Console.WriteLine($"  {i + 1}/{iterations} done, leaks so far {leaks}");
            }
        }

        var leftover = DockerCli.ManagedNames();
        project.Delete(recursive: true);

        Console.WriteLine();
        Console.WriteLine($"Soak: {iterations} kills in {watch.Elapsed.TotalSeconds:0} s, signal to container gone:");
        foreach (var (name, distribution) in byMode)
        {
            Console.WriteLine($"  {name,-14} {distribution.Describe()}");
        }

        Console.WriteLine($"  {"all",-14} {all.Describe()}");
        Console.WriteLine($"Leaks: {leaks}; labelled containers left at the end: {leftover.Count}; hosts that failed to start a task: {failures}");
        return leaks == 0 && leftover.Count == 0 && failures == 0 ? 0 : 1;
    }
}
