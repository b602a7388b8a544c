using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Records
{
    /// <summary>
    /// Every task's record, transcript and (while it lives) checkout, one directory per task under
    /// the state directory: tasks/&lt;id&gt;/task.json, transcript.log, checkout/.
    /// </summary>
    internal static class TaskStore
    {
        public const string RecordName = "task.json";
        public const string TranscriptName = "transcript.log";
        public const string AgentStateName = "agent";

        /// <summary>The task's connection attempts as its egress gateway recorded them, one line each.</summary>
        public const string ConnectionsName = "connections.tsv";

        // Lower-case letters and digits without the look-alikes (0/o, 1/l): easy to read and type.
        private const string IdAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";
        private const int IdLength = 8;

        private static readonly JsonSerializerOptions Json = new JsonSerializerOptions
        {
            WriteIndented = true,
            Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        };

        public static string Root => Path.Combine(ModulePaths.StateDirectory, "tasks");

        public static string DirectoryFor(string taskId) => Path.Combine(Root, taskId);

        public static string TranscriptFor(string taskId) => Path.Combine(DirectoryFor(taskId), TranscriptName);

        public static string AgentStateFor(string taskId) => Path.Combine(DirectoryFor(taskId), AgentStateName);

        public static string ConnectionsFor(string taskId) => Path.Combine(DirectoryFor(taskId), ConnectionsName);

        /// <summary>A short readable id whose directory did not exist: creating the record claims it.</summary>
        public static string NewId()
        {
            var bytes = new byte[IdLength];
            using (var random = RandomNumberGenerator.Create())
            {
                random.GetBytes(bytes);
            }

            return new string(bytes.Select(b => IdAlphabet[b % IdAlphabet.Length]).ToArray());
        }

        public static bool IsValidId(string id) =>
            !string.IsNullOrEmpty(id) && id.Length <= 64 && id.All(c => char.IsLetterOrDigit(c) || c == '-' || c == '_');

        /// <summary>
        /// Writes the first record; false when a task of that id already exists. The task's
        /// directory is made beside, named for this process, with its record in it, and then
        /// moved into place (a move that never replaces): a kill leaves no task directory or one
        /// with a whole record, and what it leaves beside is provably this dead process's.
        /// </summary>
        public static bool TryCreate(ClaudeTask task)
        {
            var directory = DirectoryFor(task.TaskId);
            if (Directory.Exists(directory))
            {
                return false;
            }

            var staging = Path.Combine(Root, $"{StagingPrefix}{SessionIdentity.ProcessId}-{SessionIdentity.ProcessStartTicks}-{task.TaskId}");
            Directory.CreateDirectory(staging);
            File.WriteAllBytes(Path.Combine(staging, RecordName), JsonSerializer.SerializeToUtf8Bytes(task, Json));
            HaltPoint.Reached(HaltPoint.Steps.RecordStaged);
            try
            {
                Directory.Move(staging, directory);
                return true;
            }
            catch (IOException) when (Directory.Exists(directory))
            {
                Files.DeleteTree(staging);
                return false;
            }
        }

        private const string StagingPrefix = ".new-";
        private const string TemporarySuffix = ".tmp";

        /// <summary>
        /// What a kill while a record was being written leaves: a task directory still being
        /// made, and a record's temporary file, of a process that is provably gone.
        /// </summary>
        public static void SweepLeftovers()
        {
            if (!Directory.Exists(Root))
            {
                return;
            }

            foreach (var staging in Directory.EnumerateDirectories(Root, StagingPrefix + "*").Where(d => OwnerGone(Path.GetFileName(d).Substring(StagingPrefix.Length))))
            {
                TryDeleteTree(staging);
            }

            foreach (var directory in Directory.EnumerateDirectories(Root))
            {
                try
                {
                    foreach (var temporary in Directory.EnumerateFiles(directory, RecordName + ".*" + TemporarySuffix)
                                 .Where(f => OwnerGone(Path.GetFileName(f).Substring(RecordName.Length + 1))))
                    {
                        File.Delete(temporary);
                    }
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    // Tried again on the next sweep.
                }
            }
        }

        private static bool OwnerGone(string name) => OwnerLiveness.NamesEndedProcess(name);

        private static void TryDeleteTree(string path)
        {
            try
            {
                Files.DeleteTree(path);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // Tried again on the next sweep.
            }
        }

        /// <summary>Replaces the record atomically (write beside, then rename), so a crash leaves the old or the new one.</summary>
        public static void Save(ClaudeTask task)
        {
            var directory = DirectoryFor(task.TaskId);
            Directory.CreateDirectory(directory);
            var target = Path.Combine(directory, RecordName);
            var temporary = $"{target}.{SessionIdentity.ProcessId}-{SessionIdentity.ProcessStartTicks}-{Guid.NewGuid().ToString("N").Substring(0, 8)}{TemporarySuffix}";
            File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(task, Json));
            Files.MoveReplacing(temporary, target);
        }

        public static ClaudeTask Load(string taskId)
        {
            if (!IsValidId(taskId))
            {
                return null;
            }

            var file = Path.Combine(DirectoryFor(taskId), RecordName);
            try
            {
                return File.Exists(file) ? Complete(JsonSerializer.Deserialize<ClaudeTask>(File.ReadAllBytes(file), Json)) : null;
            }
            catch (Exception e) when (e is JsonException || e is IOException || e is UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>Every readable record, newest first.</summary>
        public static IEnumerable<ClaudeTask> All()
        {
            if (!Directory.Exists(Root))
            {
                return Enumerable.Empty<ClaudeTask>();
            }

            return Directory.EnumerateDirectories(Root)
                .Select(d => Load(Path.GetFileName(d)))
                .Where(t => t != null)
                .OrderByDescending(t => t.StartTime)
                .ToList();
        }

        /// <summary>
        /// Records written at or after <paramref name="sinceUtc"/> (a task's record is written as
        /// it starts and as it ends), and those named in <paramref name="also"/>, newest first;
        /// the others are not read.
        /// </summary>
        public static IEnumerable<ClaudeTask> WrittenSince(DateTime sinceUtc, ICollection<string> also)
        {
            if (!Directory.Exists(Root))
            {
                return Enumerable.Empty<ClaudeTask>();
            }

            return Directory.EnumerateDirectories(Root)
                .Where(d => also.Contains(Path.GetFileName(d)) || File.GetLastWriteTimeUtc(Path.Combine(d, RecordName)) >= sinceUtc)
                .Select(d => Load(Path.GetFileName(d)))
                .Where(t => t != null)
                .OrderByDescending(t => t.StartTime)
                .ToList();
        }

        public static void Delete(string taskId)
        {
            var directory = DirectoryFor(taskId);
            if (Directory.Exists(directory))
            {
                Files.DeleteTree(directory);
            }
        }

        /// <summary>A record whose session is gone before it ended says so, whatever it last said.</summary>
        private static ClaudeTask Complete(ClaudeTask task)
        {
            if (task != null && task.Status == ClaudeTaskStatus.Running && IsOrphaned(task))
            {
                task.Status = ClaudeTaskStatus.Interrupted;
            }

            return task;
        }

        /// <summary>True when the task's session is provably gone (same host, pid dead or reused).</summary>
        public static bool IsOrphaned(ClaudeTask task) =>
            OwnerLiveness.IsOrphan(task.SessionId, task.OwnerHost, task.OwnerPid, OwnerLiveness.ParseStart(task.OwnerStart));

        public static string Summarize(string description)
        {
            var line = (description ?? string.Empty).Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? string.Empty;
            return line.Length <= 80 ? line : line.Substring(0, 77) + "...";
        }
    }
}
