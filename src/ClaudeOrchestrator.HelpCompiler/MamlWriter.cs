using System.Management.Automation;
using System.Xml.Linq;

namespace ClaudeOrchestrator.HelpCompiler;

/// <summary>Writes MAML, the XML Get-Help reads for binary cmdlets: prose from markdown, syntax from the code.</summary>
public static class MamlWriter
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    private static readonly (string Name, string Text)[] ShouldProcessParameters =
    {
        ("WhatIf", "Shows what would happen if the cmdlet runs. The cmdlet is not run."),
        ("Confirm", "Prompts you for confirmation before running the cmdlet."),
    };

    public static XDocument Write(IEnumerable<(CmdletShape Shape, HelpDocument Help, bool ShouldProcess)> cmdlets) =>
        new XDocument(new XDeclaration("1.0", "utf-8", null),
            new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
                new XAttribute(XNamespace.Xmlns + "maml", Maml),
                new XAttribute(XNamespace.Xmlns + "command", Command),
                new XAttribute(XNamespace.Xmlns + "dev", Dev),
                cmdlets.Select(c => CommandElement(c.Shape, c.Help, c.ShouldProcess))));

    private static XElement CommandElement(CmdletShape shape, HelpDocument help, bool shouldProcess)
    {
        var extra = shouldProcess ? ShouldProcessParameters : Array.Empty<(string Name, string Text)>();
        return new XElement(Command + "command",
            new XElement(Command + "details",
                new XElement(Command + "name", shape.Name),
                new XElement(Command + "verb", shape.Verb),
                new XElement(Command + "noun", shape.Noun),
                Paras(Maml + "description", new[] { help.Synopsis })),
            Paras(Maml + "description", help.Description),
            new XElement(Command + "syntax",
                shape.SetNames.Select(set => new XElement(Command + "syntaxItem",
                    new XElement(Maml + "name", shape.Name),
                    shape.InSet(set).Select(p => Parameter(p.Parameter, p.Attribute, help, inSyntax: true)),
                    extra.Select(e => SwitchOnly(e.Name, e.Text))))),
            new XElement(Command + "parameters",
                shape.Parameters.OrderBy(p => p.Name).Select(p => Parameter(p, Strongest(p), help, inSyntax: false)),
                extra.Select(e => SwitchOnly(e.Name, e.Text))),
            new XElement(Command + "inputTypes", help.Inputs.Select(i => TypeEntry(Command + "inputType", i.Type, i.Text))),
            new XElement(Command + "returnValues", help.Outputs.Select(o => TypeEntry(Command + "returnValue", o.Type, o.Text))),
            new XElement(Maml + "alertSet", new XElement(Maml + "alert", help.Notes.Select(n => new XElement(Maml + "para", n)))),
            new XElement(Command + "examples", help.Examples.Select((e, i) => new XElement(Command + "example",
                new XElement(Maml + "title", $"-------------------------- Example {i + 1}: {StripNumber(e.Title)} --------------------------"),
                new XElement(Dev + "code", e.Code),
                Paras(Dev + "remarks", e.Remarks)))),
            new XElement(Command + "relatedLinks", help.RelatedLinks.Select(l => new XElement(Maml + "navigationLink",
                new XElement(Maml + "linkText", l), new XElement(Maml + "uri")))));
    }

    private static XElement Parameter(ParameterShape p, ParameterAttribute a, HelpDocument help, bool inSyntax)
    {
        var typeName = p.Type.IsArray ? p.Type.GetElementType()!.Name + "[]" : p.Type.Name;
        return new XElement(Command + "parameter",
            new XAttribute("required", a.Mandatory.ToString().ToLowerInvariant()),
            new XAttribute("variableLength", p.Type.IsArray.ToString().ToLowerInvariant()),
            new XAttribute("globbing", p.Globbing.ToString().ToLowerInvariant()),
            new XAttribute("pipelineInput", p.PipelineInput),
            new XAttribute("position", a.Position < 0 ? "named" : a.Position.ToString()),
            new XAttribute("aliases", p.Aliases.Length == 0 ? "none" : string.Join(", ", p.Aliases)),
            new XElement(Maml + "name", p.Name),
            Paras(Maml + "description", help.Parameters.TryGetValue(p.Name, out var text) ? text : new List<string>()),
            p.IsSwitch && inSyntax ? null : new XElement(Command + "parameterValue",
                new XAttribute("required", (!p.IsSwitch).ToString().ToLowerInvariant()),
                new XAttribute("variableLength", p.Type.IsArray.ToString().ToLowerInvariant()), typeName),
            new XElement(Dev + "type", new XElement(Maml + "name", p.Type.FullName), new XElement(Maml + "uri")),
            new XElement(Dev + "defaultValue", p.IsSwitch ? "False" : "None"));
    }

    private static XElement SwitchOnly(string name, string text) =>
        new XElement(Command + "parameter",
            new XAttribute("required", "false"), new XAttribute("variableLength", "false"), new XAttribute("globbing", "false"),
            new XAttribute("pipelineInput", "False"), new XAttribute("position", "named"),
            new XAttribute("aliases", name == "WhatIf" ? "wi" : "cf"),
            new XElement(Maml + "name", name),
            Paras(Maml + "description", new[] { text }),
            new XElement(Dev + "type", new XElement(Maml + "name", typeof(SwitchParameter).FullName), new XElement(Maml + "uri")),
            new XElement(Dev + "defaultValue", "False"));

    /// <summary>For the parameters list: mandatory or positional anywhere counts.</summary>
    private static ParameterAttribute Strongest(ParameterShape p) =>
        p.Sets.Values.OrderBy(a => a.Mandatory ? 0 : 1).ThenBy(a => a.Position < 0 ? int.MaxValue : a.Position).First();

    private static XElement TypeEntry(XName element, string type, IEnumerable<string> text) =>
        new XElement(element,
            new XElement(Dev + "type", new XElement(Maml + "name", type), new XElement(Maml + "uri")),
            Paras(Maml + "description", text));

    private static XElement Paras(XName element, IEnumerable<string> paragraphs) =>
        new XElement(element, paragraphs.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => new XElement(Maml + "para", p)));

    private static string StripNumber(string title)
    {
        var colon = title.IndexOf(':');
        return title.StartsWith("Example", StringComparison.OrdinalIgnoreCase) && colon > 0 ? title.Substring(colon + 1).Trim() : title;
    }
}
