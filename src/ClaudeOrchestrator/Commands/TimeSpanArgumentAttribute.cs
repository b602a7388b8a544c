using System;
using System.Globalization;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Lets TimeSpan parameters take what people type: 90 (seconds), 30s, 10m, 2h, 1d (days, also
    /// as PowerShell's decimal literal), or any TimeSpan string such as 00:10:00. A bare number
    /// would otherwise bind as ticks.
    /// </summary>
    public sealed class TimeSpanArgumentAttribute : ArgumentTransformationAttribute
    {
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
            try
            {
                return Durations.Parse(text);
            }
            catch (FormatException e)
            {
                throw new ArgumentTransformationMetadataException(e.Message, e);
            }
        }
    }
}
