using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Cleanup;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Completion that asks the engine. A prompt must never hang on a slow or absent engine, so
    /// each completion gets a short budget and offers nothing rather than wait.
    /// </summary>
    public abstract class EngineCompleter : IArgumentCompleter
    {
        internal static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(1500);

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var prefix = (wordToComplete ?? string.Empty).Trim('\'', '"');
            IReadOnlyList<string> candidates;
            try
            {
                using (var budget = new CancellationTokenSource(Budget))
                {
                    var engine = BoundEngine(fakeBoundParameters);
                    var lookup = Task.Run(() => CandidatesAsync(DockerConnection.For(engine), budget.Token));
                    candidates = lookup.Wait(Budget) ? lookup.Result : Array.Empty<string>();
                }
            }
            catch (Exception)
            {
                return Enumerable.Empty<CompletionResult>();
            }

            return candidates
                .Where(c => c.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .Distinct(StringComparer.Ordinal)
                .OrderBy(c => c, StringComparer.OrdinalIgnoreCase)
                .Select(c => new CompletionResult(c, c, CompletionResultType.ParameterValue, c));
        }

        internal abstract Task<IReadOnlyList<string>> CandidatesAsync(DockerConnection connection, CancellationToken cancel);

        /// <summary>The engine the command line names so far (-Engine), so names come from that engine; * or none: the default.</summary>
        private static string BoundEngine(IDictionary bound)
        {
            var value = bound != null && bound.Contains("Engine") ? bound["Engine"] : null;
            var first = value is IEnumerable list && !(value is string) ? list.Cast<object>().FirstOrDefault() : value;
            var name = (first as PSObject)?.BaseObject as string ?? first as string;
            return string.IsNullOrEmpty(name) || name == EngineEndpoints.AllEngines ? null : name;
        }
    }

    /// <summary>-Engine: *, the docker contexts, and engine sockets that exist here; asks no engine.</summary>
    public sealed class EngineNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var prefix = (wordToComplete ?? string.Empty).Trim('\'', '"');
            IEnumerable<string> names;
            try
            {
                names = new[] { EngineEndpoints.AllEngines }.Concat(EngineEndpoints.Known().Select(k => k.Name)).ToList();
            }
            catch (Exception)
            {
                return Enumerable.Empty<CompletionResult>();
            }

            return names
                .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .Distinct(StringComparer.Ordinal)
                .Select(n => new CompletionResult(n.IndexOfAny(new[] { ' ', '*' }) >= 0 ? "'" + n + "'" : n, n, CompletionResultType.ParameterValue, n));
        }
    }

    /// <summary>Names (or, for -Id, ids) of containers carrying the module's label.</summary>
    public sealed class ContainerNameCompleter : EngineCompleter
    {
        internal override async Task<IReadOnlyList<string>> CandidatesAsync(DockerConnection connection, CancellationToken cancel) =>
            (await Inventory.ListAsync(connection, ContainerScope.All, ContainerFilter.None, cancel).ConfigureAwait(false))
            .Select(c => c.Name).ToList();
    }

    public sealed class ContainerIdCompleter : EngineCompleter
    {
        internal override async Task<IReadOnlyList<string>> CandidatesAsync(DockerConnection connection, CancellationToken cancel) =>
            (await Inventory.ListAsync(connection, ContainerScope.All, ContainerFilter.None, cancel).ConfigureAwait(false))
            .Select(c => c.Id.Substring(0, Math.Min(12, c.Id.Length))).ToList();
    }

    /// <summary>Local images as repository:tag.</summary>
    public sealed class ImageNameCompleter : EngineCompleter
    {
        internal override Task<IReadOnlyList<string>> CandidatesAsync(DockerConnection connection, CancellationToken cancel) =>
            connection.Images.ListTagsAsync(cancel);
    }
}
