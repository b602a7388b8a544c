using System.Management.Automation;
using Xunit;
using Xunit.Abstractions;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>Per-project YAML profiles in a temporary profiles directory: the seed's format, overrides, every invalid case.</summary>
[Trait(Needs.Trait, Needs.Docker)]
public sealed class ProjectProfileTests : TaskTestBase
{
    private readonly DirectoryInfo _profiles;

    public ProjectProfileTests(DockerFixture docker, ITestOutputHelper output) : base(docker, output)
    {
        _profiles = Directory.CreateTempSubdirectory("co-profiles-");
        Environment.SetEnvironmentVariable("CLAUDE_PROJECTS_DIR", _profiles.FullName);
    }

    private string Profile(string name, string yaml, string extension = ".yaml")
    {
        var file = Path.Combine(_profiles.FullName, name + extension);
        File.WriteAllText(file, yaml.Replace("{path}", Project.FullName));
        return file;
    }

    private ClaudeProject GetProject(string name) =>
        Session.Invoke($"Get-ClaudeProject -Name '{name}' -Verbose").ThrowIfFailed().Single<ClaudeProject>();

    // The seed tool's format, with fields it has and we do not use.
    private const string SeedProfile = """
        name: shop
        local_path: {path}
        description: The shop backend
        git:
          remote: origin
        docker:
          image: claude-orchestrator-test:latest
          memory: 256m
          cpus: 1.5
          network_mode: none
          privileged: false
        """;

    [Fact]
    public void SeedFormatProfileIsReadAndUnknownFieldsAreNotedNotFatal()
    {
        var file = Profile("shop", SeedProfile);

        var r = Session.Invoke("Get-ClaudeProject -Verbose").ThrowIfFailed();
        var project = r.Single<ClaudeProject>();

        Assert.Equal("shop", project.Name);
        Assert.Equal(Project.FullName, project.Path);
        Assert.Equal(Image, project.Image);
        Assert.Equal("256m", project.Memory);
        Assert.Equal(1.5, project.Cpus);
        Assert.Equal("none", project.Network);
        Assert.Equal(file, project.ProfileFile);
        Assert.True(project.IsValid);
        Assert.Null(project.Problem);
        Assert.Contains(r.Verbose, v => v.Contains("'description' is not used"));
        Assert.Contains(r.Verbose, v => v.Contains("'docker.privileged' is not used"));
    }

    [Fact]
    public void TaskByProjectNameRunsWithTheProfileAndExplicitParametersWin()
    {
        Profile("shop", SeedProfile + "\nenvironment:\n  - CO_PROFILE_TOKEN\ntimeout: 45s\n");
        Environment.SetEnvironmentVariable("CO_PROFILE_TOKEN", "from-the-caller");
        try
        {
            using var running = Session.Start("Start-ClaudeTask -Project shop -Description 'sleep 30' -Memory 512m");
            var name = WaitForSessionContainer(running, TimeSpan.FromSeconds(30));
            Assert.Equal((512L << 20).ToString(), DockerCli.Inspect(name, "{{.HostConfig.Memory}}"));
            Assert.Equal("1500000000", DockerCli.Inspect(name, "{{.HostConfig.NanoCpus}}"));
            Assert.Equal("none", DockerCli.Inspect(name, "{{.HostConfig.NetworkMode}}"));
            Assert.Equal(Project.FullName, DockerCli.Inspect(name, "{{range .Mounts}}{{if eq .Destination \"/workspace\"}}{{.Source}}{{end}}{{end}}"));
            Assert.Equal("shop", DockerCli.Inspect(name, "{{index .Config.Labels \"io.claude-orchestrator.project\"}}"));
            running.Stop();

            var written = Session.Invoke("Start-ClaudeTask -Project shop -Description 'write by-profile.txt done'");
            Assert.Equal(ClaudeTaskStatus.Succeeded, written.Single<ClaudeTaskResult>().Status);
            Assert.Equal("done", File.ReadAllText(Path.Combine(Project.FullName, "by-profile.txt")));

            var env = Session.Invoke("Start-ClaudeTask -Project shop -Description 'env CO_PROFILE_TOKEN'").Single<ClaudeTaskResult>();
            Assert.Equal("CO_PROFILE_TOKEN=from-the-caller\n", env.Output);

            var timedOut = Session.Invoke("Start-ClaudeTask -Project shop -Description 'ignore-term 600' -Timeout 2").Single<ClaudeTaskResult>();
            Assert.Equal(ClaudeTaskStatus.TimedOut, timedOut.Status);
            Assert.Contains("00:00:02", timedOut.Reason);
        }
        finally
        {
            Environment.SetEnvironmentVariable("CO_PROFILE_TOKEN", null);
        }
    }

