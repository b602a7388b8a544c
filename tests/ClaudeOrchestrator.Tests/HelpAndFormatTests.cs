using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Xml.Linq;
using Xunit;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>Get-Help for every cmdlet and parameter, and the format views, through the real engine.</summary>
[Trait(Needs.Trait, Needs.None)]
public class HelpAndFormatTests
{
    private static readonly HashSet<string> CommonParameters = new(
        Cmdlet.CommonParameters.Concat(Cmdlet.OptionalCommonParameters), StringComparer.OrdinalIgnoreCase);

    public static TheoryData<string> Cmdlets()
    {
        using var ps = new PsSession();
        var data = new TheoryData<string>();
        foreach (var name in ps.Invoke("(Get-Command -Module ClaudeOrchestrator).Name").ThrowIfFailed().Output.Select(o => o.ToString()))
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cmdlets))]
    public void EveryCmdletHasSynopsisDescriptionExamplesAndEveryParameterDescribed(string cmdlet)
    {
        using var ps = new PsSession();
        var help = ps.Invoke($"Get-Help {cmdlet} -Full").ThrowIfFailed().Output.Single();
        var parameters = ps.Invoke($"(Get-Command {cmdlet}).Parameters.Keys").ThrowIfFailed().Output
            .Select(o => o.ToString()).Where(p => !CommonParameters.Contains(p)).ToList();

        var synopsis = (string)help.Properties["Synopsis"].Value;
        Assert.False(string.IsNullOrWhiteSpace(synopsis));
        // Without MAML, Get-Help makes a synopsis out of the syntax; ours is a sentence.
        Assert.DoesNotContain("[<CommonParameters>]", synopsis);
        Assert.EndsWith(".", synopsis.Trim());

        var description = (object[])PSObject.AsPSObject(help.Properties["description"].Value).BaseObject;
        Assert.Contains(description, d => !string.IsNullOrWhiteSpace(PSObject.AsPSObject(d).Properties["Text"].Value as string));

        var examples = ps.Invoke($"@((Get-Help {cmdlet} -Examples).examples.example)").ThrowIfFailed().Output;
        Assert.True(examples.Count >= 2, $"{cmdlet} has {examples.Count} example(s)");
        Assert.All(examples, e => Assert.False(string.IsNullOrWhiteSpace(e.Properties["code"]?.Value?.ToString()), e.ToString()));

        var described = ps.Invoke($"(Get-Help {cmdlet} -Full).parameters.parameter | ForEach-Object {{ $_.name + '=' + (($_.description | ForEach-Object Text) -join ' ') }}")
            .ThrowIfFailed().Output.Select(o => o.ToString()).ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..]);
        Assert.All(parameters, p => Assert.True(described.TryGetValue(p, out var text) && text.Trim().Length > 10, $"{cmdlet} -{p} lacks help"));

        var syntax = ps.Invoke($"(Get-Help {cmdlet}).syntax.syntaxItem.Count").ThrowIfFailed().Output.Single();
        var sets = ps.Invoke($"(Get-Command {cmdlet}).ParameterSets.Count").ThrowIfFailed().Output.Single();
        Assert.Equal(sets.ToString(), syntax.ToString());
    }

    [Fact]
    public void MamlFileShipsInTheModuleUnderEnUs()
    {
        var maml = Path.Combine(Repo.ModuleDirectory, "en-US", "ClaudeOrchestrator.dll-Help.xml");
        var doc = XDocument.Load(maml);
        XNamespace command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        Assert.Equal(ModuleManifestTests.ExpectedCmdlets.Length, doc.Descendants(command + "command").Count());
    }

    [Fact]
    public void FormatFileLoadsAndHasAViewForEveryOutputType()
    {
        var file = Path.Combine(Repo.ModuleDirectory, "ClaudeOrchestrator.format.ps1xml");
        // The engine's own loader validates the views; a broken one throws here.
        _ = new FormatTable(new[] { file });

        var selected = XDocument.Load(file).Descendants("TypeName").Select(t => t.Value).ToHashSet();
        foreach (var type in new[] { typeof(ClaudeContainer), typeof(ClaudeTaskResult), typeof(ClaudeCleanupReport), typeof(ClaudeCleanupRecord), typeof(ClaudeProject) })
        {
            Assert.Contains(type.FullName, selected);
        }

        using var ps = new PsSession();
        var exported = ps.Invoke("(Get-Module ClaudeOrchestrator).ExportedFormatFiles").ThrowIfFailed().Output.Select(o => o.ToString());
        Assert.Contains(exported, f => f.EndsWith("ClaudeOrchestrator.format.ps1xml"));
    }
}
