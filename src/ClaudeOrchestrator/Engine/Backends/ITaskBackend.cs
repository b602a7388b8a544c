using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Engine.Backends
{
    /// <summary>
    /// How a task's agent runs: the seam between the task's life (its session, branch, retries,
    /// the save) and what runs the agent. Two implementations: a container on an engine
    /// (<c>Backends/Containers</c>) and a one-off service on a swarm (<c>Backends/Swarm</c>); a third
    /// way (a Kubernetes Job, a microVM) is a third implementation and nothing else. What each
    /// leaves on an engine is listed, judged orphaned and removed through its
    /// <see cref="IEngineObjects"/>.
    /// </summary>
    internal interface ITaskBackend
    {
        /// <summary>What the task's record says ran it.</summary>
        ClaudeTaskBackend Kind { get; }

        /// <summary>
        /// Before anything of the task exists: refuses what this backend cannot do on this engine
        /// (an error that says why and what to do), and decides how the workspace travels
        /// (<see cref="TaskPlan.Workspace"/> becomes Mount or Copy).
        /// </summary>
        Task CheckAsync(DockerConnection connection, TaskPlan plan, CancellationToken cancel);

        /// <summary>What a launch would make on the engine, in the words -WhatIf shows; contacts no engine.</summary>
        string Describe(DockerConnection connection, TaskPlan plan);

        /// <summary>Once the task's session exists: how its workspace reaches the agent here.</summary>
        IWorkspaceDelivery Workspace(DockerConnection connection, TaskPlan plan, IAttemptHost task, string descriptionFile);

        /// <summary>
        /// One attempt: launch, follow until the agent ends or the attempt is stopped (timeout,
        /// Ctrl+C, a flush), remove what it ran in; the outcome goes into the attempt's result.
        /// Returns whether everything it made is confirmed gone.
        /// </summary>
        Task<bool> RunAsync(Attempt attempt, CancellationToken cancel);

        /// <summary>
        /// Whether its containers can join the session's egress gateway on the engine (a
        /// container can; a swarm service may run on any node, so it refuses the default egress
        /// in <see cref="CheckAsync"/> and runs offline or with open egress).
        /// </summary>
        bool JoinsGateway { get; }

        /// <summary>What a task's agent runs in, as the inventory lists it: a salvage waits while it may still be there.</summary>
        IEngineObjects RunsIn { get; }

        /// <summary>
        /// For the salvage of a task whose session died, before its work is saved: the work this
        /// backend left elsewhere put in place (a copy's volumes brought back, a swarm service's
        /// received parts restored). Idempotent: a kill during the last try left it half done.
        /// </summary>
        Task<Recovery> RecoverAsync(DockerConnection connection, ClaudeTask record, CancellationToken cancel);
    }

    /// <summary>What a salvage's <see cref="ITaskBackend.RecoverAsync"/> found.</summary>
    internal readonly struct Recovery
    {
        public Recovery(string lost, string notYet)
        {
            Lost = lost;
            NotYet = notYet;
        }

        /// <summary>Why the agent's work can never come back (it is then Lost); null when it is here, or was never elsewhere.</summary>
        public string Lost { get; }

        /// <summary>Why it is not back yet (a later sweep tries again); null when nothing is left to bring.</summary>
        public string NotYet { get; }

        public static Recovery Done => default;
    }

    /// <summary>One attempt of a task, as its backend runs it.</summary>
    internal sealed class Attempt
    {
        public DockerConnection Connection { get; set; }
        public TaskPlan Plan { get; set; }
        public IAttemptHost Task { get; set; }
        public IWorkspaceDelivery Workspace { get; set; }

        /// <summary>The description's file when it goes on the agent's stdin (too long for an argument); null otherwise.</summary>
        public string DescriptionFile { get; set; }

        public ITaskObserver Observer { get; set; }

        /// <summary>How the container reaches the network: it shapes the container, joins it before the start, admits it before the agent runs.</summary>
        public TaskEgress Egress { get; set; }

        public ClaudeTaskResult Result { get; set; }
        public AgentActivity Activity { get; set; }
    }
}
