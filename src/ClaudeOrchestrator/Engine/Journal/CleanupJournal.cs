using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Threading;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Journal
{
    /// <summary>
    /// An append-only JSON-lines record of every removal, shared by all processes of the user.
    /// Writers serialize on a lock file so rotation and appends never interleave; each line goes
    /// out in one write so a reader never sees half of one. The journal is a report, never a
    /// reason for cleanup to fail or wait long: any problem here is swallowed.
    /// </summary>
    internal static class CleanupJournal
    {
        public const string FileName = "cleanup.jsonl";
        public const string RotatedFileName = "cleanup.1.jsonl";
        public const long DefaultLimitBytes = 1024 * 1024;
        internal const string LimitVariable = "CLAUDE_ORCHESTRATOR_JOURNAL_MAX_BYTES";

        private const string LockFileName = "cleanup.lock";
        private static readonly TimeSpan LockPatience = TimeSpan.FromSeconds(2);

        public static string CurrentPath => Path.Combine(ModulePaths.StateDirectory, FileName);

        public static string RotatedPath => Path.Combine(ModulePaths.StateDirectory, RotatedFileName);

        /// <summary>The size at which the current file becomes the rotated one (one generation kept).</summary>
        public static long LimitBytes =>
            long.TryParse(Environment.GetEnvironmentVariable(LimitVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit) && limit > 0
                ? limit
                : DefaultLimitBytes;

        public static void Append(ClaudeCleanupRecord record)
        {
            try
            {
                var line = Serialize(record);
                Directory.CreateDirectory(ModulePaths.StateDirectory);
                using (AcquireLock())
                {
                    RotateIfFull(line.Length);
                    using (var file = new FileStream(CurrentPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 4096))
                    {
                        file.Write(line, 0, line.Length);
                    }
                }
            }
            catch (Exception)
            {
                // See the class comment: cleanup matters, the record of it does not.
            }
        }

        /// <summary>Every readable record, oldest first; lines that do not parse are skipped.</summary>
        public static IEnumerable<ClaudeCleanupRecord> Read()
        {
            foreach (var path in new[] { RotatedPath, CurrentPath })
            {
                foreach (var line in ReadLines(path))
                {
                    var record = Parse(line);
                    if (record != null)
                    {
                        yield return record;
                    }
                }
            }
        }

        internal static byte[] Serialize(ClaudeCleanupRecord record)
        {
            using (var buffer = new MemoryStream())
            {
                using (var json = new Utf8JsonWriter(buffer))
                {
                    json.WriteStartObject();
                    json.WriteString("time", record.Time.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture));
                    json.WriteString("container", record.Container);
                    json.WriteString("id", record.ContainerId);
                    json.WriteString("task", record.TaskId);
                    json.WriteString("project", record.Project);
                    json.WriteString("reason", record.Reason.ToString());
                    json.WriteNumber("durationMs", Math.Round(record.Duration.TotalMilliseconds, 1));
                    json.WriteString("outcome", record.Outcome);
                    if (!string.IsNullOrEmpty(record.Error))
                    {
                        json.WriteString("error", record.Error);
                    }

                    if (record.Work.HasValue)
                    {
                        json.WriteString("work", record.Work.Value.ToString());
                        json.WriteString("branch", record.Branch);
                    }

                    WriteNumber(json, "costUsd", record.CostUsd);
                    WriteNumber(json, "inputTokens", record.InputTokens);
                    WriteNumber(json, "outputTokens", record.OutputTokens);
                    WriteNumber(json, "cacheReadTokens", record.CacheReadTokens);
                    WriteNumber(json, "cacheCreationTokens", record.CacheCreationTokens);

                    json.WriteNumber("pid", record.ProcessId);
                    json.WriteString("host", record.HostName);
                    json.WriteEndObject();
                }

                buffer.WriteByte((byte)'\n');
                return buffer.ToArray();
            }
        }

        internal static ClaudeCleanupRecord Parse(string line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                return null;
            }

            try
            {
                using (var doc = JsonDocument.Parse(line))
                {
                    var root = doc.RootElement;
                    return new ClaudeCleanupRecord
                    {
                        Time = DateTime.Parse(Text(root, "time"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind).ToLocalTime(),
                        Container = Text(root, "container"),
                        ContainerId = Text(root, "id"),
                        TaskId = Text(root, "task"),
                        Project = Text(root, "project"),
                        Reason = ParseReason(Text(root, "reason")),
                        Duration = TimeSpan.FromMilliseconds(root.TryGetProperty("durationMs", out var ms) ? ms.GetDouble() : 0),
                        Outcome = Text(root, "outcome"),
                        Error = Text(root, "error"),
                        ProcessId = root.TryGetProperty("pid", out var pid) ? pid.GetInt32() : 0,
                        HostName = Text(root, "host"),
                        Work = Text(root, "work") is string work && Enum.TryParse<ClaudeTaskWork>(work, true, out var kept) ? kept : (ClaudeTaskWork?)null,
                        Branch = Text(root, "branch"),
                        CostUsd = root.TryGetProperty("costUsd", out var cost) && cost.ValueKind == JsonValueKind.Number ? cost.GetDouble() : (double?)null,
                        InputTokens = Long(root, "inputTokens"),
                        OutputTokens = Long(root, "outputTokens"),
                        CacheReadTokens = Long(root, "cacheReadTokens"),
                        CacheCreationTokens = Long(root, "cacheCreationTokens"),
                    };
                }
            }
            catch (Exception e) when (e is JsonException || e is FormatException || e is InvalidOperationException || e is ArgumentException)
            {
                return null;
            }
        }

        private static CleanupReason ParseReason(string text) =>
            (CleanupReason)Enum.Parse(typeof(CleanupReason), text ?? string.Empty, ignoreCase: true);

        private static void WriteNumber(Utf8JsonWriter json, string name, double? value)
        {
            if (value.HasValue)
            {
                json.WriteNumber(name, value.Value);
            }
        }

        private static void WriteNumber(Utf8JsonWriter json, string name, long? value)
        {
            if (value.HasValue)
            {
                json.WriteNumber(name, value.Value);
            }
        }

        private static long? Long(JsonElement root, string name) =>
            root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : (long?)null;

        private static string Text(JsonElement root, string name) =>
            root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        private static IEnumerable<string> ReadLines(string path)
        {
            FileStream file;
            try
            {
                file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                yield break;
            }

            using (var reader = new StreamReader(file, new UTF8Encoding(false)))
            {
                string line;
                while ((line = reader.ReadLine()) != null)
                {
                    yield return line;
                }
            }
        }

        private static void RotateIfFull(int incoming)
        {
            var current = new FileInfo(CurrentPath);
            if (!current.Exists || current.Length + incoming <= LimitBytes)
            {
                return;
            }

            File.Delete(RotatedPath);
            File.Move(CurrentPath, RotatedPath);
        }

        /// <summary>
        /// An exclusive open of the lock file (flock on Unix, a share lock on Windows). If another
        /// writer holds it too long, append without it: one short write is still whole on every
        /// local file system, only rotation could then race.
        /// </summary>
        private static IDisposable AcquireLock()
        {
            var path = Path.Combine(ModulePaths.StateDirectory, LockFileName);
            var deadline = DateTime.UtcNow + LockPatience;
            while (true)
            {
                try
                {
                    return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(2);
                }
                catch (IOException)
                {
                    return null;
                }
            }
        }
    }
}
