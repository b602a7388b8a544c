namespace ClaudeOrchestrator.Engine.Tracking
{
    /// <summary>Which of the module's containers a Get/Remove applies to.</summary>
    internal enum ContainerScope
    {
        /// <summary>This process's active containers.</summary>
        Tracked,

        /// <summary>Every container carrying the module's label.</summary>
        All,

        /// <summary>Labelled containers whose owning process on this host is gone.</summary>
        Orphaned,
    }
}
