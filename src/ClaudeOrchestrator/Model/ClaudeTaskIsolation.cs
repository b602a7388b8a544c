namespace ClaudeOrchestrator
{
    /// <summary>Where a task's agent works.</summary>
    public enum ClaudeTaskIsolation
    {
        /// <summary>In a private checkout on a branch of its own (the default inside a git repository).</summary>
        Branch,

        /// <summary>In the project directory itself (the default outside a git repository).</summary>
        None,
    }
}
