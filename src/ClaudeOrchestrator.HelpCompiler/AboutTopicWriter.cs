using System.Text;

namespace ClaudeOrchestrator.HelpCompiler;

/// <summary>
/// Turns an about_ topic written in markdown ("# about_Name", "## SHORT DESCRIPTION",
/// "## LONG DESCRIPTION", further "## SECTIONS" and "### subsections", paragraphs, lists, tables
/// and fenced code) into the plain text Get-Help shows: section titles flush left in capitals,
/// text indented four spaces and wrapped at 80 columns, lists hung, tables and code kept as
/// written. The topic must name itself as its file does and have both descriptions.
/// </summary>
public static class AboutTopicWriter
{
    private const int Width = 80;
    private const string Indent = "    ";

    /// <summary>The topic's text, or the problems that keep it from shipping.</summary>
    public static (string Text, List<string> Problems) Compile(string path)
    {
        var problems = new List<string>();
        var name = Path.GetFileNameWithoutExtension(path);
        var lines = File.ReadAllLines(path);
        var output = new StringBuilder();
        var sections = new List<string>();
        var paragraph = new StringBuilder();
        string bullet = null;
        var inCode = false;
        string title = null;

        void Flush()
        {
            var text = paragraph.ToString().Trim();
            paragraph.Clear();
            if (text.Length > 0)
            {
                Wrap(output, text, bullet == null ? Indent : Indent + bullet, bullet == null ? Indent : Indent + new string(' ', bullet.Length));
                output.AppendLine();
            }

            bullet = null;
        }

        foreach (var raw in lines)
        {
            var line = raw.TrimEnd();
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                Flush();
                inCode = !inCode;
                if (!inCode)
                {
                    output.AppendLine();
                }

                continue;
            }

            if (inCode)
            {
                output.Append(Indent).Append(Indent).AppendLine(raw);
                continue;
            }

            if (line.StartsWith("# ", StringComparison.Ordinal))
            {
                title = line.Substring(2).Trim();
                output.AppendLine("TOPIC").Append(Indent).AppendLine(title).AppendLine();
                continue;
            }

            if (line.StartsWith("## ", StringComparison.Ordinal) || line.StartsWith("### ", StringComparison.Ordinal))
            {
                Flush();
                var level = line.StartsWith("## ", StringComparison.Ordinal) ? 2 : 3;
                var heading = line.Substring(level + 1).Trim();
                if (level == 2)
                {
                    sections.Add(heading.ToUpperInvariant());
                    output.AppendLine(heading.ToUpperInvariant());
                }
                else
                {
                    output.Append(Indent).AppendLine(heading).Append(Indent).AppendLine(new string('-', heading.Length));
                }

                continue;
            }

            if (line.TrimStart().StartsWith("|", StringComparison.Ordinal))
            {
                Flush();
                // A table row as written; its separator row goes.
                if (!line.Replace("|", string.Empty).Replace("-", string.Empty).Replace(" ", string.Empty).Replace(":", string.Empty).Any())
                {
                    continue;
                }

                output.Append(Indent).AppendLine(line.Trim());
                continue;
            }

            if (line.Length == 0)
            {
                Flush();
                continue;
            }

            var trimmed = line.TrimStart();
            if (trimmed.StartsWith("- ", StringComparison.Ordinal) || trimmed.StartsWith("* ", StringComparison.Ordinal))
            {
                Flush();
                bullet = "- ";
                trimmed = trimmed.Substring(2);
            }

            paragraph.Append(paragraph.Length > 0 ? " " : string.Empty).Append(trimmed);
        }

        Flush();
        if (title != name)
        {
            problems.Add($"{path}: its title '{title}' is not its file name '{name}'");
        }

        foreach (var required in new[] { "SHORT DESCRIPTION", "LONG DESCRIPTION" })
        {
            if (!sections.Contains(required))
            {
                problems.Add($"{path}: no {required} section");
            }
        }

        return (output.ToString().TrimEnd() + Environment.NewLine, problems);
    }

    /// <summary>Words of <paramref name="text"/> (markdown's backticks and bold dropped) in lines of at most <see cref="Width"/> columns.</summary>
    private static void Wrap(StringBuilder output, string text, string first, string rest)
    {
        text = text.Replace("**", string.Empty).Replace("`", string.Empty);
        var line = new StringBuilder(first);
        var empty = true;
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!empty && line.Length + 1 + word.Length > Width)
            {
                output.AppendLine(line.ToString());
                line.Clear().Append(rest);
                empty = true;
            }

            line.Append(empty ? string.Empty : " ").Append(word);
            empty = false;
        }

        output.AppendLine(line.ToString());
    }
}
