namespace ClaudeOrchestrator
{
    /// <summary>How a task on a branch of its own gets its private working tree (Start-ClaudeTask -Checkout, checkout in a profile).</summary>
    public enum CheckoutMethod
    {
        /// <summary>Overlay where the engine can mount one over this machine's files, else Full.</summary>
        Auto,

        /// <summary>
        /// The base commit's tree, written once and shared read-only by every task on that commit,
        /// under the task's own writable layer (an overlay the engine mounts at /workspace): a task
        /// costs on disk what its agent changes.
        /// </summary>
        Overlay,

        /// <summary>Every file of the base commit written into the task's own checkout.</summary>
        Full,
    }
}
