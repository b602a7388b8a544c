using System;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>A duration as people type it: 90 (seconds), 30s, 10m, 2h, 1d, or a TimeSpan such as 00:10:00.</summary>
    internal static class Durations
    {
        private static readonly Regex Shorthand = new Regex(@"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        /// <exception cref="FormatException">The text is no duration; the message says what is.</exception>
        public static TimeSpan Parse(string text)
        {
            var match = Shorthand.Match(text);
            if (match.Success)
            {
                var amount = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                switch (match.Groups[2].Value.ToLowerInvariant())
                {
                    case "ms": return TimeSpan.FromMilliseconds(amount);
                    case "s": return TimeSpan.FromSeconds(amount);
                    case "m": return TimeSpan.FromMinutes(amount);
                    case "h": return TimeSpan.FromHours(amount);
                    default: return TimeSpan.FromDays(amount);
                }
            }

            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            {
                return TimeSpan.FromSeconds(seconds);
            }

            if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span))
            {
                return span;
            }

            throw new FormatException(
                $"'{text}' is not a duration. Use a number of seconds, a value such as 30s, 10m, 2h or 1d, or a TimeSpan such as 00:10:00.");
        }
    }
}
