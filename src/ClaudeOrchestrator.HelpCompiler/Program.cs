using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;
using ClaudeOrchestrator.HelpCompiler;

// Usage: ClaudeOrchestrator.HelpCompiler <markdown dir> <module dll> <output MAML file>
// Fails (exit 1) when a cmdlet has no markdown, or its help lacks a synopsis, a description,
// two examples or the description of any parameter: incomplete help does not ship. The about_*.md
// topics in the same directory become about_*.help.txt beside the MAML (each needs its name as
// title, a short and a long description).
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: ClaudeOrchestrator.HelpCompiler <markdown dir> <module dll> <output MAML file>");
    return 2;
}

var (markdownDir, modulePath, outputPath) = (args[0], Path.GetFullPath(args[1]), args[2]);
var moduleDir = Path.GetDirectoryName(modulePath)!;
AssemblyLoadContext.Default.Resolving += (context, name) =>
{
    var candidate = Path.Combine(moduleDir, name.Name + ".dll");
    return File.Exists(candidate) ? context.LoadFromAssemblyPath(candidate) : null;
};

var module = AssemblyLoadContext.Default.LoadFromAssemblyPath(modulePath);
var problems = new List<string>();
var cmdlets = new List<(CmdletShape, HelpDocument, bool)>();
foreach (var shape in CmdletShape.FromAssembly(module).OrderBy(c => c.Name))
{
    var file = Path.Combine(markdownDir, shape.Name + ".md");
    if (!File.Exists(file))
    {
        problems.Add($"{shape.Name}: no help file {file}");
        continue;
    }

    var help = MarkdownHelpReader.Read(file);
    if (string.IsNullOrWhiteSpace(help.Synopsis)) problems.Add($"{file}: no SYNOPSIS");
    if (help.Description.Count == 0) problems.Add($"{file}: no DESCRIPTION");
    if (help.Examples.Count < 2) problems.Add($"{file}: {help.Examples.Count} example(s), at least 2 needed");
    problems.AddRange(help.Examples.Where(e => string.IsNullOrWhiteSpace(e.Code)).Select(e => $"{file}: example '{e.Title}' has no code"));
    problems.AddRange(shape.Parameters.Where(p => !help.Parameters.TryGetValue(p.Name, out var text) || text.Count == 0)
        .Select(p => $"{file}: parameter -{p.Name} is not described"));
    problems.AddRange(help.Parameters.Keys.Where(k => shape.Parameters.All(p => !p.Name.Equals(k, StringComparison.OrdinalIgnoreCase)))
        .Select(k => $"{file}: describes -{k}, which {shape.Name} does not have"));

    var type = module.GetExportedTypes().First(t => t.GetCustomAttribute<CmdletAttribute>() is { } a && a.VerbName + "-" + a.NounName == shape.Name);
    cmdlets.Add((shape, help, type.GetCustomAttribute<CmdletAttribute>()!.SupportsShouldProcess));
}

// The about_ topics: plain text beside the MAML, where Get-Help about_* finds a module's topics.
var topics = new List<(string Name, string Text)>();
foreach (var file in Directory.GetFiles(markdownDir, "about_*.md").OrderBy(f => f, StringComparer.Ordinal))
{
    var (text, topicProblems) = AboutTopicWriter.Compile(file);
    problems.AddRange(topicProblems);
    topics.Add((Path.GetFileNameWithoutExtension(file), text));
}

if (problems.Count > 0)
{
    foreach (var problem in problems)
    {
        Console.Error.WriteLine("error: " + problem);
    }

    return 1;
}

var helpDir = Path.GetDirectoryName(Path.GetFullPath(outputPath))!;
Directory.CreateDirectory(helpDir);
MamlWriter.Write(cmdlets).Save(outputPath);
foreach (var (name, text) in topics)
{
    File.WriteAllText(Path.Combine(helpDir, name + ".help.txt"), text);
}

Console.WriteLine($"Help for {cmdlets.Count} cmdlets and {topics.Count} about_ topics written to {helpDir}");
return 0;
