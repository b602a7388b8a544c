using System.Text.RegularExpressions;
using ClaudeOrchestrator.Testing;
using ClaudeOrchestrator.Tests.Infrastructure;
using Xunit;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// The module's folders are its boundaries: each folder's namespace is its path, and a folder
/// may use only the folders below it (docs/architecture.md draws them). A new dependency upward,
/// and so a cycle, fails here, naming the file and the folder it reached for.
/// </summary>
[Trait(Needs.Trait, Needs.None)]
public sealed class ArchitectureTests
{
    /// <summary>The folders from the bottom up; a folder may use itself and those before it.</summary>
    internal static readonly string[] Layers =
    {
        "Model",
        "Engine/Common",
        "Engine/Journal",
        "Engine/Git",
        "Engine/Records",
        "Engine/Endpoints",
        "Engine/Tracking",
        "Engine/Egress",
        "Engine/Sandboxing",
        "Engine/Agent",
        "Engine/Live",
        "Engine/Projects",
        "Engine/Planning",
        "Engine/Workspaces",
        "Engine/Backends",
        "Engine/Backends/Containers",
        "Engine/Backends/Swarm",
        "Engine/Tasks",
        "Engine/Cleanup",
        "Engine/Doctor",
        "Hosting",
        "Jobs",
        "Commands",
        ".",
    };

    private static string Source => Path.Combine(Repo.Root, "src", "ClaudeOrchestrator");

    private static IEnumerable<string> Files() =>
        Directory.GetFiles(Source, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));

    private static string FolderOf(string file)
    {
        var folder = Path.GetRelativePath(Source, Path.GetDirectoryName(file)!).Replace('\\', '/');
        return folder;
    }

    private static string NamespaceOf(string folder) =>
        folder == "." || folder == "Model" ? "ClaudeOrchestrator" : "ClaudeOrchestrator." + folder.Replace('/', '.');

    /// <summary>The folder a project namespace lives in (ClaudeOrchestrator itself is the public model).</summary>
    private static string FolderOfNamespace(string ns) =>
        ns == "ClaudeOrchestrator" ? "Model" : ns.Substring("ClaudeOrchestrator.".Length).Replace('.', '/');

    [Fact]
    public void EveryFolderHasALayerAndEveryFileTheNamespaceOfItsFolder()
    {
        var wrong = new List<string>();
        foreach (var file in Files())
        {
            var folder = FolderOf(file);
            Assert.True(Layers.Contains(folder), $"The folder {folder} has no place in ArchitectureTests.Layers (and docs/architecture.md): say what it may use.");
            var declared = Regex.Match(File.ReadAllText(file), @"(?m)^namespace\s+([\w.]+)").Groups[1].Value;
            if (declared != NamespaceOf(folder))
            {
                wrong.Add($"{Path.GetRelativePath(Source, file)}: namespace {declared}, not {NamespaceOf(folder)}");
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void AFolderUsesOnlyTheFoldersBelowIt()
    {
        var upward = new List<string>();
        foreach (var file in Files())
        {
            var folder = FolderOf(file);
            var level = Array.IndexOf(Layers, folder);
            var text = Regex.Replace(File.ReadAllText(file), @"//[^\n]*", string.Empty);
            var used = Regex.Matches(text, @"(?m)^using (ClaudeOrchestrator(?:\.[\w.]+)?);").Select(m => m.Groups[1].Value)
                .Concat(Regex.Matches(text, @"\b(ClaudeOrchestrator\.(?:Engine\.)?[A-Z]\w*(?:\.[A-Z]\w*)?)\.[A-Z]").Select(m => m.Groups[1].Value))
                .Where(ns => ns != "ClaudeOrchestrator.Testing" && ns != "ClaudeOrchestrator.Tests")
                .Distinct();
            foreach (var ns in used)
            {
                var targetLevel = Array.IndexOf(Layers, FolderOfNamespace(ns));
                if (targetLevel < 0)
                {
                    continue;
                }

                if (targetLevel > level)
                {
                    upward.Add($"{Path.GetRelativePath(Source, file)} ({folder}) uses {FolderOfNamespace(ns)}, which is above it");
                }
            }
        }

        Assert.True(upward.Count == 0, "Dependencies upward:\n" + string.Join("\n", upward.OrderBy(u => u)));
    }

    [Fact]
    public void TheEnginesApiIsReachedOnlyThroughItsNarrowInterfaces()
    {
        var wrong = new List<string>();
        foreach (var file in Files())
        {
            var folder = FolderOf(file);
            var text = Regex.Replace(File.ReadAllText(file), @"//[^\n]*", string.Empty);
            // The client itself lives behind Engine/Endpoints' interfaces (IContainerApi, ISwarmApi, ...).
            if (folder != "Engine/Endpoints" && Regex.IsMatch(text, @"\bDockerClient\b|\.Client\.(Containers|Swarm|Volumes|Images|System|Configs|Tasks)\b"))
            {
                wrong.Add($"{Path.GetRelativePath(Source, file)} uses the Docker client directly");
            }

            // Above the engine, no Docker.DotNet at all: cmdlets, jobs and the host speak the module's terms.
            if (!folder.StartsWith("Engine/", StringComparison.Ordinal) && text.Contains("Docker.DotNet"))
            {
                wrong.Add($"{Path.GetRelativePath(Source, file)} ({folder}) uses Docker.DotNet");
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void TheModelHoldsNoEngineDetail()
    {
        foreach (var file in Files().Where(f => FolderOf(f) == "Model"))
        {
            var text = File.ReadAllText(file);
            Assert.DoesNotContain("Docker.DotNet", text);
            Assert.DoesNotMatch(@"\bClaudeOrchestrator\.(Engine|Commands|Jobs|Hosting)\b", text);
        }
    }
}
