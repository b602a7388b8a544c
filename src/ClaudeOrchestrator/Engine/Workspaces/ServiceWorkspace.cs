using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Planning;

namespace ClaudeOrchestrator.Engine.Workspaces
{
    /// <summary>
    /// A swarm service's workspace: each attempt carries the checkout as it is then (with its base
    /// tree, the agent's state and a long description) in configs, and the agent's work comes back
    /// in the service's log, part by part, into <see cref="PartsDirectory"/>; the service's backend
    /// puts it in place after the service is gone. Saving waits for that.
    /// </summary>
    internal sealed class ServiceWorkspace : IWorkspaceDelivery
    {
        // Saving waits this long at most for the work on its way back; what does not arrive in time waits in the parts for the sweep.
        private static readonly TimeSpan ReturnLimit = TimeSpan.FromMinutes(5);

        private readonly TaskPlan _plan;
        private readonly TaskCheckout _checkout;
        private readonly string _agentState;
        private readonly string _descriptionFile;
        private Task _returning;
        private string _notPlaced;

        public ServiceWorkspace(TaskPlan plan, TaskCheckout checkout, string agentState, string descriptionFile, string partsDirectory)
        {
            _plan = plan;
            _checkout = checkout;
            _agentState = agentState;
            _descriptionFile = descriptionFile;
            PartsDirectory = partsDirectory;
        }

        /// <summary>Where the parts of the agent's work wait, once their checksum matched, until they are in place.</summary>
        public string PartsDirectory { get; }

        public WorkspaceTransfer Transfer => WorkspaceTransfer.Copy;

        public string Source => "a tmpfs the service fills from the swarm's configs";

        /// <summary>What one attempt carries: the checkout as it is now.</summary>
        public ShippedWorkspace Content() => ShippedWorkspace.Plan(_plan, _checkout, _agentState, _descriptionFile);

        /// <summary>Each attempt ships its own configs: nothing to do before the first.</summary>
        public Task PrepareAsync(DockerConnection connection, Action<string> verbose, CancellationToken cancel) => Task.CompletedTask;

        public IList<Mount> Mounts(IList<Mount> binds) => binds;

        /// <summary>The work on its way back into the checkout (read from the log after the service was removed): saving waits for it.</summary>
        public void Returning(Task restore) => _returning = restore;

        /// <summary>The work came back but could not be put into the checkout: saving waits for the sweep, which puts it in place first.</summary>
        public void NotPlaced(string why) => _notPlaced = _notPlaced ?? why;

        public string BringBack(bool containersGone)
        {
            try
            {
                _returning?.Wait(ReturnLimit);
            }
            catch (AggregateException)
            {
                // The backend says why in the result; what did come back is saved.
            }

            return _notPlaced;
        }
    }
}
