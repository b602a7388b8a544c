using System;
using System.Collections;
using System.Collections.Generic;

namespace ClaudeOrchestrator.Engine.Tracking
{
    /// <summary>
    /// The module's objects on one engine, as far as the engine could list them: the containers
    /// always (without them nothing is listed), and services, configs and volumes each on their
    /// own, so that one broken part (a swarm whose manager fails GET /services) never keeps the
    /// rest from being listed, and cleaned. What could not be listed is in <see cref="Problems"/>.
    /// </summary>
    internal sealed class ContainerListing : IReadOnlyList<ClaudeContainer>
    {
        private readonly IReadOnlyList<ClaudeContainer> _items;

        public ContainerListing(IReadOnlyList<ClaudeContainer> items, IReadOnlyList<ListingProblem> problems = null)
        {
            _items = items;
            Problems = problems ?? Array.Empty<ListingProblem>();
        }

        public static readonly ContainerListing Empty = new ContainerListing(Array.Empty<ClaudeContainer>());

        /// <summary>The parts the engine failed to list, each with its error.</summary>
        public IReadOnlyList<ListingProblem> Problems { get; }

        public int Count => _items.Count;

        public ClaudeContainer this[int index] => _items[index];

        public IEnumerator<ClaudeContainer> GetEnumerator() => _items.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>One kind of the module's objects (<see cref="ContainerKinds"/>: service, config, volume) that an engine failed to list.</summary>
    internal sealed class ListingProblem
    {
        public ListingProblem(string part, string endpoint, Exception error)
        {
            Part = part;
            Endpoint = endpoint;
            Error = error;
        }

        public string Part { get; }
        public string Endpoint { get; }
        public Exception Error { get; }

        /// <summary>"the swarm's services", "the workspace volumes" ...: what could not be listed, in words.</summary>
        public string What =>
            Part == ContainerKinds.Service ? "the swarm's services"
            : Part == ContainerKinds.Config ? "the swarm's configs"
            : Part == ContainerKinds.Volume ? "the workspace volumes"
            : Part + "s";

        public string Message => $"The engine at {Endpoint} could not list {What} of ClaudeOrchestrator ({Error.Message}); those were left as they are, and everything else was served.";
    }
}
