using ClaudeOrchestrator.Bench;
using ClaudeOrchestrator.Testing;

// dotnet run --project bench/ClaudeOrchestrator.Bench -c Release -- soak [N]
// dotnet run --project bench/ClaudeOrchestrator.Bench -c Release -- work-soak [N]   (SIGKILL across a branch task's life, then one sweep)
// dotnet run --project bench/ClaudeOrchestrator.Bench -c Release -- bench [runs]
// dotnet run --project bench/ClaudeOrchestrator.Bench -c Release -- isolation [runs]   (the isolation figures alone)
// dotnet run --project bench/ClaudeOrchestrator.Bench -c Release -- scale 100 250 500    (many concurrent tasks)
// dotnet run --project bench/ClaudeOrchestrator.Bench -c Release -- engines [runs]     (main figures on Docker and Podman)
// dotnet run --project bench/ClaudeOrchestrator.Bench -c Release -- remote [runs]      (a task on an engine on another machine)
// dotnet run --project bench/ClaudeOrchestrator.Bench -c Release -- swarm [runs]       (a task as a service on a three-node swarm)
// dotnet run --project bench/ClaudeOrchestrator.Bench -c Release -- egress [runs] [concurrent]   (the egress gateway against the open bridge; many tasks through it)
// dotnet run --project bench/ClaudeOrchestrator.Bench -c Release -- board [runs]       (the live board: a frame against Get-ClaudeTask; a watched fan-out)
const string Image = "claude-orchestrator-bench:latest";
var command = args.Length > 0 ? args[0] : "bench";
var count = args.Length > 1 ? int.Parse(args[1]) : 0;

// Helper modes the benchmark starts in fresh processes.
if (command == "import-probe")
{
    return ImportProbe.Run();
}

if (command == "memory-probe")
{
    return ImportProbe.RunMemory();
}

if (command == "sweep-probe")
{
    return await ImportProbe.RunSweep();
}

if (command == "list-probe")
{
    return ImportProbe.RunList();
}

TestImage.Build(Image);
// The runs' cleanup journal goes to a directory of their own, not the user's.
var state = Directory.CreateTempSubdirectory("co-bench-state-");
Environment.SetEnvironmentVariable("XDG_STATE_HOME", state.FullName);
try
{
    return command switch
    {
        "soak" => await Soak.RunAsync(count > 0 ? count : 200, Image),
        "work-soak" => WorkSoak.Run(count > 0 ? count : 300, Image),
        "bench" => await Benchmarks.RunAsync(count > 0 ? count : 5, Image),
        "isolation" => Benchmarks.RunIsolation(count > 0 ? count : 5, Image),
        "engines" => await Benchmarks.RunEngines(count > 0 ? count : 5, Image),
        "remote" => Remote.Run(count > 0 ? count : 5, Image),
        "swarm" => Swarm.Run(count > 0 ? count : 5, Image),
        "egress" => Egress.Run(count > 0 ? count : 5, args.Length > 2 ? int.Parse(args[2]) : 100, Image),
        "board" => Board.Run(count > 0 ? count : 3, Image),
        "scale" => await Scale.RunAsync(args.Skip(1).Select(int.Parse).DefaultIfEmpty(100).ToArray(), Image),
        _ => throw new ArgumentException("usage: soak [N] | work-soak [N] | bench [runs] | isolation [runs] | scale [counts...] | engines [runs] | remote [runs] | swarm [runs] | egress [runs] [concurrent] | board [runs]"),
    };
}
finally
{
    DockerCli.Run("rmi", Image);
    state.Delete(recursive: true);
}
