using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Live
{
    /// <summary>
    /// Running tasks' live activity, shared between the sessions of this machine: each process
    /// that runs tasks keeps one file, state/live/&lt;pid&gt;-&lt;start ticks&gt;-live.json, rewritten
    /// (written aside, then renamed over) at most once a second while it has tasks and deleted
    /// when it has none. No descriptor stays open, whatever the number of tasks; a reader takes
    /// the files of processes still alive and deletes those of processes that ended, with what
    /// such a process left half written.
    /// </summary>
    internal static class LiveBoard
    {
        public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

        private const string Suffix = "-live.json";

        private static readonly ConcurrentDictionary<string, LiveTask> Tasks = new ConcurrentDictionary<string, LiveTask>(StringComparer.Ordinal);
        private static readonly object WriteGate = new object();
        private static readonly JsonSerializerOptions Json = new JsonSerializerOptions { WriteIndented = false };
        private static Timer _timer;
        private static string _writtenPath;
        private static string _writtenContent;

        public static string Directory => Path.Combine(ModulePaths.StateDirectory, "live");

        private static string FileName => $"{SessionIdentity.ProcessId}-{SessionIdentity.ProcessStartTicks}{Suffix}";

        /// <summary>A task of this process begins: it is on the board from the next write on.</summary>
        public static void Add(LiveTask task)
        {
            Tasks[task.TaskId] = task;
            lock (WriteGate)
            {
                _timer = _timer ?? new Timer(_ => Publish(), null, TimeSpan.Zero, Period);
            }
        }

        public static void Remove(LiveTask task)
        {
            if (task != null)
            {
                Tasks.TryRemove(task.TaskId, out _);
            }
        }

        /// <summary>One tick: the file says what this process runs now; unchanged content is not written again.</summary>
        internal static void Publish()
        {
            if (!Monitor.TryEnter(WriteGate))
            {
                return;
            }

            try
            {
                var target = Path.Combine(Directory, FileName);
                if (_writtenPath != null && !string.Equals(_writtenPath, target, StringComparison.Ordinal))
                {
                    // The state directory moved (XDG_STATE_HOME changed): the old file goes.
                    Forget();
                }

                var tasks = Tasks.Values.Select(t => t.Snapshot()).OrderBy(t => t.StartTime).ToList();
                if (tasks.Count == 0)
                {
                    Forget();
                    return;
                }

                var content = JsonSerializer.Serialize(new LiveFile { ProcessId = SessionIdentity.ProcessId, HostName = SessionIdentity.HostName, Tasks = tasks }, Json);
                if (string.Equals(content, _writtenContent, StringComparison.Ordinal) && File.Exists(target))
                {
                    return;
                }

                System.IO.Directory.CreateDirectory(Directory);
                // One writer per process (the gate), so the name aside is this process's own: a kill
                // between the write and the rename leaves it for a reader to delete, as it does the file.
                var temporary = target + ".tmp";
                File.WriteAllText(temporary, content);
                Files.MoveReplacing(temporary, target);
                _writtenPath = target;
                _writtenContent = content;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // The board is a view: a state directory that cannot be written costs it, not the tasks.
            }
            finally
            {
                Monitor.Exit(WriteGate);
            }
        }

        /// <summary>The process ends or the module is removed: its file goes now, not at the next tick.</summary>
        public static void Close()
        {
            lock (WriteGate)
            {
                Forget();
            }
        }

        /// <summary>Under the gate: the file written last goes.</summary>
        private static void Forget()
        {
            if (_writtenPath != null)
            {
                Files.TryDelete(_writtenPath);
                _writtenPath = null;
                _writtenContent = null;
            }
        }

        /// <summary>Every running task of this machine's live processes, this one's included; files of ended processes are deleted.</summary>
        public static IReadOnlyList<LiveTaskState> ReadAll()
        {
            var found = new Dictionary<string, LiveTaskState>(StringComparer.Ordinal);
            foreach (var task in Tasks.Values)
            {
                found[task.TaskId] = task.Snapshot();
            }

            if (!System.IO.Directory.Exists(Directory))
            {
                return found.Values.ToList();
            }

            foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "*" + Suffix + "*"))
            {
                var name = Path.GetFileName(file);
                if (name.StartsWith(FileName, StringComparison.Ordinal))
                {
                    continue;
                }

                if (OwnerLiveness.NamesEndedProcess(name))
                {
                    Files.TryDelete(file);
                    continue;
                }

                if (!name.EndsWith(Suffix, StringComparison.Ordinal))
                {
                    // Another live process's file being written.
                    continue;
                }

                try
                {
                    var live = JsonSerializer.Deserialize<LiveFile>(File.ReadAllBytes(file), Json);
                    foreach (var task in live?.Tasks ?? new List<LiveTaskState>())
                    {
                        if (task?.TaskId != null && !found.ContainsKey(task.TaskId))
                        {
                            found[task.TaskId] = task;
                        }
                    }
                }
                catch (Exception e) when (e is IOException || e is JsonException || e is UnauthorizedAccessException)
                {
                    // Replaced or removed while read: the next read has it.
                }
            }

            return found.Values.ToList();
        }

        private sealed class LiveFile
        {
            public int ProcessId { get; set; }
            public string HostName { get; set; }
            public List<LiveTaskState> Tasks { get; set; }
        }
    }
}
