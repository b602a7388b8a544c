using System;
using System.Collections.Concurrent;
using System.Linq;

namespace ClaudeOrchestrator.Engine.Records
{
    /// <summary>
    /// The tasks this process is running right now, by id: a sweep, a listing or a removal never
    /// takes one of them for a dead session's. A task is in it from the moment its record exists
    /// until its work is saved.
    /// </summary>
    internal static class ActiveTasks
    {
        private static readonly ConcurrentDictionary<string, bool> Running = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);

        public static void Add(string taskId) => Running[taskId] = false;

        public static void Remove(string taskId) => Running.TryRemove(taskId, out _);

        /// <summary>The task's workspace is copied to an engine (volumes there are this session's).</summary>
        public static void MarkCopied(string taskId)
        {
            if (Running.ContainsKey(taskId))
            {
                Running[taskId] = true;
            }
        }

        public static bool IsActive(string taskId) => taskId != null && Running.ContainsKey(taskId);

        /// <summary>Whether a task of this process has its workspace copied to an engine right now.</summary>
        public static bool AnyCopied => Running.Values.Any(copied => copied);
    }
}
