using System;
using System.Management.Automation;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>
    /// A failure the engine layer has already classified, so every cmdlet reports it with the
    /// same category and FullyQualifiedErrorId.
    /// </summary>
    internal sealed class OrchestratorException : Exception
    {
        public OrchestratorException(string errorId, ErrorCategory category, string message, object target = null, Exception inner = null)
            : base(message, inner)
        {
            ErrorId = errorId;
            Category = category;
            Target = target;
        }

        public string ErrorId { get; }
        public ErrorCategory Category { get; }
        public object Target { get; }

        /// <summary>
        /// PowerShell's own exception types (ItemNotFoundException, ...) are reported as they are,
        /// so scripts that catch them by type keep working.
        /// </summary>
        public ErrorRecord ToErrorRecord() =>
            new ErrorRecord(InnerException is RuntimeException native ? native : (Exception)this, ErrorId, Category, Target);
    }
}
