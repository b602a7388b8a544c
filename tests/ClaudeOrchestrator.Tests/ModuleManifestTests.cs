using ClaudeOrchestrator.Testing;
using ClaudeOrchestrator.Tests.Infrastructure;
using Xunit;

namespace ClaudeOrchestrator.Tests;

public class ModuleManifestTests
{
    /// <summary>Every cmdlet the module exports, sorted.</summary>
    public static readonly string[] ExpectedCmdlets =
    {
        "Compare-ClaudeTask", "Get-ClaudeCleanupReport", "Get-ClaudeContainer", "Get-ClaudeProject", "Get-ClaudeTask",
        "Merge-ClaudeTask", "New-ClaudeProject", "Receive-ClaudeTask", "Remove-ClaudeContainer", "Remove-ClaudeTask", "Start-ClaudeTask",
        "Test-ClaudeEngine",
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
    public void EveryCmdletDeclaresItsOutputTypeAndRemoversSupportShouldProcess()
    {
        using var ps = new PsSession();
        var r = ps.Invoke("Get-Command -Module ClaudeOrchestrator").ThrowIfFailed();

        foreach (var command in r.Output.Select(o => (System.Management.Automation.CmdletInfo)o.BaseObject))
        {
            Assert.NotEmpty(command.OutputType);
            if (command.Verb == "Remove")
            {
                Assert.True(command.Parameters.ContainsKey("WhatIf"), command.Name + " lacks -WhatIf");
                Assert.True(command.Parameters.ContainsKey("Confirm"), command.Name + " lacks -Confirm");
            }
        }
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
