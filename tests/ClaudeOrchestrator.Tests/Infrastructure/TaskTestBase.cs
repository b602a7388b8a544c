using System.Diagnostics;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Journal;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests.Infrastructure;

/// <summary>A runspace with the module, a scratch project directory and the test image.</summary>
[Collection(DockerCollection.Name)]
public abstract class TaskTestBase : IDisposable
{
    private readonly List<string> _unlabelled = new();

    private readonly IDisposable _engine;

    /// <param name="onPodman">
    /// Run against the fixture's Podman engine instead of Docker: DOCKER_HOST names it for the
    /// test's duration, so the module, the docker CLI the test inspects with and host processes all
    /// talk to Podman's Docker-compatible API. A suite runs on both by a subclass that passes true.
    /// </param>
    protected TaskTestBase(DockerFixture docker, ITestOutputHelper output, bool onPodman = false)
    {
        Docker = docker;
        Output = output;
        OnPodman = onPodman;
        _engine = onPodman ? Override("DOCKER_HOST", docker.Podman.Host) : null;
        Session = new PsSession();
        Project = Directory.CreateTempSubdirectory("co-project-");
    }

    protected DockerFixture Docker { get; }

    /// <summary>True when this run of the suite is against Podman.</summary>
    protected bool OnPodman { get; }
    protected ITestOutputHelper Output { get; }
    protected PsSession Session { get; }
    protected DirectoryInfo Project { get; }

    protected static string Image => DockerFixture.Image;

    /// <summary>Start-ClaudeTask against the scratch project with the test image.</summary>
    protected string StartTask(string description, string extra = "") =>
        $"Start-ClaudeTask -Path '{Project.FullName}' -Description '{description.Replace("'", "''")}' -Image {Image} {extra}";

    /// <summary>A container the module did not create, which no cmdlet may touch.</summary>
    protected string CreateUnlabelled(string name, params string[] labels)
    {
        var args = new List<string> { "run", "-d", "--name", name };
        foreach (var label in labels)
        {
            args.Add("--label");
            args.Add(label);
        }

        args.AddRange(new[] { Image, "sleep", "600" });
        DockerCli.Run(args.ToArray()).EnsureSuccess();
        RegisterForCleanup(name);
        return name;
    }

    /// <summary>A container the test made itself that must not outlive the test.</summary>
    protected void RegisterForCleanup(string name) => _unlabelled.Add(name);

    /// <summary>Waits until the agent's container exists and returns its name.</summary>
    protected static string WaitForSessionContainer(RunningScript running, TimeSpan limit)
    {
        var names = Eventually.Last(
            () => running.InformationText.Any(l => l != null && l.StartsWith("agent:")) ? DockerCli.NamesWithLabel("io.claude-orchestrator.task-id") : new List<string>(),
            found => found.Count > 0, limit, TimeSpan.FromMilliseconds(20));
        return names.Count > 0 ? names[0] : throw new TimeoutException("The task's container never appeared. " +
            string.Join("; ", running.PowerShell.Streams.Error.Select(e => e.ToString())));
    }

    /// <summary>Waits until a container of this process is running and returns its name.</summary>
    protected static string WaitForJobContainer() =>
        Eventually.Value(
            () => DockerCli.TaskNamesWithLabel("io.claude-orchestrator.owner-pid=" + Environment.ProcessId).FirstOrDefault(),
            name => name != null && DockerCli.Inspect(name, "{{.State.Status}}") == "running",
            TimeSpan.FromSeconds(20), "a container of this process is running (the job's container started)", TimeSpan.FromMilliseconds(20));

    protected void Log(string message) => Output.WriteLine(message);

    /// <summary>git in the scratch project; a failure fails the test with git's message. Returns its output, trimmed.</summary>
    protected string ProjectGit(params string[] args)
    {
        var r = DockerCli.Exec("git", new[] { "-C", Project.FullName }.Concat(args).ToArray());
        Assert.True(r.ExitCode == 0, $"git {string.Join(' ', args)}: {r.Stderr}");
        return r.Stdout.Trim();
    }

