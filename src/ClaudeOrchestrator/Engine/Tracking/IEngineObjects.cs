using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Endpoints;

namespace ClaudeOrchestrator.Engine.Tracking
{
    /// <summary>
    /// A kind of object the module makes on an engine (a task's container, a swarm service or
    /// config, a workspace volume): how one is removed, and how to tell it is gone. A tracked
    /// object carries its kind, so a flush removes each the way its kind is removed.
    /// </summary>
    internal interface IEngineObjectKind
    {
        /// <summary>Its name as users see it (<see cref="ClaudeContainer.Kind"/>).</summary>
        string Name { get; }

        /// <summary>One removal request: removed, not there (not present), or failed with the engine's words. Never throws.</summary>
        Task<RemovalOutcome> RemoveOnceAsync(DockerConnection connection, string id, string name, CancellationToken cancel);

        /// <summary>Whether the engine still has it: true or false as it says, null when it does not answer within <paramref name="limit"/> (or cannot tell).</summary>
        Task<bool?> ExistsAsync(DockerConnection connection, string id, TimeSpan limit);
    }

    /// <summary>
    /// A kind of the module's objects as a listing sees them: where they exist, how they are
    /// listed, when one is an orphan, and how a listed one is removed (in which order). Each
    /// backend and workspace delivery provides the kinds it makes; the cleanup's inventory lists
    /// and removes them all alike.
    /// </summary>
    internal interface IEngineObjects : IEngineObjectKind
    {
        /// <summary>Removal order, lower first: a swarm config cannot go while its service uses it, a volume only once its work is back.</summary>
        int Order { get; }

        /// <summary>
        /// Whether a running one ends by itself once its owner is gone (a container's watcher
        /// ends it within a second): the sweep then takes only stopped ones. One that does not
        /// (a swarm service) is swept in any state.
        /// </summary>
        bool EndsWithItsOwner { get; }

        /// <summary>
        /// The kind whose objects an orphan of this kind is judged by (a config by its service),
        /// or null: with that kind unlisted, none of this kind is taken for an orphan.
        /// </summary>
        string JudgedBy { get; }

        /// <summary>Whether this kind can exist on the engine at all (a swarm's objects only on a manager).</summary>
        bool ExistsOn(DockerConnection connection);

        /// <summary>The module's objects of this kind that carry <paramref name="labelFilter"/> and pass <paramref name="filter"/>; throws when the engine cannot list them.</summary>
        Task<IReadOnlyList<ClaudeContainer>> ListAsync(DockerConnection connection, string labelFilter, ContainerFilter filter, CancellationToken cancel);

        /// <summary>Whether a listed one is an orphan: its owner provably gone (for some kinds also: from any machine).</summary>
        bool IsOrphan(ClaudeContainer item, IReadOnlyCollection<ClaudeContainer> all);

        /// <summary>Removes a listed one, confirmed; a kind may collect a dead session's work on the way (a swarm service's).</summary>
        /// <param name="tracked">This process runs it: its task reports its own outcome.</param>
        Task<RemovalOutcome> RemoveListedAsync(DockerConnection connection, ClaudeContainer item, CleanupReason reason, bool tracked, CancellationToken cancel);
    }
}
