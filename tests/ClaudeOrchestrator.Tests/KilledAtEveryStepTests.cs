using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Records;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// A branch task's host process SIGKILLed at each named step of the task's life (the module's
/// test hook, CLAUDE_ORCHESTRATOR_HALT_AT: at the step itself, or while a git command of it
/// runs, killing that git too), then one sweep: the agent's work on the branch where there was
/// work, no checkout, no lock, a repository git fsck finds sound, one journal line with the
/// true outcome; and a second sweep changes nothing.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public sealed class KilledAtEveryStepTests : TaskTestBase
{
    public KilledAtEveryStepTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
        var files = Enumerable.Range(0, 300).Select(i => ($"src/f{i:000}.txt", $"file {i}\n")).Append(("README.md", "hello\n")).ToArray();
        CommitProject(files);
    }

    public static IEnumerable<object[]> Steps() => new[]
    {
        // Before the agent can have run: nothing to keep, everything of the task deleted.
        new object[] { HaltPoint.Steps.RecordWritten, false },
        new object[] { HaltPoint.Steps.BranchCreated, false },
        new object[] { "git:read-tree", false },
        new object[] { HaltPoint.Steps.CheckoutWritten, false },
        new object[] { HaltPoint.Steps.HostRepositoryStarted, false },
        new object[] { HaltPoint.Steps.Launched, false },
        // After the agent wrote its file: the file on the branch.
        new object[] { HaltPoint.Steps.AgentEnded, true },
        new object[] { "git:add", true },
        new object[] { "git:commit-tree", true },
        new object[] { "git:push", true },
        new object[] { HaltPoint.Steps.BranchMoved, true },
        new object[] { HaltPoint.Steps.WorkRecorded, true },
        new object[] { HaltPoint.Steps.CheckoutPartlyDeleted, true },
        new object[] { HaltPoint.Steps.CheckoutDeleted, true },
    };

    [Fact]
    public void KilledWhileItsRecordIsBeingMadeTheSweepLeavesNoTraceOfTheTask()
    {
        var root = Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "claude-orchestrator", "tasks");
        var before = Directory.Exists(root) ? Directory.GetDirectories(root).Length : 0;
        using (var host = HostProcess.Start($"Start-ClaudeTask -Path '{Project.FullName}' -Description 'write kept.txt survived' -Image {Image}",
                   environment: new Dictionary<string, string> { [HaltPoint.Variable] = HaltPoint.Steps.RecordStaged }))
        {
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(90)), host.Transcript);
            Assert.True(host.ExitCode == 137, $"exit code {host.ExitCode}: {host.Transcript}");
        }

        // Half made: beside the tasks, named for the dead process; no task a command could see.
        Assert.Single(Directory.GetDirectories(root, ".new-*"));
        Assert.DoesNotContain(Session.Invoke("Get-ClaudeTask").ThrowIfFailed().Output.Select(o => (ClaudeTask)o.BaseObject), t => t.Path == Project.FullName);

        Assert.Empty(Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false").Errors);
        Assert.Empty(Directory.GetDirectories(root, ".new-*"));
        Assert.Equal(before, Directory.GetDirectories(root).Length);
        Assert.Equal(string.Empty, ProjectGit("branch", "--list", "claude/*"));
    }

    [Theory]
    [MemberData(nameof(Steps))]
    public void KilledAtAStepTheNextSweepFinishesTheJob(string step, bool agentWrote)
    {
        var baseCommit = ProjectGit("rev-parse", "HEAD");
        using (var host = HostProcess.Start($"Start-ClaudeTask -Path '{Project.FullName}' -Description 'write kept.txt survived' -Image {Image}",
                   environment: new Dictionary<string, string> { [HaltPoint.Variable] = step }))
        {
            Assert.True(host.WaitForExit(TimeSpan.FromSeconds(90)), host.Transcript);
            // 128 + SIGKILL: it died at the step, not at the end of a task that went by.
            Assert.True(host.ExitCode == 137, $"exit code {host.ExitCode}: {host.Transcript}");
        }

        var task = Assert.Single(Session.Invoke("Get-ClaudeTask").ThrowIfFailed().Output.Select(o => (ClaudeTask)o.BaseObject), t => t.Path == Project.FullName);
        var directory = TaskStore.DirectoryFor(task.TaskId);
        Log($"after the kill at {step}: {task.Status} {task.Work}; task directory: {string.Join(", ", Directory.Exists(directory) ? Directory.GetFileSystemEntries(directory).Select(Path.GetFileName) : Array.Empty<string>())}");
        Assert.Equal(ClaudeTaskStatus.Interrupted, task.Status);

        var sweep = Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false");
        Assert.Empty(sweep.Errors);
        int WorkLines() => JournalLines().Count(l => l.TryGetProperty("task", out var id) && id.GetString() == task.TaskId &&
                                                     l.TryGetProperty("work", out var work) && work.ValueKind == System.Text.Json.JsonValueKind.String);
        Assert.Equal(1, WorkLines());

        // The sweep is idempotent: a second one finds nothing to do and says nothing.
        Assert.Empty(Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false").Errors);
        Assert.Equal(1, WorkLines());

        var after = (ClaudeTask)Session.Invoke($"Get-ClaudeTask -Id {task.TaskId}").ThrowIfFailed().Output.Single().BaseObject;
        Log($"after the sweep: {after.Status} {after.Work} {after.Branch} {after.HeadCommit} {after.WorkError}");
        Assert.Null(after.CheckoutPath);
        Assert.Null(after.WorkError);
        Assert.False(TaskCheckout.Exists(directory), "no checkout is left");
        Assert.False(Directory.Exists(Path.Combine(directory, "host.git")), "no host.git is left");
        Assert.Empty(Directory.GetFiles(directory, "*.lock", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(Path.Combine(Project.FullName, ".git", "refs"), "*.lock", SearchOption.AllDirectories));
        var fsck = DockerCli.Exec("git", "-C", Project.FullName, "fsck", "--no-progress");
        Assert.True(fsck.ExitCode == 0 && !fsck.Stderr.Contains("error"), fsck.Stdout + fsck.Stderr);

        var branches = ProjectGit("branch", "--list", "claude/*");
        if (agentWrote)
        {
            Assert.Equal("survived", ProjectGit("show", after.Branch + ":kept.txt"));
            Assert.Contains(after.Work, new[] { ClaudeTaskWork.Salvaged, ClaudeTaskWork.ModuleCommit });
            Assert.Equal(301, ProjectGit("ls-tree", "-r", "--name-only", after.Branch).Split('\n').Count(l => l.StartsWith("src/") || l == "README.md"));
        }
        else if (step == HaltPoint.Steps.Launched)
        {
            // The record said the agent might run; nothing did: the branch stays at its base, as for any task that changed nothing.
            Assert.Equal(ClaudeTaskWork.NoChanges, after.Work);
            Assert.Equal(baseCommit, ProjectGit("rev-parse", after.Branch));
        }
        else
        {
            Assert.Equal(ClaudeTaskWork.NoChanges, after.Work);
            Assert.Equal(string.Empty, branches);
        }
    }
}
