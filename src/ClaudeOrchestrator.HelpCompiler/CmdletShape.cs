using System.Management.Automation;
using System.Reflection;

namespace ClaudeOrchestrator.HelpCompiler;

/// <summary>What the code says about a cmdlet: its name, parameter sets and parameters.</summary>
public sealed class CmdletShape
{
    public string Name { get; init; }
    public string Verb { get; init; }
    public string Noun { get; init; }
    public string DefaultSet { get; init; }
    public List<ParameterShape> Parameters { get; init; }
    public List<string> OutputTypes { get; init; }

    public IEnumerable<string> SetNames
    {
        get
        {
            // A default set that no parameter names (e.g. "Tracked") is still a set of its own.
            var named = Parameters.SelectMany(p => p.Sets.Keys).Append(DefaultSet)
                .Where(s => !string.IsNullOrEmpty(s) && s != ParameterAttribute.AllParameterSets).Distinct().ToList();
            return named.Count == 0 ? new[] { ParameterAttribute.AllParameterSets } : named.OrderBy(s => s == DefaultSet ? 0 : 1).ThenBy(s => s);
        }
    }

    public IEnumerable<(ParameterShape Parameter, ParameterAttribute Attribute)> InSet(string set) =>
        Parameters
            .Select(p => (p, p.Sets.TryGetValue(set, out var a) ? a : p.Sets.TryGetValue(ParameterAttribute.AllParameterSets, out var all) ? all : null))
            .Where(x => x.Item2 != null)
            .OrderBy(x => x.Item2.Position < 0 ? int.MaxValue : x.Item2.Position)
            .ThenBy(x => x.Item2.Mandatory ? 0 : 1);

    public static IEnumerable<CmdletShape> FromAssembly(Assembly assembly)
    {
        foreach (var type in assembly.GetExportedTypes().Where(t => !t.IsAbstract))
        {
            var cmdlet = type.GetCustomAttribute<CmdletAttribute>();
            if (cmdlet == null)
            {
                continue;
            }

            yield return new CmdletShape
            {
                Name = cmdlet.VerbName + "-" + cmdlet.NounName,
                Verb = cmdlet.VerbName,
                Noun = cmdlet.NounName,
                DefaultSet = cmdlet.DefaultParameterSetName,
                OutputTypes = type.GetCustomAttributes<OutputTypeAttribute>().SelectMany(o => o.Type).Select(t => t.Name).ToList(),
                Parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                    .Select(ParameterShape.From).Where(p => p != null).ToList(),
            };
        }
    }
}

public sealed class ParameterShape
{
    public string Name { get; init; }
    public Type Type { get; init; }
    public string[] Aliases { get; init; }
    public bool Globbing { get; init; }
    public Dictionary<string, ParameterAttribute> Sets { get; init; }

    public bool IsSwitch => Type == typeof(SwitchParameter);

    public string PipelineInput
    {
        get
        {
            var kinds = new List<string>();
            if (Sets.Values.Any(a => a.ValueFromPipelineByPropertyName))
            {
                kinds.Add("ByPropertyName");
            }

            if (Sets.Values.Any(a => a.ValueFromPipeline))
            {
                kinds.Add("ByValue");
            }

            return kinds.Count == 0 ? "False" : $"True ({string.Join(", ", kinds)})";
        }
    }

    public static ParameterShape From(PropertyInfo property)
    {
        var attributes = property.GetCustomAttributes<ParameterAttribute>().ToList();
        if (attributes.Count == 0)
        {
            return null;
        }

        return new ParameterShape
        {
            Name = property.Name,
            Type = property.PropertyType,
            Aliases = property.GetCustomAttributes<AliasAttribute>().SelectMany(a => a.AliasNames).ToArray(),
            Globbing = property.GetCustomAttribute<SupportsWildcardsAttribute>() != null,
            Sets = attributes.GroupBy(a => a.ParameterSetName).ToDictionary(g => g.Key, g => g.First()),
        };
    }
}
