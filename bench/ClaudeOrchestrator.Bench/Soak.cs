using System.Diagnostics;
using System.Globalization;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Bench;

/// <summary>
/// Kills the host (standing in for pwsh) N times with a random signal (SIGKILL, SIGTERM,
/// SIGHUP, SIGINT to the group) at a random moment of a task's life: while the host starts and
/// imports the module, just after it asks the engine to create the container, to start it, to
/// attach to it, and while the agent (which ignores SIGTERM) runs. After each kill it reports
/// what is left 3 s later and, for a container left in state created, whether the next use of
/// the module (a fresh host that imports it) sweeps it. A container left running because its
/// session died before it attached must end itself within the watcher's deadline.
/// </summary>
public static class Soak
{
    private static readonly (string Name, int Signal, bool Group)[] Signals =
    {
        ("SIGKILL", HostProcess.SIGKILL, false),
        ("SIGTERM", HostProcess.SIGTERM, false),
        ("SIGHUP", HostProcess.SIGHUP, false),
        ("SIGINT(group)", HostProcess.SIGINT, true),
    };

    // Each moment: the host's line that marks it (null: the host's own start) and the spread of
    // the kill after it. The verbose lines are written just before the engine call they name.
    private static readonly (string Name, string Marker, int SpreadMs)[] Moments =
    {
        ("launch", null, 1500),
        ("create", "VERBOSE: Creating container ", 60),
        ("start", "VERBOSE: Starting ", 60),
        ("attach", "VERBOSE: Attaching to ", 40),
        ("running", "INFO: agent: ignoring SIGTERM", 300),
    };

    private static readonly TimeSpan RightAfter = TimeSpan.FromSeconds(3);

    // The watcher's announce deadline (15 s) plus removal.
    private static readonly TimeSpan NeverAttachedLimit = TimeSpan.FromSeconds(20);

