using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// Tasks on a branch with either checkout: Overlay (the shared base tree under the task's own
/// layer, which the engine mounts) and Full (every file written). The same agent work must reach
/// the branch the same way from both; tasks on one base share it and see only their own changes;
/// a SIGKILLed session's work comes back from the layer; the base trees' sweep never takes a base
/// a task still needs.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public sealed class OverlayCheckoutTests : TaskTestBase
{
    private const int ManyFiles = 2000;

    public OverlayCheckoutTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
        var files = new List<(string, string)>
        {
            ("README.md", "hello\n"),
            (".gitignore", "node_modules/\n*.log\n"),
            ("src/app.txt", "app\n"),
            ("src/keep.txt", "keep\n"),
            ("src/gone.txt", "gone\n"),
            ("src/tool.sh", "echo tool\n"),
            ("src/old-name.txt", "renamed\n"),
            ("docs/a.md", "a\n"),
            ("docs/sub/b.md", "b\n"),
            ("swap", "a file that becomes a directory\n"),
            ("dir-to-file/x.txt", "x\n"),
        };
        files.AddRange(Enumerable.Range(0, ManyFiles).Select(i => ($"big/f{i:0000}.txt", $"{i}\n")));
        CommitProject(files.ToArray());
        File.CreateSymbolicLink(Path.Combine(Project.FullName, "link"), "src/app.txt");
        ProjectGit("add", "link");
        ProjectGit("commit", "-q", "-m", "a link");
    }

    private static string StateDirectory => Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator");

    /// <summary>The base trees of this test's repository (other tests' repositories have their own).</summary>
    private string[] Bases()
    {
        var directory = Path.GetDirectoryName(BaseTrees.DirectoryFor(Path.Combine(Project.FullName, ".git"), new string('0', 40)))!;
        var prefix = Path.GetFileName(BaseTrees.DirectoryFor(Path.Combine(Project.FullName, ".git"), string.Empty));
        return Directory.Exists(directory) ? Directory.GetDirectories(directory, prefix + "*") : Array.Empty<string>();
    }

    // Every kind of change an agent makes, after it looked at what it was given.
    private const string Changes =
        "echo dirty=$(git status --porcelain | wc -l | tr -d \" \"); " +
        "echo hostpaths=$(grep -rlF \"$STATE_MARK\" .git 2>/dev/null | wc -l | tr -d \" \"); " +
        "echo alternates=$(cat .git/objects/info/alternates); " +
        "echo new > new.txt; echo more >> src/app.txt; rm src/gone.txt; chmod +x src/tool.sh; mv src/old-name.txt src/new-name.txt; " +
        "rm -rf docs; mkdir docs; echo again > docs/c.md; mkdir -p fresh/deeper; echo deep > fresh/deeper/d.txt; " +
        "rm swap; mkdir swap; echo inside > swap/in.txt; rm -rf dir-to-file; echo now-a-file > dir-to-file; " +
        "rm link; ln -s src/keep.txt link; ln -s README.md link2; rm -rf big; " +
        "mkdir -p node_modules/p; echo ignored > node_modules/p/i.js; echo log > run.log";

    private static readonly string[] Expected =
    {
        "A\tdir-to-file", "A\tdocs/c.md", "A\tfresh/deeper/d.txt", "A\tlink2", "A\tnew.txt", "A\tsrc/new-name.txt", "A\tswap/in.txt",
        "D\tdir-to-file/x.txt", "D\tdocs/a.md", "D\tdocs/sub/b.md", "D\tsrc/gone.txt", "D\tsrc/old-name.txt", "D\tswap",
        "M\tlink", "M\tsrc/app.txt", "M\tsrc/tool.sh",
    };

    [Theory]
    [InlineData("Overlay")]
    [InlineData("Full")]
    public void EveryKindOfChangeReachesTheBranchAndTheAgentSeesAnOrdinaryRepository(string method)
    {
        var before = ProjectGit("status", "--porcelain=v1", "--ignored");
        var head = ProjectGit("rev-parse", "HEAD");
        var r = Session.Invoke($"$env:STATE_MARK = '{StateDirectory}'; " +
                               StartTask("run " + Changes, $"-Checkout {method} -Environment @{{ STATE_MARK = '{StateDirectory}' }}")).Single<ClaudeTaskResult>();

        Assert.True(r.Status == ClaudeTaskStatus.Succeeded, r.Reason + r.ErrorOutput + r.Output);
        Assert.Equal(Enum.Parse<CheckoutMethod>(method), r.Checkout);
        Assert.Equal(Enum.Parse<CheckoutMethod>(method), ((ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {r.TaskId}").ThrowIfFailed().Output.Single().BaseObject).Checkout);
        // An ordinary repository: clean at the start, no host path in its .git, objects found through the relative alternate.
        Assert.Contains("dirty=0", r.Output);
        Assert.Contains("hostpaths=0", r.Output);
        Assert.Contains("alternates=../../../base-objects", r.Output);

        var changes = ProjectGit("diff", "--no-renames", "--name-status", head, r.Branch).Split('\n').Where(l => !l.StartsWith("D\tbig/")).OrderBy(l => l, StringComparer.Ordinal);
        Assert.Equal(Expected, changes);
        Assert.Equal(ManyFiles, ProjectGit("diff", "--name-only", head, r.Branch, "--", "big").Split('\n').Length);
        Assert.Equal("100755", ProjectGit("ls-tree", r.Branch, "src/tool.sh").Split(' ')[0]);
        Assert.Equal("120000 src/keep.txt", ProjectGit("ls-tree", r.Branch, "link").Split(' ')[0] + " " + ProjectGit("show", r.Branch + ":link"));
        Assert.Equal("app\nmore", ProjectGit("show", r.Branch + ":src/app.txt"));
        Assert.Equal(1, r.Commits);

        // The user's repository as it was; the task's files gone, its reference to the base with them.
        Assert.Equal(before, ProjectGit("status", "--porcelain=v1", "--ignored"));
        Assert.Equal(head, ProjectGit("rev-parse", "HEAD"));
        var taskDirectory = Path.Combine(StateDirectory, "tasks", r.TaskId);
        Assert.False(Directory.Exists(Path.Combine(taskDirectory, "checkout")));
        Assert.False(Directory.Exists(Path.Combine(taskDirectory, "layer-work")));
        Assert.False(File.Exists(Path.Combine(taskDirectory, "base-tree")) || Directory.Exists(Path.Combine(taskDirectory, "base-tree")));
        Assert.DoesNotContain(DockerCli.Run("volume", "ls", "-q").Stdout.Split('\n'), v => v.Contains(r.TaskId));
        // The base stays for the next task on this commit (Full writes none).
        Assert.Equal(method == "Overlay" ? 1 : 0, Bases().Length);
    }

    [Theory]
    [InlineData("Overlay")]
    [InlineData("Full")]
    public void TasksOnOneCommitAtOnceEachSeeOnlyTheirOwnChanges(string method)
    {
        var head = ProjectGit("rev-parse", "HEAD");
        var script = $$"""
            $jobs = 1..4 | ForEach-Object { Start-ClaudeTask -Path '{{Project.FullName}}' -Checkout {{method}} -Image {{Image}} -AsJob -Description "run sleep 1; ls big | wc -l > count$_.txt; echo mine$_ > own$_.txt; rm big/f000$_.txt; ls own*.txt > seen$_.txt" }
            $jobs | Wait-Job -Timeout 120 | Out-Null
            $jobs | Receive-Job
            """;
        var results = Session.Invoke(script).Output.Select(o => o.BaseObject).OfType<ClaudeTaskResult>().ToList();

        Assert.Equal(4, results.Count);
        foreach (var r in results)
        {
            Assert.True(r.Status == ClaudeTaskStatus.Succeeded, r.Reason + r.ErrorOutput);
            Assert.Equal(Enum.Parse<CheckoutMethod>(method), r.Checkout);
            var i = ProjectGit("diff", "--name-only", head, r.Branch, "--", "own*.txt").Replace("own", string.Empty).Replace(".txt", string.Empty);
            Assert.Equal(new[] { $"big/f000{i}.txt", $"count{i}.txt", $"own{i}.txt", $"seen{i}.txt" },
                ProjectGit("diff", "--name-only", head, r.Branch).Split('\n').OrderBy(l => l, StringComparer.Ordinal));
            Assert.Equal(ManyFiles.ToString(), ProjectGit("show", $"{r.Branch}:count{i}.txt").Trim());
            Assert.Equal($"own{i}.txt", ProjectGit("show", $"{r.Branch}:seen{i}.txt").Trim());
        }

        Assert.Equal(method == "Overlay" ? 1 : 0, Bases().Length);
    }

    [Theory]
    [InlineData("Overlay")]
    [InlineData("Full")]
    public void AfterSigkillTheSweepSavesTheWorkFromTheCheckoutAndTheBaseGoesOnlyOnceUnused(string method)
    {
        var head = ProjectGit("rev-parse", "HEAD");
        string taskId;
        using (var host = HostProcess.StartWhenWritten($"-Path '{Project.FullName}' -Checkout {method} -Description 'write-then-sleep left.txt after-kill 600' -Image {Image}", "left.txt"))
        {
            taskId = Path.GetFileName(Directory.GetDirectories(Path.Combine(StateDirectory, "tasks")).Single(d => File.Exists(Path.Combine(d, "checkout", "left.txt"))));
            var layer = Path.Combine(StateDirectory, "tasks", taskId, "checkout");
            // The layer holds what the agent changed and its .git, nothing of the base's 2,000 files.
            Assert.Equal(method == "Overlay", Directory.GetFiles(layer, "*", SearchOption.AllDirectories).Count(f => !f.Contains("/.git/")) < 10);
            // However old, the base of a running task stays through a sweep (from this other session).
            foreach (var b in Bases())
            {
                Directory.SetLastWriteTimeUtc(b, DateTime.UtcNow.AddHours(-2));
            }

            Assert.Empty(Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false").Errors);
            Assert.Equal(method == "Overlay" ? 1 : 0, Bases().Length);
            host.Signal(HostProcess.SIGKILL);
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        DockerCli.WaitGone(DockerCli.NamesWithLabel("io.claude-orchestrator.task-id=" + taskId).FirstOrDefault() ?? "none", TimeSpan.FromSeconds(20));
        // However old, a base a salvageable task references stays.
        foreach (var b in Bases())
        {
            Directory.SetLastWriteTimeUtc(b, DateTime.UtcNow.AddHours(-2));
        }

        var sweep = Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false");
        Assert.Empty(sweep.Errors);
        // One sweep finishes it all: the overlay's volume (a mount's description, no data) goes too.
        Assert.DoesNotContain(DockerCli.Run("volume", "ls", "-q").Stdout.Split('\n'), v => v.Contains(taskId));
        var task = (ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {taskId}").ThrowIfFailed().Output.Single().BaseObject;
        Assert.Equal(ClaudeTaskWork.Salvaged, task.Work);
        Assert.Equal("after-kill", ProjectGit("show", task.Branch + ":left.txt"));
        Assert.Equal(new[] { "left.txt" }, ProjectGit("diff", "--name-only", head, task.Branch).Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(StateDirectory, "tasks", taskId, "checkout")));
        Assert.Equal(method == "Overlay" ? 1 : 0, Bases().Length);

        // Now unreferenced, and old: the next sweep deletes it. A recent one would stay.
        Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false").ThrowIfFailed();
        Assert.Empty(Bases());
        var again = Session.Invoke(StartTask("write-here again.txt again", $"-Checkout {method}")).Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Succeeded, again.Status);
        Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false").ThrowIfFailed();
        Assert.Equal(method == "Overlay" ? 1 : 0, Bases().Length);
    }

    [Fact]
    public void AnOverlayWhereNoneCanBeIsRefusedBeforeAnythingExistsAndTheDoctorSaysWhichCheckoutTasksGet()
    {
        var branches = ProjectGit("branch", "--list");
        var r = Session.Invoke(StartTask("write-here x.txt x", "-Checkout Overlay -Workspace Copy"));
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("CheckoutUnavailable", error.FullyQualifiedErrorId);
        Assert.Contains("copied", error.Exception.Message);
        Assert.Equal(branches, ProjectGit("branch", "--list"));
        Assert.Empty(Bases());

        // Without an API key the doctor fails that check (and says so as an error); the rest stands.
        var doctor = Session.Invoke($"Test-ClaudeEngine -Image {Image}").Output.Select(o => (ClaudeEngineCheck)o.BaseObject).ToList();
        var check = Assert.Single(doctor, c => c.Check == "Checkout");
        Assert.Equal(ClaudeEngineCheckStatus.Pass, check.Status);
        Assert.StartsWith("Overlay", check.Detail);

        // Auto where the workspace is copied: every file written, and said so.
        var copy = Session.Invoke(StartTask("write-here y.txt y", "-Workspace Copy")).Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Succeeded, copy.Status);
        Assert.Equal(CheckoutMethod.Full, copy.Checkout);
    }
}
