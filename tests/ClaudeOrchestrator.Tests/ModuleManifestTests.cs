using Xunit;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

[Trait(Needs.Trait, Needs.None)]
public class ModuleManifestTests
{
    /// <summary>Every cmdlet the module exports, sorted.</summary>
    public static readonly string[] ExpectedCmdlets =
    {
        "Compare-ClaudeTask", "Get-ClaudeCleanupReport", "Get-ClaudeContainer", "Get-ClaudeProject", "Get-ClaudeTask",
        "Merge-ClaudeTask", "New-ClaudeProject", "Receive-ClaudeTask", "Remove-ClaudeContainer", "Remove-ClaudeTask", "Start-ClaudeTask",
        "Test-ClaudeEngine", "Watch-ClaudeTask",
    };

    [Fact]
    public void ManifestPassesTestModuleManifestAndExportsTheCmdlets()
    {
        using var ps = new PsSession(importModule: false);
        var r = ps.Invoke($"Test-ModuleManifest -Path '{Repo.Manifest}'").ThrowIfFailed();

        var module = (System.Management.Automation.PSModuleInfo)Assert.Single(r.Output).BaseObject;
        Assert.Equal(ExpectedCmdlets,
            module.ExportedCmdlets.Keys.OrderBy(k => k));
        Assert.Equal(new[] { "Core", "Desktop" }, module.CompatiblePSEditions.OrderBy(e => e));
        Assert.Equal(new Version(5, 1), module.PowerShellVersion);
    }

    [Fact]
    public void ImportedModuleExportsExactlyTheManifestsCmdlets()
    {
        using var ps = new PsSession();
        var r = ps.Invoke("(Get-Command -Module ClaudeOrchestrator).Name").ThrowIfFailed();

        Assert.Equal(ExpectedCmdlets,
            r.Output.Select(o => o.ToString()).OrderBy(n => n));
    }

    [Fact]
    public void EveryCmdletDeclaresItsOutputTypeAndWhatCreatesOrRemovesSupportsShouldProcess()
    {
        using var ps = new PsSession();
        var r = ps.Invoke("Get-Command -Module ClaudeOrchestrator").ThrowIfFailed();

        foreach (var command in r.Output.Select(o => (System.Management.Automation.CmdletInfo)o.BaseObject))
        {
            Assert.NotEmpty(command.OutputType);
            if (command.Verb is "Remove" or "New" or "Start" or "Merge")
            {
                Assert.True(command.Parameters.ContainsKey("WhatIf"), command.Name + " lacks -WhatIf");
                Assert.True(command.Parameters.ContainsKey("Confirm"), command.Name + " lacks -Confirm");
            }
        }
    }

    [Fact]
    public void ReleaseNotesLicenseChangelogAndSdkPinAgreeWithTheBuild()
    {
        var version = System.Xml.Linq.XDocument.Load(Path.Combine(Repo.Root, "Directory.Build.props")).Descendants("Version").Single().Value;
        using var ps = new PsSession(importModule: false);
        var module = (System.Management.Automation.PSModuleInfo)ps.Invoke($"Test-ModuleManifest -Path '{Repo.Manifest}'").ThrowIfFailed().Output.Single().BaseObject;

        // The staged manifest carries the one version; its release notes name it and point at the changelog, which has it.
        Assert.Equal(version, module.Version.ToString(3));
        Assert.Contains($"({version})", module.ReleaseNotes);
        Assert.Contains("CHANGELOG.md", module.ReleaseNotes);
        Assert.Contains($"## {version}", File.ReadAllText(Path.Combine(Repo.Root, "CHANGELOG.md")));

        // The licence the manifest names is the one in the repository and the package.
        Assert.EndsWith("/MIT", module.LicenseUri.ToString());
        Assert.StartsWith("MIT License", File.ReadAllText(Path.Combine(Repo.Root, "LICENSE")));
        Assert.Contains("MIT License", module.Copyright);
        Assert.Contains("<license type=\"expression\">MIT</license>", File.ReadAllText(Path.Combine(Repo.Root, "src", "ClaudeOrchestrator", "ClaudeOrchestrator.nuspec")));

        // The SDK the build needs is pinned to its major version.
        using var global = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "global.json")));
        Assert.StartsWith("10.0.", global.RootElement.GetProperty("sdk").GetProperty("version").GetString());
        Assert.Equal("latestFeature", global.RootElement.GetProperty("sdk").GetProperty("rollForward").GetString());
    }

    [Fact]
    public void StagedModuleHoldsNoPowerShellEngineAssembly()
    {
        // The engine that imports the module provides System.Management.Automation.
        Assert.False(File.Exists(Path.Combine(Repo.ModuleDirectory, "System.Management.Automation.dll")));
        Assert.True(File.Exists(Path.Combine(Repo.ModuleDirectory, "ClaudeOrchestrator.format.ps1xml")));
        Assert.True(File.Exists(Path.Combine(Repo.ModuleDirectory, "Docker.DotNet.dll")));
    }
}
