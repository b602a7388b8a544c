using System;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using System.Text;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Workspaces
{
    /// <summary>
    /// How the task description reaches the agent. Up to the kernel's limit for one argument it
    /// is the agent's last argv element, as it always was. A longer one would fail inside the
    /// container ("argument list too long"), so it goes into a read-only file that the watcher
    /// puts on the agent's stdin instead; Claude Code in --print mode reads its prompt from stdin
    /// when no prompt argument is given. Anything beyond <see cref="MaximumBytes"/> is refused
    /// before a container exists.
    /// </summary>
    internal static class DescriptionDelivery
    {
        /// <summary>Linux's MAX_ARG_STRLEN is 32 pages (128 KiB) including the terminating NUL.</summary>
        public const int ArgumentLimitBytes = 128 * 1024 - 1;

        /// <summary>8 MiB: beyond any model's context window, so only a mistake (a piped binary, a log) is refused.</summary>
        public const int MaximumBytes = 8 * 1024 * 1024;

        /// <summary>Where the file is mounted in the container.</summary>
        public const string ContainerPath = "/run/claude-orchestrator/description";

        private const string Folder = "descriptions";

        public static int ByteCount(string description) => Encoding.UTF8.GetByteCount(description ?? string.Empty);

        public static bool NeedsFile(string description) => ByteCount(description) > ArgumentLimitBytes;

        /// <summary>Throws DescriptionTooLong for a description the module will not deliver.</summary>
        public static void Check(string description)
        {
            var bytes = ByteCount(description);
            if (bytes > MaximumBytes)
            {
                throw new OrchestratorException(ErrorIds.DescriptionTooLong, ErrorCategory.InvalidArgument,
                    string.Format(CultureInfo.InvariantCulture,
                        "The task description is {0:N0} bytes; the most a task takes is {1:N0} bytes (8 MiB). " +
                        "Put large material into the project and refer to it from the description.", bytes, MaximumBytes),
                    null);
            }
        }

        /// <summary>
        /// Writes the description for one task under the state directory and returns the file's
        /// path. The name carries the owner's pid and start time, so that files left by a killed
        /// session can be told from those of live ones.
        /// </summary>
        public static string WriteFile(string taskId, string description)
        {
            var directory = Path.Combine(ModulePaths.StateDirectory, Folder);
            Directory.CreateDirectory(directory);
            NativeUnix.TryChmod(directory, 0x1C0); // 0700: other users of the host cannot read prompts
            var path = Path.Combine(directory, $"{SessionIdentity.ProcessId}-{SessionIdentity.ProcessStartTicks}-{taskId}.txt");
            File.WriteAllBytes(path, new UTF8Encoding(false).GetBytes(description));
            // 0644: the agent may run as another uid than the file's owner (-User); the directory guards it on the host.
            NativeUnix.TryChmod(path, 0x1A4);
            return path;
        }

        public static void DeleteFile(string path)
        {
            if (path == null)
            {
                return;
            }

            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // Left for the next sweep.
            }
        }

        /// <summary>Deletes description files whose session is provably gone (it was killed before its task ended).</summary>
        public static void SweepLeftovers()
        {
            var directory = Path.Combine(ModulePaths.StateDirectory, Folder);
            if (!Directory.Exists(directory))
            {
                return;
            }

            foreach (var file in Directory.EnumerateFiles(directory, "*.txt"))
            {
                var parts = Path.GetFileNameWithoutExtension(file).Split('-');
                if (parts.Length == 3 &&
                    int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) &&
                    long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ticks) &&
                    OwnerLiveness.IsProvablyGone(pid, new DateTime(ticks, DateTimeKind.Utc)))
                {
                    DeleteFile(file);
                }
            }
        }
    }
}
