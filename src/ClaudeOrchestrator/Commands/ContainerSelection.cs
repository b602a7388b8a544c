using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// -Name (wildcards) and -Id (full id or unique prefix) filters, evaluated here rather than by
    /// the engine, whose name filter is a substring match.
    /// </summary>
    internal sealed class ContainerSelection
    {
        private readonly string[] _names;
        private readonly WildcardPattern[] _patterns;
        private readonly string[] _ids;

        public ContainerSelection(IEnumerable<string> names, IEnumerable<string> ids)
        {
            _names = names?.ToArray() ?? Array.Empty<string>();
            _patterns = _names.Select(n => new WildcardPattern(n.TrimStart('/'), WildcardOptions.IgnoreCase)).ToArray();
            _ids = ids?.ToArray() ?? Array.Empty<string>();
        }

        public bool IsEmpty => _names.Length == 0 && _ids.Length == 0;

        public bool Matches(ClaudeContainer container) =>
            IsEmpty ||
            _patterns.Any(p => p.IsMatch(container.Name ?? string.Empty)) ||
            _ids.Any(id => IdMatches(container, id));

        public static bool IdMatches(ClaudeContainer container, string id) =>
            !string.IsNullOrEmpty(id) && container.Id != null &&
            container.Id.StartsWith(id, StringComparison.OrdinalIgnoreCase);

        /// <summary>Literal names and ids that matched nothing: those deserve an error, wildcards do not.</summary>
        public IEnumerable<string> UnmatchedLiterals(IReadOnlyList<ClaudeContainer> containers)
        {
            foreach (var name in _names.Where(n => !WildcardPattern.ContainsWildcardCharacters(n)))
            {
                var pattern = new WildcardPattern(name.TrimStart('/'), WildcardOptions.IgnoreCase);
                if (!containers.Any(c => pattern.IsMatch(c.Name ?? string.Empty)))
                {
                    yield return name;
                }
            }

            foreach (var id in _ids.Where(id => !containers.Any(c => IdMatches(c, id))))
            {
                yield return id;
            }
        }
    }
}
