using System;
using System.Diagnostics;
using System.Globalization;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>Who owns the containers started from this process.</summary>
    internal static class SessionIdentity
    {
        public static readonly string SessionId = Guid.NewGuid().ToString("N");
        public static readonly int ProcessId;
        public static readonly string HostName = Environment.MachineName;
        public static readonly string ProcessStart;

        /// <summary>The process start in UTC ticks, for names of files that must be tied to this session.</summary>
        public static readonly long ProcessStartTicks;

        static SessionIdentity()
        {
            using (var self = Process.GetCurrentProcess())
            {
                ProcessId = self.Id;
                ProcessStart = FormatStart(self.StartTime);
                ProcessStartTicks = self.StartTime.ToUniversalTime().Ticks;
            }
        }

        public static string FormatStart(DateTime localStart) =>
            localStart.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
    }
}
