using System;
using System.Diagnostics;
using System.Globalization;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>
    /// Decides whether a labelled container's owning process is gone. Only a provable death
    /// counts: a container owned by another host, or by a process we may not inspect, is not an
    /// orphan, so a live session's containers are never swept.
    /// </summary>
    internal static class OwnerLiveness
    {
        // Process start times read twice can differ by rounding; pid reuse within a second is not a concern.
        private static readonly TimeSpan StartTolerance = TimeSpan.FromSeconds(1);

        public static bool IsOrphan(ClaudeContainer container) =>
            IsOrphan(container.SessionId, container.OwnerHost, container.OwnerPid, container.OwnerStartTime);

        /// <summary>True when the owner (of a container or a task record) is another session of this host whose process is provably gone.</summary>
        public static bool IsOrphan(string sessionId, string ownerHost, int? ownerPid, DateTime? ownerStartUtc)
        {
            if (sessionId == SessionIdentity.SessionId ||
                !string.Equals(ownerHost, SessionIdentity.HostName, StringComparison.OrdinalIgnoreCase) ||
                ownerPid == null)
            {
                return false;
            }

            return !IsAlive(ownerPid.Value, ownerStartUtc);
        }

        /// <summary>True when the process <paramref name="pid"/> of this host that started at <paramref name="startUtc"/> is gone.</summary>
        public static bool IsProvablyGone(int pid, DateTime? startUtc) => !IsAlive(pid, startUtc);

        /// <summary>Whether a name made as "pid-startticks-..." (staging of records and base trees) names a process of this host that has ended.</summary>
        public static bool NamesEndedProcess(string name)
        {
            var parts = name.Split('-');
            return parts.Length >= 3 &&
                   int.TryParse(parts[0], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var pid) &&
                   long.TryParse(parts[1], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var ticks) &&
                   IsProvablyGone(pid, new DateTime(ticks, DateTimeKind.Utc));
        }

        public static DateTime? ParseStart(string label) =>
            DateTime.TryParse(label, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var start)
                ? start
                : (DateTime?)null;

        private static bool IsAlive(int pid, DateTime? ownerStartUtc)
        {
            try
            {
                using (var process = Process.GetProcessById(pid))
                {
                    if (process.HasExited)
                    {
                        return false;
                    }

                    // Same pid, different start time: the owner died and the pid was reused.
                    return ownerStartUtc == null ||
                           (process.StartTime.ToUniversalTime() - ownerStartUtc.Value).Duration() <= StartTolerance;
                }
            }
            catch (ArgumentException)
            {
                return false;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
            catch (Exception)
            {
                // Access denied and the like: the process exists, so the owner may be alive.
                return true;
            }
        }
    }
}