    [Theory]
    [InlineData("docker:\n  memory: 4x", "docker.memory", "'4x' is not a memory size")]
    [InlineData("docker:\n  cpus: -1", "docker.cpus", "'-1'")]
    [InlineData("docker:\n  network_mode: host", "docker.network_mode", "host")]
    [InlineData("docker:\n  network_mode: 'no such mode!'", "docker.network_mode", "not a network mode")]
    [InlineData("docker:\n  selinux_relabel: maybe", "docker.selinux_relabel", "must be true or false")]
    [InlineData("docker:\n  swarm: perhaps", "docker.swarm", "must be true or false")]
    [InlineData("docker:\n  placement:\n    - node.role", "docker.placement", "'node.role' is not a constraint")]
    [InlineData("docker:\n  placement:\n    a: b", "docker.placement", "must be a list of constraints")]
    [InlineData("timeout: soon", "timeout", "'soon' is not a duration")]
    [InlineData("checkout: cheap", "checkout", "must be auto, overlay or full")]
    [InlineData("environment: OOPS", "environment", "must be a list")]
    [InlineData("environment:\n  - 'BAD NAME'", "environment", "'BAD NAME'")]
    public void InvalidFieldIsNamedWithTheFileBeforeAnyContainerExists(string extra, string field, string detail)
    {
        var file = Profile("broken", $"name: broken\nlocal_path: {Project.FullName}\n{extra}\n");

        var listed = GetProject("broken");
        Assert.False(listed.IsValid);
        Assert.Contains(file, listed.Problem);
        Assert.Contains($"field '{field}'", listed.Problem);
        Assert.Contains(detail, listed.Problem);

        var r = Session.Invoke("Start-ClaudeTask -Project broken -Description 'succeed'");
        Assert.StartsWith("ProjectProfileInvalid", r.FirstError.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, r.FirstError.CategoryInfo.Category);
        Assert.Contains(field, r.FirstError.ToString());
        Assert.Empty(r.Output);
        Assert.Empty(DockerCli.ManagedNames());
    }

