using System.IO.Compression;
using System.Xml.Linq;
using Xunit;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>The staged module and the package: one version, only what the module needs, installable by folder layout.</summary>
[Trait(Needs.Trait, Needs.None)]
public class PackagingTests
{
    private static string PropsVersion =>
        XDocument.Load(Path.Combine(Repo.Root, "Directory.Build.props")).Descendants("Version").Single().Value;

    [Fact]
    public void StagedModuleHoldsOnlyTheManifestFormatHelpAssembliesAndTheGateway()
    {
        var files = Directory.GetFiles(Repo.ModuleDirectory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Repo.ModuleDirectory, f).Replace('\\', '/')).ToList();

        Assert.Contains("ClaudeOrchestrator.psd1", files);
        Assert.Contains("ClaudeOrchestrator.dll", files);
        Assert.Contains("ClaudeOrchestrator.format.ps1xml", files);
        Assert.Contains("en-US/ClaudeOrchestrator.dll-Help.xml", files);
        Assert.Contains("en-US/about_ClaudeOrchestrator.help.txt", files);
        Assert.Contains("YamlDotNet.dll", files);
        // Built on Linux x64, as here: the egress gateway's image archive.
        Assert.Contains("gateway/linux-amd64.tar", files);
        var unexpected = files.Where(f => !f.EndsWith(".dll") && f != "ClaudeOrchestrator.psd1" &&
                                          f != "ClaudeOrchestrator.format.ps1xml" && f != "en-US/ClaudeOrchestrator.dll-Help.xml" &&
                                          !(f.StartsWith("en-US/about_ClaudeOrchestrator") && f.EndsWith(".help.txt")) && f != "gateway/linux-amd64.tar");
        Assert.Empty(unexpected);
        Assert.DoesNotContain(files, f => f.Contains("System.Management.Automation") || f.Contains("HelpCompiler") || f.Contains("Tests"));
    }

    [Fact]
    public void PackageCarriesTheOneVersionAndImportsFromAnInstalledLayout()
    {
        var output = Directory.CreateTempSubdirectory("co-pack-");
        var modules = Directory.CreateTempSubdirectory("co-modules-");
        try
        {
            DockerCli.Exec("dotnet", "pack", Path.Combine(Repo.Root, "src", "ClaudeOrchestrator", "ClaudeOrchestrator.csproj"),
                "-c", "Release", "--no-build", "-o", output.FullName).EnsureSuccess();
            var package = Assert.Single(Directory.GetFiles(output.FullName, "*.nupkg"));
            Assert.Equal($"ClaudeOrchestrator.{PropsVersion}.nupkg", Path.GetFileName(package));

            // What Install-PSResource does: the package's files under <Modules>/<name>/<version>.
            var installed = Path.Combine(modules.FullName, "ClaudeOrchestrator", PropsVersion);
            using (var zip = ZipFile.OpenRead(package))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToList();
                Assert.Contains("en-US/ClaudeOrchestrator.dll-Help.xml", entries);
                Assert.Contains("en-US/about_ClaudeOrchestrator.help.txt", entries);
                Assert.Contains("gateway/linux-amd64.tar", entries);
                Assert.DoesNotContain(entries, e => e.EndsWith(".pdb") || e.Contains("System.Management.Automation"));
                var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec")).Open());
                Assert.Equal(PropsVersion, nuspec.Descendants().Single(e => e.Name.LocalName == "version").Value);
                foreach (var entry in zip.Entries.Where(e => !e.FullName.EndsWith(".nuspec") && !e.FullName.StartsWith("_rels/") &&
                                                             !e.FullName.StartsWith("package/") && e.FullName != "[Content_Types].xml"))
                {
                    var target = Path.Combine(installed, entry.FullName);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    entry.ExtractToFile(target);
                }
            }

            using var ps = new PsSession(importModule: false);
            var r = ps.Invoke($"$env:PSModulePath = '{modules.FullName}' + [IO.Path]::PathSeparator + $env:PSModulePath; " +
                              "Import-Module ClaudeOrchestrator -ErrorAction Stop; $m = Get-Module ClaudeOrchestrator; " +
                              "$m.Version.ToString(); $m.ModuleBase; (Get-Command -Module ClaudeOrchestrator).Count; (Get-Help Start-ClaudeTask).Synopsis").ThrowIfFailed();
            var lines = r.Output.Select(o => o.ToString()).ToList();
            Assert.Equal(PropsVersion, lines[0]);
            Assert.Equal(installed, lines[1]);
            Assert.Equal(ModuleManifestTests.ExpectedCmdlets.Length.ToString(), lines[2]);
            Assert.StartsWith("Runs a coding-agent task", lines[3]);
        }
        finally
        {
            output.Delete(recursive: true);
            modules.Delete(recursive: true);
        }
    }
}
