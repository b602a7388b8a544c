using System.Collections;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Testing;
using ClaudeOrchestrator.Tests.Infrastructure;
using Xunit;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// Planning a task without an engine: the profile merged under the parameters, a resumed task
/// checked, the repository's state judged, every refusal an OrchestratorException with its
/// error id. Profiles and task records come from memory; the repositories are real.
/// </summary>
[Trait(Needs.Trait, Needs.None)]
public sealed class TaskPlannerTests : IDisposable
{
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("co-planner-");
    private readonly FakeSources _sources = new FakeSources();
    private readonly List<string> _verbose = new List<string>();
    private readonly List<string> _warnings = new List<string>();

    public void Dispose() => _scratch.Delete(recursive: true);

    private TaskPlanner Planner => new TaskPlanner(_sources, _verbose.Add, _warnings.Add);

    private TaskPlan Plan(TaskRequest request) => Planner.Plan(request, p => Path.GetFullPath(p, _scratch.FullName));

    private static OrchestratorException Refused(Action plan) => Assert.Throws<OrchestratorException>(plan);

    private string Folder(string name)
    {
        var path = Path.Combine(_scratch.FullName, name);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string Git(string repo, params string[] args)
    {
        var r = DockerCli.Exec("git", new[] { "-C", repo }.Concat(args).ToArray());
        Assert.True(r.ExitCode == 0, $"git {string.Join(' ', args)}: {r.Stderr}");
        return r.Stdout.Trim();
    }

    private string Repository(string name)
    {
        var repo = Folder(name);
        Git(repo, "init", "-q", "-b", "main");
        Git(repo, "config", "user.name", "Test User");
        Git(repo, "config", "user.email", "test@example.invalid");
        File.WriteAllText(Path.Combine(repo, "a.txt"), "a\n");
        Git(repo, "add", "-A");
        Git(repo, "commit", "-q", "-m", "first");
        return repo;
    }

    [Fact]
    public void ParametersWinOverTheProfileAndTheProfileOverTheDefaults()
    {
        var project = Folder("shop");
        _sources.Profiles["shop"] = new ClaudeProject
        {
            Name = "shop", Path = project, Image = "shop-image:1", Memory = "2g", Cpus = 1.5, Model = "profile-model",
            MaxTurns = 7, Timeout = TimeSpan.FromMinutes(10), Swarm = true, Placement = new[] { "node.labels.agents==true" },
            Environment = new[] { "SHOP_TOKEN" }, Engine = "tcp://engine.example:2376",
        };
        _sources.Variables["SHOP_TOKEN"] = "value-from-host";

        var plan = Plan(new TaskRequest { ProfileName = "shop", ByProjectName = true, Description = "d", Memory = "1g", Model = "given-model", Swarm = false });

        Assert.Equal(project, plan.ProjectPath);
        Assert.Equal("shop", plan.ProjectName);
        Assert.Equal("shop-image:1", plan.Image);
        Assert.Equal(1L << 30, plan.Sandbox.MemoryBytes);
        Assert.Equal(1.5, plan.Sandbox.Cpus);
        Assert.Equal(TimeSpan.FromMinutes(10), plan.Timeout);
        Assert.Equal(ClaudeTaskBackend.Container, plan.Backend);
        Assert.Equal(new[] { "node.labels.agents==true" }, plan.Placement);
        Assert.Contains("--model=given-model", plan.AgentCommand);
        Assert.Contains("--max-turns=7", plan.AgentCommand);
        Assert.DoesNotContain("--model=profile-model", plan.AgentCommand);
        Assert.Equal("value-from-host", plan.Environment["SHOP_TOKEN"]);
        Assert.Equal("tcp://engine.example:2376", plan.Engine);
        Assert.Equal(new[] { "tcp://engine.example:2376" }, _sources.CheckedEngines);
        Assert.Contains(_verbose, v => v.Contains("not in a git repository"));
        Assert.Null(plan.Branch);
    }

    [Fact]
    public void WithoutParametersOrProfileTheDefaultsHold()
    {
        var project = Folder("plain");
        var plan = Plan(new TaskRequest { Path = project, Description = "d" });

        Assert.Equal("plain", plan.ProjectName);
        Assert.Equal(ModuleDefaults.Image(null), plan.Image);
        Assert.Equal(WorkspaceTransfer.Auto, plan.Workspace);
        Assert.Equal(ClaudeTaskBackend.Container, plan.Backend);
        Assert.Null(plan.Timeout);
        Assert.Null(plan.Engine);
        Assert.Empty(_sources.CheckedEngines);
        Assert.Equal(ModuleDefaults.DefaultAgentCommand, plan.AgentCommand.Take(ModuleDefaults.DefaultAgentCommand.Count));
    }

    [Fact]
    public void AProfileThatIsNotUsableIsRefused()
    {
        _sources.Profiles["broken"] = new ClaudeProject { Name = "broken", Problem = "docker.memory: 'lots' is not a size", ProfileFile = "/profiles/broken.yaml" };

        var e = Refused(() => Plan(new TaskRequest { ProfileName = "broken", ByProjectName = true, Description = "d" }));

        Assert.Equal(ErrorIds.ProjectProfileInvalid, e.ErrorId);
        Assert.Equal(ErrorCategory.InvalidData, e.Category);
        Assert.Contains("'lots' is not a size", e.Message);
    }

    [Fact]
    public void AProjectNameWithNeitherProfileNorDirectoryIsRefused()
    {
        _sources.ProjectsRoot = _scratch.FullName;

        var e = Refused(() => Plan(new TaskRequest { ProfileName = "nowhere", ByProjectName = true, Description = "d" }));

        Assert.Equal(ErrorIds.ProjectProfileNotFound, e.ErrorId);
        Assert.Contains("New-ClaudeProject", e.Message);
    }

    [Fact]
    public void AProjectNameWithoutProfileNamesADirectoryUnderTheProjectsRoot()
    {
        _sources.ProjectsRoot = _scratch.FullName;
        var project = Folder("legacy");

        var plan = Plan(new TaskRequest { ProfileName = "legacy", ByProjectName = true, Description = "d" });

        Assert.Equal(project, plan.ProjectPath);
        Assert.Equal("legacy", plan.ProjectName);
    }

    [Fact]
    public void AnEnvironmentNameThatCannotBeOneIsRefused()
    {
        var project = Folder("env");

        var e = Refused(() => Plan(new TaskRequest { Path = project, Description = "d", Environment = new Hashtable { ["A=B"] = "x" } }));

        Assert.Equal(ErrorIds.EnvironmentNameInvalid, e.ErrorId);
    }

    [Fact]
    public void ARepositoryGetsANewBranchUnderThePrefixAndItsStateIsSaid()
    {
        var repo = Repository("repo");
        File.WriteAllText(Path.Combine(repo, "a.txt"), "changed\n");
        var head = Git(repo, "rev-parse", "HEAD");

        var plan = Plan(new TaskRequest { Path = repo, Description = "d", BranchPrefix = "agents/" });

        Assert.Equal("agents/" + plan.TaskId, plan.Branch);
        Assert.Equal(head, plan.Repository.HeadCommit);
        // The uncommitted files are counted meanwhile (the task runner warns of them).
        Assert.Equal(1, plan.Repository.DirtyFiles.Result);
        Assert.DoesNotContain(_warnings, w => w.Contains("uncommitted"));
        // Planning makes nothing: the branch does not exist yet.
        Assert.Equal(string.Empty, Git(repo, "branch", "--list", plan.Branch));
    }

    [Fact]
    public void ABranchThatExistsAlreadyIsRefused()
    {
        var repo = Repository("taken");
        Git(repo, "branch", "feature");

        var e = Refused(() => Plan(new TaskRequest { Path = repo, Description = "d", Branch = "feature" }));

        Assert.Equal(ErrorIds.BranchExists, e.ErrorId);
    }

    [Fact]
    public void ADetachedHeadIsWarnedAbout()
    {
        var repo = Repository("detached");
        Git(repo, "checkout", "-q", "--detach");

        var plan = Plan(new TaskRequest { Path = repo, Description = "d" });

        Assert.NotNull(plan.Branch);
        Assert.Contains(_warnings, w => w.StartsWith("HEAD is detached"));
    }

    [Fact]
    public void IsolationBranchOutsideARepositoryIsRefusedAndNoneWorksInPlace()
    {
        var project = Folder("loose");

        var e = Refused(() => Plan(new TaskRequest { Path = project, Description = "d", Isolation = ClaudeTaskIsolation.Branch }));
        Assert.Equal(ErrorIds.IsolationUnavailable, e.ErrorId);

        var repo = Repository("inplace");
        var plan = Plan(new TaskRequest { Path = repo, Description = "d", Isolation = ClaudeTaskIsolation.None });
        Assert.Null(plan.Branch);
        Assert.Null(plan.Repository);
    }

    [Fact]
    public void AProfileIsolationNoneHoldsUnlessAParameterSaysOtherwise()
    {
        var repo = Repository("profiled");
        _sources.Profiles["profiled"] = new ClaudeProject { Name = "profiled", Path = repo, Isolation = ClaudeTaskIsolation.None };

        Assert.Null(Plan(new TaskRequest { ProfileName = "profiled", ByProjectName = true, Description = "d" }).Branch);
        Assert.NotNull(Plan(new TaskRequest { ProfileName = "profiled", ByProjectName = true, Description = "d", Isolation = ClaudeTaskIsolation.Branch }).Branch);

        // The checkout: the profile's, unless the parameter says; Auto when neither does.
        _sources.Profiles["profiled"].Checkout = CheckoutMethod.Full;
        Assert.Equal(CheckoutMethod.Full, Plan(new TaskRequest { ProfileName = "profiled", ByProjectName = true, Description = "d", Isolation = ClaudeTaskIsolation.Branch }).Checkout);
        Assert.Equal(CheckoutMethod.Overlay, Plan(new TaskRequest { ProfileName = "profiled", ByProjectName = true, Description = "d", Isolation = ClaudeTaskIsolation.Branch, Checkout = CheckoutMethod.Overlay }).Checkout);
        Assert.Equal(CheckoutMethod.Auto, Plan(new TaskRequest { Path = repo, Description = "d" }).Checkout);
    }

    [Fact]
    public void AnUnknownTaskCannotBeResumed()
    {
        var e = Refused(() => Plan(new TaskRequest { ResumeTaskId = "zz99zz99", Description = "d" }));

        Assert.Equal(ErrorIds.TaskNotFound, e.ErrorId);
        Assert.Contains(_sources.TasksRoot, e.Message);
    }

    [Theory]
    [InlineData("running", ErrorIds.TaskRunning)]
    [InlineData("unsaved", ErrorIds.ResumeUnavailable)]
    [InlineData("no-session", ErrorIds.ResumeUnavailable)]
    [InlineData("session-gone", ErrorIds.ResumeUnavailable)]
    public void ATaskThatCannotContinueIsRefusedBeforeAnythingExists(string state, string errorId)
    {
        var repo = Repository("resumed");
        var task = Resumable(repo);
        switch (state)
        {
            case "running":
                task.Status = ClaudeTaskStatus.Running;
                break;
            case "unsaved":
                task.CheckoutPath = Path.Combine(_scratch.FullName, "checkout");
                break;
            case "no-session":
                task.AgentSessionId = null;
                break;
            case "session-gone":
                task.AgentSessionId = "another-session";
                break;
        }

        var e = Refused(() => Plan(new TaskRequest { ResumeTaskId = task.TaskId, Description = "d" }));

        Assert.Equal(errorId, e.ErrorId);
    }

    [Fact]
    public void AResumedTaskContinuesOnItsBranchFromItsTipOnItsEngine()
    {
        var repo = Repository("continued");
        var task = Resumable(repo);
        Git(repo, "branch", task.Branch);
        var tip = Git(repo, "rev-parse", task.Branch);

        var plan = Plan(new TaskRequest { ResumeTaskId = task.TaskId, Description = "more" });

        Assert.Equal(task.Branch, plan.Branch);
        Assert.Equal(tip, plan.BranchTip);
        Assert.Same(task, plan.Resumes);
        Assert.Equal("tcp://recorded.example:2376", plan.Engine);
        Assert.Contains("--resume=" + task.AgentSessionId, plan.AgentCommand);
        Assert.Equal("resumed-image", plan.Image);
    }

    [Fact]
    public void AResumedTaskWhoseBranchIsGoneIsRefused()
    {
        var repo = Repository("branchless");
        var task = Resumable(repo);

        var e = Refused(() => Plan(new TaskRequest { ResumeTaskId = task.TaskId, Description = "more" }));

        Assert.Equal(ErrorIds.ResumeUnavailable, e.ErrorId);
        Assert.Contains("no longer exists", e.Message);
    }

    [Fact]
    public void AResumeWhileAnotherTaskRunsOnTheBranchIsRefused()
    {
        var repo = Repository("busy");
        var task = Resumable(repo);
        _sources.Tasks["bbbb2222"] = new ClaudeTask { TaskId = "bbbb2222", Status = ClaudeTaskStatus.Running, Branch = task.Branch, Repository = task.Repository };

        var e = Refused(() => Plan(new TaskRequest { ResumeTaskId = task.TaskId, Description = "more" }));

        Assert.Equal(ErrorIds.TaskRunning, e.ErrorId);
        Assert.Contains("bbbb2222", e.Message);
    }

    /// <summary>A finished task on a branch, with its agent's session in its state directory.</summary>
    private ClaudeTask Resumable(string repo)
    {
        var state = Folder("agent-state");
        var session = Guid.NewGuid().ToString();
        var projects = Path.Combine(state, "projects", "-workspace");
        Directory.CreateDirectory(projects);
        File.WriteAllText(Path.Combine(projects, session + ".jsonl"), "{}\n");
        var task = new ClaudeTask
        {
            TaskId = "aaaa1111", Project = "resumed", Path = repo, Status = ClaudeTaskStatus.Succeeded, Branch = "claude/aaaaaaaaaaaa",
            Repository = repo, AgentSessionId = session, AgentStatePath = state, Engine = "tcp://recorded.example:2376", Image = "resumed-image",
        };
        _sources.Tasks[task.TaskId] = task;
        return task;
    }

    [Fact]
    public void WithoutNetworkTheTaskGoesThroughTheGatewayWithTheAllowedHostsOfParametersAndProfile()
    {
        var project = Folder("egress");
        _sources.Profiles["egress"] = new ClaudeProject { Name = "egress", Path = project, AllowHosts = new[] { "*.npmjs.org", "github.com" } };

        var plan = Plan(new TaskRequest { ProfileName = "egress", ByProjectName = true, Description = "d", AllowHost = new[] { "github.com", "example.com:8443" } });

        Assert.Equal(ClaudeTaskEgress.Gateway, plan.Egress);
        Assert.Null(plan.Sandbox.Network);
        Assert.Equal(new[] { "github.com", "example.com:8443", "*.npmjs.org" }, plan.AllowedHosts.Select(h => h.ToString()));
        Assert.Empty(_warnings);
    }

    [Fact]
    public void NetworkNoneIsOfflineAndANamedNetworkIsOpenEgressWithAWarning()
    {
        var project = Folder("open");
        var offline = Plan(new TaskRequest { Path = project, Description = "d", Network = "none" });
        Assert.Equal(ClaudeTaskEgress.Offline, offline.Egress);
        Assert.Empty(_warnings);

        var open = Plan(new TaskRequest { Path = project, Description = "d", Network = "bridge" });
        Assert.Equal(ClaudeTaskEgress.Open, open.Egress);
        Assert.Equal("bridge", open.Sandbox.Network);
        var warning = Assert.Single(_warnings);
        Assert.Contains("open egress", warning);
        Assert.Contains("cloud metadata", warning);
        Assert.Contains("-AllowHost", warning);
    }

    [Theory]
    [InlineData("10.0.0.0/8", null)]
    [InlineData("*", null)]
    [InlineData("https://github.com", null)]
    [InlineData("github.com/path", null)]
    [InlineData("169.254.169.254", null)]
    [InlineData("github.com", "bridge")]
    [InlineData("github.com", "none")]
    public void ABadAllowHostOrOneWithNetworkIsRefusedBeforeAnythingExists(string entry, string network)
    {
        var project = Folder("bad");
        var e = Refused(() => Plan(new TaskRequest { Path = project, Description = "d", AllowHost = new[] { entry }, Network = network }));
        Assert.Equal(ErrorIds.AllowHostInvalid, e.ErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, e.Category);
        Assert.True(ErrorIds.IsRefusal(e.ErrorId));
        Assert.Empty(Directory.EnumerateFileSystemEntries(project));
    }

    private sealed class FakeSources : IPlanSources
    {
        public Dictionary<string, ClaudeProject> Profiles { get; } = new Dictionary<string, ClaudeProject>();
        public Dictionary<string, ClaudeTask> Tasks { get; } = new Dictionary<string, ClaudeTask>();
        public Dictionary<string, string> Variables { get; } = new Dictionary<string, string>();
        public List<string> CheckedEngines { get; } = new List<string>();
        public string ProjectsRoot { get; set; } = "/nonexistent/projects";

        public ClaudeProject FindProfile(string name, string currentDirectory, Action<string> note) => Profiles.GetValueOrDefault(name);

        public string ProjectDirectoryFor(string name) => Path.Combine(ProjectsRoot, name);

        public ClaudeTask LoadTask(string taskId) => Tasks.GetValueOrDefault(taskId);

        public IReadOnlyList<ClaudeTask> AllTasks() => Tasks.Values.ToList();

        public string TasksRoot => "/state/tasks";

        public string GetEnvironmentVariable(string name) => Variables.GetValueOrDefault(name);

        public void CheckEngine(string engine) => CheckedEngines.Add(engine);
    }
}
