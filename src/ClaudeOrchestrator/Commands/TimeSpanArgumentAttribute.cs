using System;
using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Lets TimeSpan parameters take what people type: 90 (seconds), 30s, 10m, 2h, 1d (days, also
    /// as PowerShell's decimal literal), or any TimeSpan string such as 00:10:00. A bare number
    /// would otherwise bind as ticks.
    /// </summary>
    public sealed class TimeSpanArgumentAttribute : ArgumentTransformationAttribute
    {
        private static readonly Regex Shorthand = new Regex(@"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            switch (value)
            {
                case TimeSpan span:
                    return span;
                case string text:
                    return Parse(text);
                case decimal days:
                    // "1d" typed as an argument is PowerShell's decimal literal 1 (the 'd' suffix),
                    // never seconds: read as seconds, -OlderThan 1d would sweep everything.
                    return TimeSpan.FromDays((double)days);
                default:
                    // Every other numeric type means seconds. "30s" is PowerShell's short literal
                    // 30 (the 's' suffix), so it arrives here as the number 30.
                    return IsNumber(value)
                        ? TimeSpan.FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture))
                        : inputData;
            }
        }

        private static bool IsNumber(object value) =>
            value is sbyte || value is byte || value is short || value is ushort || value is int || value is uint ||
            value is long || value is ulong || value is float || value is double;

        internal static TimeSpan Parse(string text)
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

            throw new ArgumentTransformationMetadataException(
                $"'{text}' is not a duration. Use a number of seconds, a value such as 30s, 10m, 2h or 1d, or a TimeSpan such as 00:10:00.");
        }
    }
}