    [Fact]
    public void MissingPathMalformedYamlAndMissingProfileAreClearErrors()
    {
        Profile("gone", "name: gone\nlocal_path: /nonexistent/project\n");
        Profile("garbled", "name: [unclosed\nlocal_path: {path}\n");
        Profile("relative", "name: relative\nlocal_path: some/where\n");

        Assert.Contains("field 'local_path': the directory '/nonexistent/project' does not exist", GetProject("gone").Problem);
        Assert.Contains("not readable as YAML", GetProject("garbled").Problem);
        Assert.Contains("must be absolute, start with ~, or be cwd", GetProject("relative").Problem);

        var missing = Session.Invoke("Start-ClaudeTask -Project nosuchproject -Description 'succeed'");
        Assert.StartsWith("ProjectProfileNotFound", missing.FirstError.FullyQualifiedErrorId);
        Assert.Contains(Path.Combine(_profiles.FullName, "nosuchproject.yaml"), missing.FirstError.ToString());
        Assert.Empty(DockerCli.ManagedNames());
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("x\\..\\y")]
    public void NamesThatLeaveTheProfilesDirectoryAreRefused(string name)
    {
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(_profiles.FullName)!, "outside.yaml"), $"name: outside\nlocal_path: {Project.FullName}\n");
        try
        {
            var r = Session.Invoke($"Start-ClaudeTask -Project '{name}' -Description 'succeed' -Image {Image}");
            Assert.StartsWith("ProjectNameInvalid", r.FirstError.FullyQualifiedErrorId);
            Assert.Empty(DockerCli.ManagedNames());

            var created = Session.Invoke($"New-ClaudeProject -Name '{name}' -Path '{Project.FullName}'");
            Assert.StartsWith("ProjectNameInvalid", created.FirstError.FullyQualifiedErrorId);
        }
        finally
        {
            File.Delete(Path.Combine(Path.GetDirectoryName(_profiles.FullName)!, "outside.yaml"));
        }
    }

    [Fact]
    public void HomeRelativeAndCwdPathsResolve()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var underHome = Directory.CreateTempSubdirectory("co-home-project-");
        var inHome = Path.Combine(home, ".co-test-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(inHome);
        try
        {
            Profile("tilde", $"local_path: ~/{Path.GetFileName(inHome)}\n");
            Profile("here", "local_path: cwd\n", ".yml");

            Assert.Equal(inHome, GetProject("tilde").Path);
            var here = Session.Invoke($"$null = $ExecutionContext.SessionState.Path.SetLocation('{underHome.FullName}'); Get-ClaudeProject here").ThrowIfFailed().Single<ClaudeProject>();
            Assert.Equal(underHome.FullName, here.Path);
        }
        finally
        {
            Directory.Delete(inHome);
            underHome.Delete();
        }
    }

    [Fact]
    public void NewClaudeProjectWritesAProfileTheLoaderReadsBackAndRefusesToOverwrite()
    {
        var r = Session.Invoke($"New-ClaudeProject -Name fresh -Path '{Project.FullName}' -Image img:1 -Memory 2g -Cpus 3 -Network none -Environment GH_TOKEN -Timeout 30m");
        var written = r.ThrowIfFailed().Single<ClaudeProject>();
        Log(File.ReadAllText(written.ProfileFile));

        Assert.True(written.IsValid, written.Problem);
        Assert.Equal(Path.Combine(_profiles.FullName, "fresh.yaml"), written.ProfileFile);
        Assert.Equal(("img:1", "2g", 3.0, "none"), (written.Image, written.Memory, written.Cpus ?? 0, written.Network));
        Assert.Equal(new[] { "GH_TOKEN" }, written.Environment);
        Assert.Equal(TimeSpan.FromMinutes(30), written.Timeout);
        Assert.Contains("local_path: " + Project.FullName, File.ReadAllText(written.ProfileFile));
        Assert.Contains("network_mode: none", File.ReadAllText(written.ProfileFile));

        var again = Session.Invoke($"New-ClaudeProject -Name fresh -Path '{Project.FullName}'");
        Assert.StartsWith("ProjectProfileExists", again.FirstError.FullyQualifiedErrorId);
        Assert.Contains("img:1", File.ReadAllText(written.ProfileFile));

        Session.Invoke($"New-ClaudeProject -Name fresh -Path '{Project.FullName}' -WhatIf -Force").ThrowIfFailed();
        Assert.Contains("img:1", File.ReadAllText(written.ProfileFile));

        var forced = Session.Invoke($"New-ClaudeProject -Name fresh -Path '{Project.FullName}' -Force").ThrowIfFailed().Single<ClaudeProject>();
        Assert.Null(forced.Image);
        Assert.DoesNotContain("img:1", File.ReadAllText(written.ProfileFile));

        var badPath = Session.Invoke("New-ClaudeProject -Name other -Path /nonexistent/dir");
        Assert.StartsWith("ProjectPathNotFound", badPath.FirstError.FullyQualifiedErrorId);
        Assert.False(File.Exists(Path.Combine(_profiles.FullName, "other.yaml")));
    }

    [Fact]
    public void ProjectNamesCompleteFromProfilesAndTheProjectsRoot()
    {
        Profile("shop", SeedProfile);
        Profile("shopfront", SeedProfile);
        Profile("blog", SeedProfile);
        var root = Directory.CreateTempSubdirectory("co-root-");
        Directory.CreateDirectory(Path.Combine(root.FullName, "shipping"));
        Environment.SetEnvironmentVariable("CLAUDE_PROJECTS_ROOT", root.FullName);
        try
        {
            string Complete(string line) => $"$line = '{line}'; (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object CompletionText";
            var r = Session.Invoke(Complete("Start-ClaudeTask -Project sh")).ThrowIfFailed();
            Assert.Equal(new[] { "shipping", "shop", "shopfront" }, r.Output.Select(o => o.ToString()));

            var get = Session.Invoke(Complete("Get-ClaudeProject b")).ThrowIfFailed();
            Assert.Equal(new[] { "blog" }, get.Output.Select(o => o.ToString()));
        }
        finally
        {
            Environment.SetEnvironmentVariable("CLAUDE_PROJECTS_ROOT", null);
            root.Delete(recursive: true);
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        Environment.SetEnvironmentVariable("CLAUDE_PROJECTS_DIR", null);
        _profiles.Delete(recursive: true);
    }
}