    public static async Task<int> RunAsync(int iterations, string image)
    {
        var project = Directory.CreateTempSubdirectory("co-soak-");
        using var api = new EngineApi();
        var random = new Random();
        var bySignal = Signals.ToDictionary(s => s.Name, _ => new Distribution());
        var byMoment = Moments.ToDictionary(m => m.Name, _ => new Distribution());
        var kills = Moments.ToDictionary(m => m.Name, _ => 0);
        var noContainer = 0;
        var leftCreated = 0;
        var sweptByNextUse = 0;
        var leftRunning = 0;
        var endedThemselves = 0;
        var leaks = 0;
        var failures = 0;
        var sinceUnix = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
        var watch = Stopwatch.StartNew();
        var pendingRunning = new List<(string Id, Stopwatch SinceKill, int Iteration)>();

        for (var i = 0; i < iterations; i++)
        {
            var signal = Signals[random.Next(Signals.Length)];
            var moment = Moments[random.Next(Moments.Length)];
            kills[moment.Name]++;
            using var host = HostProcess.Start(
                $"Start-ClaudeTask -Path '{project.FullName}' -Description 'ignore-term 600' -Image {image} -Verbose");
            try
            {
                if (moment.Marker != null)
                {
                    host.WaitForLine(l => l.StartsWith(moment.Marker, StringComparison.Ordinal), TimeSpan.FromSeconds(60));
                }
            }
            catch (TimeoutException e)
            {
                failures++;
                Console.Error.WriteLine($"[{i}] host never reached '{moment.Name}': {e.Message}");
                continue;
            }

            Thread.Sleep(random.Next(moment.SpreadMs));
            if (signal.Group)
            {
                host.SignalGroup(signal.Signal);
            }
            else
            {
                host.Signal(signal.Signal);
            }

            var sinceKill = Stopwatch.StartNew();
            host.WaitForExit(TimeSpan.FromSeconds(20));
            var owner = "io.claude-orchestrator.owner-pid=" + host.Id.ToString(CultureInfo.InvariantCulture);
            IReadOnlyList<(string Id, string State)> left;
            var seen = false;
            while (true)
            {
                left = await api.ListByLabelAsync(owner);
                seen |= left.Count > 0;
                if (left.Count == 0 || sinceKill.Elapsed > RightAfter)
                {
                    break;
                }

                await Task.Delay(5);
            }

            if (left.Count == 0)
            {
                if (seen || host.Transcript.Contains("VERBOSE: Starting ", StringComparison.Ordinal))
                {
                    bySignal[signal.Name].Add(sinceKill.Elapsed);
                    byMoment[moment.Name].Add(sinceKill.Elapsed);
                }
                else
                {
                    noContainer++;
                }
            }

            foreach (var (id, state) in left)
            {
                if (state == "created")
                {
                    leftCreated++;
                    Console.WriteLine($"[{i}] {signal.Name} at {moment.Name}: container {id[..12]} left created; next module use...");
                    if (await NextModuleUseSweeps(api, id))
                    {
                        sweptByNextUse++;
                    }
                    else
                    {
                        leaks++;
                        Console.Error.WriteLine($"[{i}] LEAK: created container {id[..12]} survived the next module use");
                        await api.ForceRemoveAsync(id);
                    }
                }
                else
                {
                    leftRunning++;
                    Console.WriteLine($"[{i}] {signal.Name} at {moment.Name}: container {id[..12]} left {state}; it must end itself");
                    pendingRunning.Add((id, sinceKill, i));
                }
            }

            foreach (var pending in pendingRunning.ToList())
            {
                if (!await api.ExistsAsync(pending.Id))
                {
                    endedThemselves++;
                    pendingRunning.Remove(pending);
                }
                else if (pending.SinceKill.Elapsed > NeverAttachedLimit)
                {
                    leaks++;
                    Console.Error.WriteLine($"[{pending.Iteration}] LEAK: container {pending.Id[..12]} still there {NeverAttachedLimit.TotalSeconds} s after the kill");
                    await api.ForceRemoveAsync(pending.Id);
                    pendingRunning.Remove(pending);
                }
            }

            if ((i + 1) % 25 == 0)
            {
                Console.WriteLine($"  {i + 1}/{iterations} done, leaks so far {leaks}");
            }
        }

        foreach (var pending in pendingRunning)
        {
            var remaining = NeverAttachedLimit - pending.SinceKill.Elapsed;
            if (await api.WaitGoneAsync(pending.Id, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero) != null)
            {
                endedThemselves++;
            }
            else
            {
                leaks++;
                Console.Error.WriteLine($"[{pending.Iteration}] LEAK: container {pending.Id[..12]} still there {NeverAttachedLimit.TotalSeconds} s after the kill");
                await api.ForceRemoveAsync(pending.Id);
            }
        }

        var window = CreateToStart(sinceUnix);
        var leftover = DockerCli.ManagedNames();
        project.Delete(recursive: true);

        Console.WriteLine();
        Console.WriteLine($"Soak: {iterations} kills at random moments in {watch.Elapsed.TotalSeconds:0} s");
        Console.WriteLine("Kill to no container left, by signal (kills after the container existed):");
        foreach (var (name, distribution) in bySignal)
        {
            Console.WriteLine($"  {name,-14} {distribution.Describe()}");
        }

        Console.WriteLine("The same by moment of the kill (kills at that moment in brackets):");
        foreach (var (name, distribution) in byMoment)
        {
            Console.WriteLine($"  {name,-8} [{kills[name],3}] {distribution.Describe()}");
        }

        Console.WriteLine($"Killed before any container existed: {noContainer}");
        Console.WriteLine($"Left in state created 3 s after the kill: {leftCreated}; swept by the next module use: {sweptByNextUse}");
        Console.WriteLine($"Left running (started, never attached) 3 s after the kill: {leftRunning}; ended themselves within {NeverAttachedLimit.TotalSeconds} s: {endedThemselves}");
        Console.WriteLine($"Create-to-start window (engine's create and start events, {window.Count} started containers): {window.Describe()}");
        Console.WriteLine($"Leaks: {leaks}; labelled containers left at the end: {leftover.Count}; hosts that never reached their moment: {failures}");
        return leaks == 0 && leftover.Count == 0 && failures == 0 ? 0 : 1;
    }

    /// <summary>A fresh host imports the module and lives two seconds; the container must be gone by then.</summary>
    private static async Task<bool> NextModuleUseSweeps(EngineApi api, string id)
    {
        using var next = HostProcess.Start("'IMPORTED'; [System.Threading.Thread]::Sleep(2000)");
        next.WaitForLine(l => l == "OUTPUT: IMPORTED", TimeSpan.FromSeconds(60));
        next.WaitForExit(TimeSpan.FromSeconds(30));
        return !await api.ExistsAsync(id);
    }

    /// <summary>From the engine's own event times: how long each container spent between create and start.</summary>
    private static Distribution CreateToStart(long sinceUnix)
    {
        var until = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;
        var events = DockerCli.Run("events", "--since", sinceUnix.ToString(CultureInfo.InvariantCulture), "--until", until.ToString(CultureInfo.InvariantCulture),
            "--filter", "type=container", "--filter", "label=io.claude-orchestrator.managed=true",
            "--filter", "event=create", "--filter", "event=start", "--format", "{{.TimeNano}} {{.Action}} {{.Actor.ID}}").EnsureSuccess().Stdout;
        var created = new Dictionary<string, long>();
        var window = new Distribution();
        foreach (var line in events.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            var nanos = long.Parse(parts[0], CultureInfo.InvariantCulture);
            if (parts[1] == "create")
            {
                created[parts[2]] = nanos;
            }
            else if (parts[1] == "start" && created.TryGetValue(parts[2], out var at))
            {
                window.Add((nanos - at) / 1e6);
            }
        }

        return window;
    }
}
