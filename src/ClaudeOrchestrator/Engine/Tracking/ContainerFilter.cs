using System;
using System.Collections.Generic;
using System.Linq;

namespace ClaudeOrchestrator.Engine.Tracking
{
    /// <summary>
    /// -Status and -OlderThan. The engine filters by status itself; it has no filter for creation
    /// time (before/since take a container, not a time), so age is checked here.
    /// </summary>
    internal sealed class ContainerFilter
    {
        public static readonly ContainerFilter None = new ContainerFilter(null, null);

        public ContainerFilter(IEnumerable<string> states, TimeSpan? olderThan)
        {
            States = states?.Select(s => s.ToLowerInvariant()).Distinct().ToArray() ?? Array.Empty<string>();
            OlderThan = olderThan;
        }

        public string[] States { get; }

        public TimeSpan? OlderThan { get; }

        public bool Matches(ClaudeContainer container, DateTime now) =>
            (States.Length == 0 || States.Contains(container.State, StringComparer.OrdinalIgnoreCase)) &&
            (OlderThan == null || now - container.Created > OlderThan.Value);
    }
}
