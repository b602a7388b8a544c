namespace ClaudeOrchestrator.HelpCompiler;

/// <summary>One cmdlet's help as written in markdown.</summary>
public sealed class HelpDocument
{
    public string Name { get; set; }
    public string Synopsis { get; set; } = "";
    public List<string> Description { get; } = new();
    public List<HelpExample> Examples { get; } = new();
    public Dictionary<string, List<string>> Parameters { get; } = new(StringComparer.OrdinalIgnoreCase);
    public List<(string Type, List<string> Text)> Inputs { get; } = new();
    public List<(string Type, List<string> Text)> Outputs { get; } = new();
    public List<string> Notes { get; } = new();
    public List<string> RelatedLinks { get; } = new();
}

public sealed class HelpExample
{
    public string Title { get; set; }
    public string Code { get; set; } = "";
    public List<string> Remarks { get; } = new();
}
