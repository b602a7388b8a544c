using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Endpoints;

namespace ClaudeOrchestrator.Engine.Workspaces
{
    /// <summary>
    /// How a task's workspace (the project in place, or its private checkout, with the agent's
    /// state and a long description) reaches the agent, and how the agent's work comes back before
    /// it is saved. The seam the faster workspaces plug into. Implementations: bound in place
    /// (<see cref="BoundWorkspace"/>), copied into volumes on an engine elsewhere
    /// (<see cref="ShippedWorkspace"/>), carried in a swarm's configs and its service's log
    /// (<see cref="ServiceWorkspace"/>).
    /// </summary>
    internal interface IWorkspaceDelivery
    {
        /// <summary>Mount or Copy, as the result and the record say.</summary>
        WorkspaceTransfer Transfer { get; }

        /// <summary>Where the agent's /workspace comes from, in words, for verbose output.</summary>
        string Source { get; }

        /// <summary>Once per task, before the first attempt: puts the workspace where the agent will see it.</summary>
        /// <param name="verbose">Says what is being copied where, when anything is.</param>
        Task PrepareAsync(DockerConnection connection, System.Action<string> verbose, CancellationToken cancel);

        /// <summary>What a task's container mounts, given the bind mounts a local task would have.</summary>
        IList<Mount> Mounts(IList<Mount> binds);

        /// <summary>
        /// After the task's containers are gone, before anything is saved: the agent's work back on
        /// this machine. Null when it is here; else why it is not (the save waits for a sweep).
        /// </summary>
        string BringBack(bool containersGone);
    }

    /// <summary>The project or its checkout bind-mounted as it is: nothing travels, the agent's work is already here.</summary>
    internal sealed class BoundWorkspace : IWorkspaceDelivery
    {
        private readonly string _path;

        public BoundWorkspace(string path)
        {
            _path = path;
        }

        public WorkspaceTransfer Transfer => WorkspaceTransfer.Mount;

        public string Source => _path;

        public Task PrepareAsync(DockerConnection connection, System.Action<string> verbose, CancellationToken cancel) => Task.CompletedTask;

        public IList<Mount> Mounts(IList<Mount> binds) => binds;

        public string BringBack(bool containersGone) => null;
    }
}
