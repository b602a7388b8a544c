namespace ClaudeOrchestrator
{
    /// <summary>How a task's work was kept.</summary>
    public enum ClaudeTaskWork
    {
        /// <summary>The task ran in place (-Isolation None): its edits are in the project directory itself.</summary>
        InPlace,

        /// <summary>The agent changed nothing; the branch stays at the base commit.</summary>
        NoChanges,

        /// <summary>The agent committed everything itself; the branch holds its commits.</summary>
        AgentCommits,

        /// <summary>The module committed what the agent left uncommitted when it stopped.</summary>
        ModuleCommit,

        /// <summary>The session died; a later sweep saved the checkout into the branch.</summary>
        Salvaged,

        /// <summary>Saving failed; the checkout is kept in the state directory and a later sweep retries.</summary>
        NotSaved,

        /// <summary>The task is still running (or its session died and no sweep has saved it yet).</summary>
        Pending,

        /// <summary>
        /// The agent ran where its work could not come back from: a swarm service whose result
        /// was cut short, damaged or never printed, or a node that went away. Nothing of it was
        /// saved (never as deletions); the branch keeps what was saved before, and the reason says what was lost.
        /// </summary>
        Lost,
    }
}
