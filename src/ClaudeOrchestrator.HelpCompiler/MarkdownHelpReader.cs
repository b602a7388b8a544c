using System.Text;

namespace ClaudeOrchestrator.HelpCompiler;

/// <summary>
/// Reads the help markdown: "# Name", then "## SYNOPSIS", "## DESCRIPTION", "## EXAMPLES" (each
/// "### title", a fenced code block, remarks), "## PARAMETERS" (each "### -Name" and its text),
/// "## INPUTS"/"## OUTPUTS" (each "### type" and text), "## NOTES", "## RELATED LINKS" ("- name").
/// Paragraphs are separated by blank lines.
/// </summary>
public static class MarkdownHelpReader
{
    public static HelpDocument Read(string path)
    {
        var doc = new HelpDocument();
        string section = null, subsection = null;
        HelpExample example = null;
        var paragraph = new StringBuilder();
        var inCode = false;
        var code = new StringBuilder();

        List<string> Target()
        {
            switch (section)
            {
                case "SYNOPSIS": return null;
                case "DESCRIPTION": return doc.Description;
                case "EXAMPLES": return example?.Remarks;
                case "PARAMETERS": return subsection == null ? null : doc.Parameters[subsection];
                case "INPUTS": return doc.Inputs.LastOrDefault().Text;
                case "OUTPUTS": return doc.Outputs.LastOrDefault().Text;
                case "NOTES": return doc.Notes;
                default: return null;
            }
        }

        void Flush()
        {
            var text = paragraph.ToString().Trim();
            paragraph.Clear();
            if (text.Length == 0)
            {
                return;
            }

            if (section == "SYNOPSIS")
            {
                doc.Synopsis = (doc.Synopsis + " " + text).Trim();
            }
            else
            {
                Target()?.Add(text);
            }
        }

        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.TrimEnd();
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                if (inCode)
                {
                    if (example != null)
                    {
                        example.Code = code.ToString().TrimEnd('\n');
                    }

                    code.Clear();
                }
                else
                {
                    Flush();
                }

                inCode = !inCode;
                continue;
            }

            if (inCode)
            {
                code.Append(raw).Append('\n');
                continue;
            }

            if (line.StartsWith("# ", StringComparison.Ordinal))
            {
                doc.Name = line.Substring(2).Trim();
                continue;
            }

            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                Flush();
                section = line.Substring(3).Trim().ToUpperInvariant();
                subsection = null;
                example = null;
                continue;
            }

            if (line.StartsWith("### ", StringComparison.Ordinal))
            {
                Flush();
                subsection = line.Substring(4).Trim();
                switch (section)
                {
                    case "EXAMPLES":
                        example = new HelpExample { Title = subsection };
                        doc.Examples.Add(example);
                        break;
                    case "PARAMETERS":
                        subsection = subsection.TrimStart('-');
                        doc.Parameters[subsection] = new List<string>();
                        break;
                    case "INPUTS":
                        doc.Inputs.Add((subsection, new List<string>()));
                        break;
                    case "OUTPUTS":
                        doc.Outputs.Add((subsection, new List<string>()));
                        break;
                }

                continue;
            }

            if (section == "RELATED LINKS" && line.StartsWith("- ", StringComparison.Ordinal))
            {
                doc.RelatedLinks.Add(line.Substring(2).Trim());
                continue;
            }

            if (line.Length == 0)
            {
                Flush();
            }
            else
            {
                // A list item is a paragraph of its own.
                if (line.TrimStart().StartsWith("- ", StringComparison.Ordinal))
                {
                    Flush();
                }

                paragraph.Append(paragraph.Length > 0 ? " " : "").Append(line.Trim());
            }
        }

        Flush();
        return doc;
    }
}
