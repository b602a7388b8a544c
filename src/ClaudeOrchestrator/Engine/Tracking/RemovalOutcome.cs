using System;
using ClaudeOrchestrator.Engine.Journal;

namespace ClaudeOrchestrator.Engine.Tracking
{
    internal sealed class RemovalOutcome
    {
        /// <summary>The cleanup journal's line for this removal.</summary>
        public ClaudeCleanupRecord ToRecord(CleanupReason reason, string taskId, string project) =>
            CleanupRecords.ForRemoval(Name, Id, Removed, WasPresent, Duration, Error?.Message, reason, taskId, project);

        public RemovalOutcome(string id, string name, bool removed, bool wasPresent, TimeSpan duration, Exception error)
        {
            Id = id;
            Name = name;
            Removed = removed;
            WasPresent = wasPresent;
            Duration = duration;
            Error = error;
        }

        public string Id { get; }
        public string Name { get; }

        /// <summary>The container no longer exists (whoever removed it).</summary>
        public bool Removed { get; }

        /// <summary>It still existed when this removal began; false when it was already gone.</summary>
        public bool WasPresent { get; }

        public TimeSpan Duration { get; }
        public Exception Error { get; }
    }
}