    /// <summary>Makes the scratch project a repository on main with one commit of these files (path relative to the project, content).</summary>
    protected void CommitProject(params (string Path, string Content)[] files)
    {
        ProjectGit("init", "-q", "-b", "main");
        ProjectGit("config", "user.name", "Test User");
        ProjectGit("config", "user.email", "test@example.invalid");
        foreach (var (path, content) in files)
        {
            var file = Path.Combine(Project.FullName, path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, content);
        }

        ProjectGit("add", "-A");
        ProjectGit("commit", "-q", "-m", "first");
    }

    /// <summary>Sets an environment variable of this process until disposed, then puts the old value back.</summary>
    protected static IDisposable Override(string variable, string value)
    {
        var previous = Environment.GetEnvironmentVariable(variable);
        Environment.SetEnvironmentVariable(variable, value);
        return new Restore(() => Environment.SetEnvironmentVariable(variable, previous));
    }

    /// <summary>The cleanup journal's lines, from the state directory the environment names now.</summary>
    protected static List<System.Text.Json.JsonElement> JournalLines()
    {
        var file = Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME") ?? "", "claude-orchestrator", CleanupJournal.FileName);
        return File.Exists(file)
            ? File.ReadAllLines(file).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.Clone()).ToList()
            : new List<System.Text.Json.JsonElement>();
    }

    /// <summary>The one journal line for a container, by name or by the first 12 characters of its id.</summary>
    protected static System.Text.Json.JsonElement JournalLineFor(string nameOrId) =>
        Assert.Single(JournalLines(), l => l.GetProperty("container").GetString() == nameOrId ||
                                           (nameOrId.Length >= 12 && l.GetProperty("id").GetString() == nameOrId[..12]));

    private sealed class Restore : IDisposable
    {
        private readonly Action _undo;

        public Restore(Action undo) => _undo = undo;

        public void Dispose() => _undo();
    }

    public virtual void Dispose()
    {
        foreach (var name in _unlabelled)
        {
            DockerCli.Run("rm", "-f", name);
        }

        Session.Dispose();
        Project.Delete(recursive: true);

        // The session's idle egress gateways go as they do when the module is removed; confirmed, with their networks.
        ClaudeOrchestrator.Engine.Egress.EgressGateways.StopIdleAsync().Wait(TimeSpan.FromSeconds(30));

        // A killed session's gateway ends when its stdin closes, and its network holders when their
        // gateway has: a moment after the kill, by themselves. What is still there then is a leak.
        var settle = System.Diagnostics.Stopwatch.StartNew();
        while (settle.Elapsed < TimeSpan.FromSeconds(20) && DockerCli.EgressNames().Count > 0)
        {
            System.Threading.Thread.Sleep(100);
        }

        foreach (var name in DockerCli.EgressNames())
        {
            Output.WriteLine($"still there after {settle.Elapsed.TotalSeconds:0} s: {name} " + DockerCli.Run("inspect", "--type", "container", "--format", "{{.State.Status}} {{.State.StartedAt}} {{.State.FinishedAt}} {{.State.ExitCode}}", name).Stdout.Trim() +
                             " " + (DockerCli.Run("logs", "--tail", "5", name) is var logs ? (logs.Stdout + logs.Stderr).Trim() : ""));
        }

        // Remove before asserting, so one leak fails one test and not every test after it.
        var leaked = DockerCli.AllManagedNames();
        foreach (var name in leaked)
        {
            DockerCli.Run("rm", "-f", name);
        }

        // A network of a process the test killed waits for a sweep (as it would for a user's next one); this process's own is a leak.
        var networks = DockerCli.ManagedNetworks();
        var mine = networks.Where(n => DockerCli.Run("network", "inspect", "-f", "{{index .Labels \"io.claude-orchestrator.owner-pid\"}}", n).Stdout.Trim() == Environment.ProcessId.ToString()).ToList();
        foreach (var name in networks)
        {
            DockerCli.Run("network", "rm", name);
        }

        leaked = leaked.Concat(mine.Select(n => "network " + n)).ToList();

        // Back to the default engine for the next test (checked after the leak check, which looks at this test's engine).
        _engine?.Dispose();
        Assert.True(leaked.Count == 0, "Labelled containers were left behind: " + string.Join(", ", leaked));

        // A test that points the journal elsewhere puts it back, or later tests would write into the user's state directory.
        Assert.Equal(Docker.StateHome.FullName, Environment.GetEnvironmentVariable("XDG_STATE_HOME"));
    }
}
