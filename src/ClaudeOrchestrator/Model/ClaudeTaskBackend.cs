namespace ClaudeOrchestrator
{
    /// <summary>How a task's agent ran.</summary>
    public enum ClaudeTaskBackend
    {
        /// <summary>In a container on an engine (Docker or Podman, here or elsewhere).</summary>
        Container,

        /// <summary>As a one-off service on a swarm (-Swarm): its work comes back only through the service's log.</summary>
        SwarmService,
    }
}
