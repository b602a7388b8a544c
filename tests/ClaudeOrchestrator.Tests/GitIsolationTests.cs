using System.Management.Automation;
using System.Security.Cryptography;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// Tasks in real git repositories: each on its own branch in a private checkout, its work kept
/// on every exit path, the user's tree never touched, and the branch workflow (review, merge, prune).
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public class GitIsolationTests : TaskTestBase
{
    public GitIsolationTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
        Git("init", "-q", "-b", "main");
        Git("config", "user.name", "Test User");
        Git("config", "user.email", "test@example.invalid");
        File.WriteAllText(Path.Combine(Project.FullName, "README.md"), "hello\n");
        Directory.CreateDirectory(Path.Combine(Project.FullName, "src"));
        File.WriteAllText(Path.Combine(Project.FullName, "src", "app.txt"), "app\n");
        Git("add", "-A");
        Git("commit", "-q", "-m", "first");
    }

    private string Git(params string[] args) => GitIn(Project.FullName, args);

    private static string GitIn(string directory, params string[] args)
    {
        var r = DockerCli.Exec("git", new[] { "-C", directory }.Concat(args).ToArray());
        Assert.True(r.ExitCode == 0, $"git {string.Join(' ', args)}: {r.Stderr}");
        return r.Stdout.Trim();
    }

    private static string StateTasks => Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator", "tasks");

    private string FileOnBranch(string branch, string path) => Git("show", branch + ":" + path);

    /// <summary>Every file under the project (including .git's index and HEAD) with its hash: "byte for byte".</summary>
    private Dictionary<string, string> Snapshot(bool withIndex = true)
    {
        var files = Directory.EnumerateFiles(Project.FullName, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains(Path.DirectorySeparatorChar + ".git" + Path.DirectorySeparatorChar) ||
                        (withIndex && f.EndsWith(Path.Combine(".git", "index"))) || f.EndsWith(Path.Combine(".git", "HEAD")));
        return files.ToDictionary(f => Path.GetRelativePath(Project.FullName, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
    }

    private void AssertNoCheckoutLeft(string taskId) =>
        Assert.False(Directory.Exists(Path.Combine(StateTasks, taskId, "checkout")), $"the checkout of {taskId} outlived the task");

    private ClaudeTask Task(string taskId) =>
        (ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {taskId}").ThrowIfFailed().Output.Single().BaseObject;

    [Fact]
    public void WhatIfSaysWhatATaskWouldMakeAndMakesNothing()
    {
        var host = new AnsweringHost();
        var before = Snapshot();
        var branches = Git("branch", "--list");
        using (var session = new PsSession(host: host))
        {
            var r = session.Invoke(StartTask("write-here new.txt x", "-WhatIf")).ThrowIfFailed();
            Assert.Empty(r.Output);
            // A refusal still comes first, as without -WhatIf.
            var refused = session.Invoke(StartTask("x", "-Branch main -WhatIf"));
            Assert.Contains(ErrorIds.BranchExists, refused.ErrorIds.Single());
        }

        var line = Assert.Single(host.Lines, l => l.StartsWith("What if:"));
        Log(line);
        var taskId = System.Text.RegularExpressions.Regex.Match(line, "Claude task (\\S+) for project").Groups[1].Value;
        Assert.NotEmpty(taskId);
        Assert.Contains($"new branch 'claude/{taskId}' from {Git("rev-parse", "main")[..12]}", line);
        Assert.Contains($"a container from image '{Image}'", line);
        Assert.Contains("bind-mounted at /workspace", line);
        // Nothing exists: no branch, no record, no container, the tree as it was.
        Assert.Equal(branches, Git("branch", "--list"));
        Assert.False(Directory.Exists(Path.Combine(StateTasks, taskId)));
        Assert.Empty(DockerCli.NamesWithLabel("io.claude-orchestrator.task-id=" + taskId));
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void TaskRunsOnItsOwnBranchAndLeftoverWorkIsCommittedWithoutTouchingTheUsersTree()
    {
        File.AppendAllText(Path.Combine(Project.FullName, "README.md"), "my own edit\n");
        File.WriteAllText(Path.Combine(Project.FullName, "scratch.txt"), "mine\n");
        // A tracked file whose stat data is stale: a git status that may write would refresh the index now.
        File.SetLastWriteTimeUtc(Path.Combine(Project.FullName, "src", "app.txt"), DateTime.UtcNow.AddMinutes(-5));
        var before = Snapshot();

        var r = Session.Invoke(StartTask("write-here new.txt made-by-agent", "-Verbose"));
        var result = r.Single<ClaudeTaskResult>();

        Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
        Assert.Contains(r.Warnings, w => w.StartsWith("2 file(s) in ") && w.Contains("uncommitted changes"));
        Assert.Equal("claude/" + result.TaskId, result.Branch);
        Assert.Equal(ClaudeTaskWork.ModuleCommit, result.Work);
        Assert.Equal(Git("rev-parse", "main"), result.BaseCommit);
        Assert.Equal(Git("rev-parse", result.Branch), result.HeadCommit);
        Assert.Equal((1, 1, 1, 0), (result.Commits, result.FilesChanged, result.Insertions, result.Deletions));
        Assert.Equal("made-by-agent", FileOnBranch(result.Branch, "new.txt"));
        Assert.Equal("Claude task " + result.TaskId, Git("log", "-1", "--format=%an", result.Branch));

        // The user's tree, index and branch: byte for byte as they were.
        Assert.Equal(before, Snapshot());
        Assert.Equal("main", Git("symbolic-ref", "--short", "HEAD"));
        Assert.False(File.Exists(Path.Combine(Project.FullName, "new.txt")));
        AssertNoCheckoutLeft(result.TaskId);

        // The transcript has the agent's line; Receive-ClaudeTask reads it back.
        Assert.Contains("agent: wrote new.txt", File.ReadAllText(result.TranscriptPath));
        var lines = Session.Invoke($"Receive-ClaudeTask {result.TaskId} -Stream Output").ThrowIfFailed().Output.Select(o => (ClaudeTranscriptLine)o.BaseObject).ToList();
        // Claude Code's events come back as the console showed them (-Raw: as written).
        Assert.Contains("agent: wrote new.txt", lines.Select(l => l.Text));
        Assert.DoesNotContain(lines, l => l.Text.StartsWith("{"));
        var raw = Session.Invoke($"Receive-ClaudeTask {result.TaskId} -Stream Output -Raw").ThrowIfFailed().Output.Select(o => ((ClaudeTranscriptLine)o.BaseObject).Text).ToList();
        Assert.Contains(raw, l => l.StartsWith("{\"type\":\"assistant\"") && l.Contains("agent: wrote new.txt"));

        var journal = Assert.Single(JournalLines(), l => l.GetProperty("task").GetString() == result.TaskId && l.TryGetProperty("work", out _));
        Assert.Equal("ModuleCommit", journal.GetProperty("work").GetString());
        Assert.Equal("Saved", journal.GetProperty("outcome").GetString());
    }

    [Fact]
    public void AgentCommitsInsideTheContainerWithTheTaskIdentityAndSeesAGitRepository()
    {
        var info = Session.Invoke(StartTask("gitinfo")).Single<ClaudeTaskResult>();
        Assert.True(ClaudeTaskStatus.Succeeded == info.Status, info.Reason + info.ErrorOutput);
        Assert.True(info.Output.Contains($"user=Claude task {info.TaskId}"), info.Output + info.ErrorOutput);
        Assert.Contains($"branch=claude/{info.TaskId}", info.Output);
        Assert.Contains("dirty=0", info.Output);
        Assert.Equal(ClaudeTaskWork.NoChanges, info.Work);

        var r = Session.Invoke(StartTask("commit feature.txt agent-commit")).Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Succeeded, r.Status);
        Assert.Equal(ClaudeTaskWork.AgentCommits, r.Work);
        Assert.Contains($"committed feature.txt as Claude task {r.TaskId} <{r.TaskId}@claude-orchestrator.invalid>", r.Output);
        Assert.Equal("agent: add feature.txt", Git("log", "-1", "--format=%s", r.Branch));
        Assert.Equal("agent-commit", FileOnBranch(r.Branch, "feature.txt"));

        // No host path inside the checkout's .git: the container found its objects through the relative alternate.
        AssertNoCheckoutLeft(r.TaskId);
    }

    [Fact]
    public void ProjectInASubdirectoryRunsInTheSameSubdirectoryOfTheCheckout()
    {
        var sub = Path.Combine(Project.FullName, "src");
        var r = Session.Invoke($"Start-ClaudeTask -Path '{sub}' -Description 'write-here made.txt sub' -Image {Image}").Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskStatus.Succeeded, r.Status);
        Assert.Equal("sub", FileOnBranch(r.Branch, "src/made.txt"));

        var pwd = Session.Invoke($"Start-ClaudeTask -Path '{sub}' -Description 'gitinfo' -Image {Image}").Single<ClaudeTaskResult>();
        Assert.Contains("pwd=/workspace/src", pwd.Output);
    }

    [Fact]
    public void FourJobsOnOneRepositoryEachGetABranchWithOnlyTheirOwnChange()
    {
        var before = Snapshot();
        var script = $$"""
            $jobs = 1..4 | ForEach-Object { Start-ClaudeTask -Path '{{Project.FullName}}' -Description "write-here file$_.txt content$_" -Image {{Image}} -AsJob }
            $jobs | Wait-Job -Timeout 120 | Out-Null
            $jobs | Receive-Job
            """;
        var results = Session.Invoke(script).Output.Select(o => o.BaseObject).OfType<ClaudeTaskResult>().ToList();

        Assert.Equal(4, results.Count);
        var baseCommit = Git("rev-parse", "main");
        foreach (var result in results)
        {
            Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
            var n = result.Output.Split("file")[1][0];
            Assert.Equal($"file{n}.txt", Git("diff", "--name-only", baseCommit, result.Branch));
            Assert.Equal($"content{n}", FileOnBranch(result.Branch, $"file{n}.txt"));
            AssertNoCheckoutLeft(result.TaskId);
        }

        Assert.Equal(4, results.Select(r => r.Branch).Distinct().Count());
        Assert.Equal(before, Snapshot());
    }

    public static IEnumerable<object[]> InProcessExitPaths() => new[]
    {
        new object[] { "failure" }, new object[] { "timeout" }, new object[] { "ctrl+c" }, new object[] { "stop-job" }, new object[] { "remove-module" },
    };

    [Theory]
    [MemberData(nameof(InProcessExitPaths))]
    public void UncommittedWorkIsCommittedOnEveryInProcessExitPath(string path)
    {
        ClaudeTaskStatus expected;
        switch (path)
        {
            case "failure":
                Session.Invoke(StartTask("write-then-fail left.txt on-failure"));
                expected = ClaudeTaskStatus.Failed;
                break;
            case "timeout":
                Session.Invoke(StartTask("write-then-sleep left.txt on-timeout 600", "-Timeout 3"));
                expected = ClaudeTaskStatus.TimedOut;
                break;
            case "ctrl+c":
                using (var running = Session.Start(StartTask("write-then-sleep left.txt on-ctrl+c 600")))
                {
                    running.WaitForInformation(l => l.Contains("sleeping"), TimeSpan.FromSeconds(60));
                    running.PowerShell.Stop();
                }

                expected = ClaudeTaskStatus.Cancelled;
                break;
            case "stop-job":
                Session.Invoke(StartTask("write-then-sleep left.txt on-stop-job 600", "-AsJob")).ThrowIfFailed();
                WaitForJobContainer();
                WaitForTranscriptLine("sleeping");
                Session.Invoke("Get-Job | Stop-Job").ThrowIfFailed();
                expected = ClaudeTaskStatus.Cancelled;
                break;
            default:
                Session.Invoke(StartTask("write-then-sleep left.txt on-remove-module 600", "-AsJob")).ThrowIfFailed();
                WaitForJobContainer();
                WaitForTranscriptLine("sleeping");
                Session.Invoke("Remove-Module ClaudeOrchestrator").ThrowIfFailed();
                Session.Invoke($"Import-Module '{Repo.Manifest}'").ThrowIfFailed();
                expected = ClaudeTaskStatus.Cancelled;
                break;
        }

        var task = LatestTask();
        Assert.Equal(expected, task.Status);
        Assert.Equal(ClaudeTaskWork.ModuleCommit, task.Work);
        Assert.Equal("on-" + path, FileOnBranch(task.Branch, "left.txt"));
        Assert.Contains(expected.ToString(), Git("log", "-1", "--format=%s", task.Branch));
        AssertNoCheckoutLeft(task.TaskId);
        Assert.False(File.Exists(Path.Combine(Project.FullName, "left.txt")));
    }

    /// <summary>PowerShell that waits until this project's running task has written left.txt into its checkout.</summary>
    private string WaitUntilAgentWroteLeftTxt =>
        $"while (-not (Get-ClaudeTask | Where-Object {{ $_.Path -eq '{Project.FullName}' -and $_.CheckoutPath -and [System.IO.File]::Exists([System.IO.Path]::Combine($_.CheckoutPath, 'left.txt')) }})) {{ [System.Threading.Thread]::Sleep(20) }}";

    private ClaudeTask LatestTask() => TaskRecordsOfThisProject().First();

    /// <summary>This project's task records once none is running (or, after 30 s, as they are then).</summary>
    private List<ClaudeTask> TaskRecordsOfThisProject() =>
        Eventually.Last(
            () => Session.Invoke($"Get-ClaudeTask | Where-Object Path -eq '{Project.FullName}'").ThrowIfFailed().Output.Select(o => (ClaudeTask)o.BaseObject).ToList(),
            tasks => tasks.Count > 0 && tasks.All(t => t.Status != ClaudeTaskStatus.Running),
            TimeSpan.FromSeconds(30));

    private void WaitForTranscriptLine(string text) =>
        Eventually.True(() =>
        {
            var task = Session.Invoke($"Get-ClaudeTask | Where-Object Path -eq '{Project.FullName}'").Output.Select(o => (ClaudeTask)o.BaseObject).FirstOrDefault();
            return task != null && File.Exists(task.TranscriptPath) && ReadShared(task.TranscriptPath).Contains(text);
        }, TimeSpan.FromSeconds(30), "the transcript shows " + text, TimeSpan.FromMilliseconds(20));

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }

    [Theory]
    [InlineData(HostProcess.SIGTERM, "Signal")]
    [InlineData(HostProcess.SIGHUP, "Signal")]
    [InlineData(0, "Crash")]
    public void UncommittedWorkIsCommittedWhenTheSessionIsSignalledOrCrashes(int signal, string reason)
    {
        var crash = signal == 0
            ? "$thread = [System.Threading.Thread]::new([System.Threading.ThreadStart]{ throw 'boom' }); $thread.Start(); [System.Threading.Thread]::Sleep(30000)"
            : "Wait-Job $j | Out-Null";
        var script = $$"""
            $j = Start-ClaudeTask -Path '{{Project.FullName}}' -Description 'write-then-sleep left.txt by-{{reason}} 600' -Image {{Image}} -AsJob
            {{WaitUntilAgentWroteLeftTxt}}
            'READY'
            {{crash}}
            """;
        using (var host = HostProcess.Start(script))
        {
            host.WaitForLine(l => l == "OUTPUT: READY", TimeSpan.FromSeconds(60));
            if (signal != 0)
            {
                host.Signal(signal);
            }

            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(30)), "host did not exit. Transcript:\n" + host.Transcript);
        }

        var task = LatestTask();
        Assert.Equal(ClaudeTaskWork.ModuleCommit, task.Work);
        Assert.Equal("by-" + reason, FileOnBranch(task.Branch, "left.txt"));
        AssertNoCheckoutLeft(task.TaskId);
        var journal = Assert.Single(JournalLines(), l => l.GetProperty("task").GetString() == task.TaskId && l.TryGetProperty("work", out _));
        Assert.Equal(reason, journal.GetProperty("reason").GetString());
    }

    [Fact]
    public void AfterSigkillTheOrphanSweepSalvagesTheCheckoutIntoTheBranch()
    {
        var script = $$"""
            $j = Start-ClaudeTask -Path '{{Project.FullName}}' -Description 'write-then-sleep left.txt after-sigkill 600' -Image {{Image}} -AsJob
            {{WaitUntilAgentWroteLeftTxt}}
            'READY'
            Wait-Job $j | Out-Null
            """;
        string taskId;
        using (var host = HostProcess.Start(script))
        {
            host.WaitForLine(l => l == "OUTPUT: READY", TimeSpan.FromSeconds(60));
            host.Signal(HostProcess.SIGKILL);
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(10)));
        }

        var interrupted = TaskRecordsOfThisProject().Single();
        taskId = interrupted.TaskId;
        // Killed outright: nothing saved yet, the checkout is still there with the agent's file.
        Assert.True(File.Exists(Path.Combine(StateTasks, taskId, "checkout", "left.txt")));
        Assert.Equal(ClaudeTaskWork.Pending, interrupted.Work);
        // Self-contained: nothing in the checkout's .git (outside the objects) names a host path.
        var dotGit = Path.Combine(StateTasks, taskId, "checkout", ".git");
        foreach (var file in Directory.EnumerateFiles(dotGit, "*", SearchOption.AllDirectories)
                     .Where(f => !f.StartsWith(Path.Combine(dotGit, "objects", "pack")) && !f.EndsWith("index") && !f.Contains("/objects/") || f.EndsWith("alternates")))
        {
            var text = File.ReadAllText(file);
            Assert.False(text.Contains(Project.FullName) || text.Contains(StateTasks), $"{file} names a host path: {text}");
        }

        Assert.Equal("../../../base-objects", File.ReadAllText(Path.Combine(dotGit, "objects", "info", "alternates")).Trim());
        Assert.Equal(ClaudeTaskStatus.Interrupted, interrupted.Status);
        Assert.Equal(Git("rev-parse", "main"), Git("rev-parse", interrupted.Branch));

        DockerCli.WaitGone(DockerCli.NamesWithLabel("io.claude-orchestrator.task-id=" + taskId).FirstOrDefault() ?? "none", TimeSpan.FromSeconds(20));
        // -WhatIf saves nothing and deletes nothing.
        Session.Invoke("Remove-ClaudeContainer -Orphaned -WhatIf").ThrowIfFailed();
        Session.Invoke($"Remove-ClaudeTask {taskId} -WhatIf").ThrowIfFailed();
        Assert.True(File.Exists(Path.Combine(StateTasks, taskId, "checkout", "left.txt")));
        Assert.Equal(ClaudeTaskWork.Pending, Task(taskId).Work);

        var sweep = Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false -Verbose");
        Assert.Empty(sweep.Errors);

        var salvaged = Task(taskId);
        Assert.Equal(ClaudeTaskWork.Salvaged, salvaged.Work);
        Assert.Equal("after-sigkill", FileOnBranch(salvaged.Branch, "left.txt"));
        Assert.Contains("salvaged", Git("log", "-1", "--format=%s", salvaged.Branch));
        AssertNoCheckoutLeft(taskId);
        Assert.Contains(JournalLines(), l => l.GetProperty("task").GetString() == taskId && l.GetProperty("outcome").GetString() == "Salvaged");
        var report = Session.Invoke("Get-ClaudeCleanupReport").ThrowIfFailed().Single<ClaudeCleanupReport>();
        Assert.True(report.WorkSalvaged >= 1);

        // A checkout whose delete was cut short after its work was saved goes with the next sweep.
        var leftover = Directory.CreateDirectory(Path.Combine(StateTasks, taskId, "checkout", "half-deleted"));
        Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false").ThrowIfFailed();
        AssertNoCheckoutLeft(taskId);
        Assert.Equal(ClaudeTaskWork.Salvaged, Task(taskId).Work);

        // The branch holds unmerged work: pruning the task keeps it.
        var prune = Session.Invoke($"Remove-ClaudeTask {taskId} -Confirm:$false");
        Assert.Contains(prune.Warnings, w => w.Contains("Kept the branch"));
        Assert.Equal(salvaged.HeadCommit, Git("rev-parse", salvaged.Branch));
        Assert.False(Directory.Exists(Path.Combine(StateTasks, taskId)));
    }

    [Fact]
    public void ReviewMergeAndPruneTheBranch()
    {
        var r = Session.Invoke(StartTask("write-here merged.txt merge-me")).Single<ClaudeTaskResult>();
        var changes = Session.Invoke($"Compare-ClaudeTask {r.TaskId}").ThrowIfFailed().Output.Select(o => (ClaudeTaskFileChange)o.BaseObject).ToList();
        var change = Assert.Single(changes);
        Assert.Equal(("Added", "merged.txt", 1, 0), (change.Change, change.Path, change.Insertions!.Value, change.Deletions!.Value));
        Assert.Contains("+merge-me", (string)Session.Invoke($"Compare-ClaudeTask {r.TaskId} -Patch").ThrowIfFailed().Output.Single().BaseObject);

        // A dirty tree is refused and left exactly as it was.
        File.AppendAllText(Path.Combine(Project.FullName, "README.md"), "dirty\n");
        var before = Snapshot();
        var refused = Session.Invoke($"$r = Get-ClaudeTask {r.TaskId}; $r | Merge-ClaudeTask -Confirm:$false");
        Assert.Equal("MergeWorkingTreeDirty,ClaudeOrchestrator.Commands.MergeClaudeTaskCommand", refused.FirstError.FullyQualifiedErrorId);
        Assert.Equal(before, Snapshot());
        Git("checkout", "-q", "--", "README.md");

        var whatIf = Session.Invoke($"Merge-ClaudeTask {r.TaskId} -WhatIf").ThrowIfFailed();
        Assert.Empty(whatIf.Output);
        Assert.False(File.Exists(Path.Combine(Project.FullName, "merged.txt")));

        var merged = (ClaudeTask)Session.Invoke($"Merge-ClaudeTask {r.TaskId} -Confirm:$false").ThrowIfFailed().Output.Single().BaseObject;
        Assert.Equal(Git("rev-parse", "HEAD"), merged.MergeCommit);
        Assert.Equal("merge-me", File.ReadAllText(Path.Combine(Project.FullName, "merged.txt")));
        Assert.Equal("main", Git("symbolic-ref", "--short", "HEAD"));

        // Merged: pruning deletes the branch without -Force.
        Session.Invoke($"Remove-ClaudeTask {r.TaskId} -Confirm:$false").ThrowIfFailed();
        Assert.Equal("", Git("branch", "--list", r.Branch));
    }

    /// <summary>
    /// Twenty tasks' branches reviewed and merged as one batch, in pipeline order, one commit each;
    /// the eleventh conflicts with the branch it goes into: the batch stops there, the ten before
    /// it stay merged, the repository is clean, and no later task is merged.
    /// </summary>
    [Fact]
    public void TwentyBranchesAreComparedAndSquashMergedInOrderUntilAConflictStopsTheBatch()
    {
        var script = $$"""
            1..20 | ForEach-Object { [pscustomobject]@{ Path = '{{Project.FullName}}'; Description = $(if ($_ -eq 11) { 'write-here README.md from-task-11' } else { "write-here f$_.txt content-$_" }) } } |
                Start-ClaudeTask -Image {{Image}} -Network none -ThrottleLimit 4 |
                ForEach-Object { [pscustomobject]@{ TaskId = $_.TaskId; Status = "$($_.Status)"; Summary = $_.Output } }
            """;
        var results = Session.Invoke(script).ThrowIfFailed().Output.Select(o => (string)o.Properties["TaskId"].Value + " " + o.Properties["Status"].Value).ToList();
        Assert.Equal(20, results.Count);
        Assert.All(results, r => Assert.EndsWith(" Succeeded", r));
        // In the order of their numbers, whatever order they ended in.
        var tasks = TaskRecordsOfThisProject();
        var ids = Enumerable.Range(1, 20).Select(n => tasks.Single(t => t.Summary.Contains(n == 11 ? "from-task-11" : $"f{n}.txt ")).TaskId).ToList();

        var compared = Session.Invoke("Get-ClaudeTask -Id " + string.Join(",", ids.Select(i => $"'{i}'")) + " | Compare-ClaudeTask").ThrowIfFailed().Output.Select(o => ((ClaudeTaskFileChange)o.BaseObject).Path).ToList();
        Assert.Equal(Enumerable.Range(1, 20).Select(n => n == 11 ? "README.md" : $"f{n}.txt"), compared);

        // Meanwhile the branch the tasks go into changed the same line of README.md.
        File.WriteAllText(Path.Combine(Project.FullName, "README.md"), "changed on main\n");
        Git("commit", "-q", "-am", "main moves on");
        var start = Git("rev-parse", "HEAD");

        var merge = Session.Invoke("Get-ClaudeTask -Id " + string.Join(",", ids.Select(i => $"'{i}'")) + " | Merge-ClaudeTask -Squash -Confirm:$false");
        var error = Assert.Single(merge.Errors);
        Assert.StartsWith("MergeConflict,", error.FullyQualifiedErrorId);
        Assert.Contains(ids[10], error.Exception.Message);
        Assert.Contains("README.md", error.Exception.Message);
        Assert.Contains("10 task(s) merged before it", error.Exception.Message);
        Assert.Equal(10, merge.Output.Count);

        // One commit per merged task, its summary as the message, in order; nothing after the conflict.
        Assert.Equal(Enumerable.Range(1, 10).Reverse().Select(n => $"write-here f{n}.txt content-{n}"), Git("log", "--format=%s", start + "..HEAD").Split('\n'));
        Assert.Equal(string.Empty, Git("status", "--porcelain"));
        Assert.Equal("changed on main", File.ReadAllText(Path.Combine(Project.FullName, "README.md")).Trim());
        Assert.All(Enumerable.Range(1, 10), n => Assert.True(File.Exists(Path.Combine(Project.FullName, $"f{n}.txt"))));
        Assert.All(Enumerable.Range(12, 9), n => Assert.False(File.Exists(Path.Combine(Project.FullName, $"f{n}.txt"))));
        var records = ids.Select(Task).ToList();
        Assert.All(records.Take(10), t => Assert.NotNull(t.MergeCommit));
        Assert.All(records.Skip(10), t => Assert.Null(t.MergeCommit));
    }

    [Fact]
    public void AConflictingMergeIsAbortedAndTheRepositoryIsAsItWas()
    {
        var r = Session.Invoke(StartTask("write-here README.md from-agent")).Single<ClaudeTaskResult>();
        File.WriteAllText(Path.Combine(Project.FullName, "README.md"), "from-user\n");
        Git("commit", "-q", "-am", "user edit");
        var head = Git("rev-parse", "HEAD");
        // git merge --abort rewrites the index file (same entries, new stat data): compare the tree, HEAD and status.
        var before = Snapshot(withIndex: false);

        var conflict = Session.Invoke($"Merge-ClaudeTask {r.TaskId} -Confirm:$false");
        Assert.Equal("MergeConflict,ClaudeOrchestrator.Commands.MergeClaudeTaskCommand", conflict.FirstError.FullyQualifiedErrorId);
        Assert.Contains("README.md", conflict.FirstError.Exception.Message);
        Assert.Equal(head, Git("rev-parse", "HEAD"));
        Assert.Equal("", Git("status", "--porcelain"));
        Assert.False(File.Exists(Path.Combine(Project.FullName, ".git", "MERGE_HEAD")));
        Assert.Equal(before, Snapshot(withIndex: false));

        // Unmerged: kept without -Force, deleted with it.
        var kept = Session.Invoke($"Remove-ClaudeTask {r.TaskId} -Confirm:$false");
        Assert.Contains(kept.Warnings, w => w.Contains("Kept the branch"));
        Assert.NotEqual("", Git("branch", "--list", r.Branch));
        var again = Session.Invoke(StartTask("write-here other.txt x")).Single<ClaudeTaskResult>();
        Session.Invoke($"Remove-ClaudeTask {again.TaskId} -Force -Confirm:$false").ThrowIfFailed();
        Assert.Equal("", Git("branch", "--list", again.Branch));
    }

    [Fact]
    public void GetClaudeTaskFiltersAndTheResultKeepsOnlyATailOfHugeOutput()
    {
        var r = Session.Invoke(StartTask("lines 200000", "-Isolation None")).Single<ClaudeTaskResult>();
        Assert.Equal(ClaudeTaskWork.InPlace, r.Work);
        Assert.Null(r.Branch);
        Assert.True(r.OutputTruncated);
        Assert.True(r.Output.Length <= 2 * AgentOutputReader.TailChars);
        Assert.EndsWith("line 199999\n", r.Output);
        Assert.Equal(200000, File.ReadLines(r.TranscriptPath).Count(l => l.Contains(" out line ")));

        var tasks = Session.Invoke($"Get-ClaudeTask -Id {r.TaskId} -Status Succeeded -Since ([DateTime]::Now.AddHours(-1))").ThrowIfFailed();
        Assert.Equal(r.TaskId, ((ClaudeTask)tasks.Output.Single().BaseObject).TaskId);
        Assert.Empty(Session.Invoke($"Get-ClaudeTask -Id {r.TaskId} -Status Failed").ThrowIfFailed().Output);
        var missing = Session.Invoke("Get-ClaudeTask -Id nosuchtask");
        Assert.Equal("ClaudeTaskNotFound,ClaudeOrchestrator.Commands.GetClaudeTaskCommand", missing.FirstError.FullyQualifiedErrorId);
    }

    [Fact]
    public void NothingTheAgentPlantsInTheCheckoutRunsOrIsFollowedOnTheHost()
    {
        var victim = Directory.CreateTempSubdirectory("co-victim-");
        var marker = Path.Combine(Path.GetTempPath(), "co-pwned-" + Guid.NewGuid().ToString("N"));
        try
        {
            File.WriteAllText(Path.Combine(victim.FullName, "keep.txt"), "keep");
            var r = Session.Invoke(StartTask($"plant {victim.FullName} {marker}")).Single<ClaudeTaskResult>();

            Assert.Equal(ClaudeTaskWork.ModuleCommit, r.Work);
            Assert.Equal("left", FileOnBranch(r.Branch, "planted.txt"));
            // The link is saved as a link and deleted as one; its target is untouched.
            Assert.StartsWith("120000 ", Git("ls-tree", r.Branch, "victim-link"));
            Assert.Equal("keep", File.ReadAllText(Path.Combine(victim.FullName, "keep.txt")));
            // Neither the planted fsmonitor nor the hook ran on the host while the module saved the work.
            Assert.False(File.Exists(marker), "a command the agent planted in .git ran on the host");
            AssertNoCheckoutLeft(r.TaskId);
        }
        finally
        {
            victim.Delete(true);
            File.Delete(marker);
        }
    }

    [Fact]
    public void TheTaskRecordHoldsNoSecrets()
    {
        using var _ = Override("ANTHROPIC_API_KEY", "sk-ant-test-secret-4711");
        var r = Session.Invoke(StartTask("write-here x.txt y")).Single<ClaudeTaskResult>();
        var record = File.ReadAllText(Path.Combine(StateTasks, r.TaskId, "task.json"));
        Assert.DoesNotContain("sk-ant-test-secret-4711", record);
        Assert.DoesNotContain("sk-ant-test-secret-4711", string.Join("\n", JournalLines().Select(l => l.ToString())));
    }

    private void AssertRefusedBeforeAnything(PsResult r, string errorId)
    {
        Assert.StartsWith(errorId + ",", r.FirstError.FullyQualifiedErrorId);
        Assert.Empty(DockerCli.ManagedNames());
        Assert.DoesNotContain("claude/", GitIn(Project.FullName, "branch", "--list"));
    }

    [Fact]
    public void EveryRepositoryStateATaskCannotStartFromIsRefusedBeforeAnythingExists()
    {
        var recordsBefore = Directory.Exists(StateTasks) ? Directory.GetDirectories(StateTasks).Length : 0;

        Git("branch", "taken");
        AssertRefusedBeforeAnything(Session.Invoke(StartTask("succeed", "-Branch taken")), "BranchExists");
        Git("branch", "claude");
        AssertRefusedBeforeAnything(Session.Invoke(StartTask("succeed")), "BranchExists");
        AssertRefusedBeforeAnything(Session.Invoke(StartTask("succeed", "-BranchPrefix 'bad..'")), "BranchNameInvalid");

        var untracked = Directory.CreateDirectory(Path.Combine(Project.FullName, "notyet"));
        AssertRefusedBeforeAnything(Session.Invoke($"Start-ClaudeTask -Path '{untracked.FullName}' -Description succeed -Image {Image}"), "IsolationProjectUntracked");

        PsResult noGit;
        using (Override("PATH", "/nonexistent"))
        {
            noGit = Session.Invoke(StartTask("succeed"));
        }

        AssertRefusedBeforeAnything(noGit, "GitNotFound");

        var fresh = Directory.CreateTempSubdirectory("co-unborn-");
        try
        {
            GitIn(fresh.FullName, "init", "-q");
            var unborn = Session.Invoke($"Start-ClaudeTask -Path '{fresh.FullName}' -Description succeed -Image {Image}");
            Assert.StartsWith("IsolationNoCommits,", unborn.FirstError.FullyQualifiedErrorId);

            var plain = Directory.CreateTempSubdirectory("co-plain-");
            try
            {
                var refused = Session.Invoke($"Start-ClaudeTask -Path '{plain.FullName}' -Description succeed -Image {Image} -Isolation Branch");
                Assert.StartsWith("IsolationUnavailable,", refused.FirstError.FullyQualifiedErrorId);

                // No git needed where no repository is: the task runs in place, with a verbose note.
                PsResult inPlace;
                using (Override("PATH", "/nonexistent"))
                {
                    inPlace = Session.Invoke($"Start-ClaudeTask -Path '{plain.FullName}' -Description succeed -Image {Image} -Verbose");
                }

                Assert.Equal(ClaudeTaskWork.InPlace, inPlace.Single<ClaudeTaskResult>().Work);
                Assert.Contains(inPlace.Verbose, v => v.Contains("is not in a git repository"));
            }
            finally
            {
                plain.Delete(true);
            }
        }
        finally
        {
            fresh.Delete(true);
        }

        Assert.Empty(DockerCli.ManagedNames());
        Assert.Equal(recordsBefore + 1, Directory.GetDirectories(StateTasks).Length);
    }

    [Fact]
    public void DetachedHeadAndSubmodulesHaveDefinedBehaviour()
    {
        var first = Git("rev-parse", "HEAD");
        File.WriteAllText(Path.Combine(Project.FullName, "second.txt"), "2\n");
        Git("add", "-A");
        Git("commit", "-q", "-m", "second");
        Git("checkout", "-q", "--detach", first);

        var detached = Session.Invoke(StartTask("write-here d.txt detached"));
        var result = detached.Single<ClaudeTaskResult>();
        Assert.Contains(detached.Warnings, w => w.StartsWith("HEAD is detached at " + first[..12]));
        Assert.Equal(first, result.BaseCommit);
        Assert.Equal("detached", FileOnBranch(result.Branch, "d.txt"));
        var refused = Session.Invoke($"Merge-ClaudeTask {result.TaskId} -Confirm:$false");
        Assert.StartsWith("MergeDetachedHead,", refused.FirstError.FullyQualifiedErrorId);
        Assert.Equal(first, Git("rev-parse", "HEAD"));
        Git("checkout", "-q", "main");

        // A submodule: its directory is empty in the checkout, with a warning; the task still runs.
        var inner = Directory.CreateTempSubdirectory("co-sub-");
        try
        {
            GitIn(inner.FullName, "init", "-q");
            File.WriteAllText(Path.Combine(inner.FullName, "lib.txt"), "lib\n");
            GitIn(inner.FullName, "add", "-A");
            GitIn(inner.FullName, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "lib");
            Git("-c", "protocol.file.allow=always", "submodule", "add", "-q", inner.FullName, "vendor/lib");
            Git("commit", "-q", "-m", "submodule");

            var withSub = Session.Invoke(StartTask("write-here s.txt with-submodule"));
            Assert.Contains(withSub.Warnings, w => w.StartsWith("1 submodule(s) (vendor/lib)"));
            var subResult = withSub.Single<ClaudeTaskResult>();
            Assert.Equal(ClaudeTaskStatus.Succeeded, subResult.Status);
            Assert.Equal("with-submodule", FileOnBranch(subResult.Branch, "s.txt"));
            // The gitlink is unchanged on the branch.
            Assert.Equal(Git("rev-parse", "main:vendor/lib"), Git("rev-parse", subResult.Branch + ":vendor/lib"));
        }
        finally
        {
            inner.Delete(true);
        }
    }
}
