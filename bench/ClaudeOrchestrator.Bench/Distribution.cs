using System.Globalization;

namespace ClaudeOrchestrator.Bench;

/// <summary>Summary statistics of a set of timings, in milliseconds.</summary>
public sealed class Distribution
{
    private readonly List<double> _ms = new();

    public int Count => _ms.Count;

    public void Add(TimeSpan value) => _ms.Add(value.TotalMilliseconds);

    public void Add(double milliseconds) => _ms.Add(milliseconds);

    public double Median => Percentile(50);

    public double Min => _ms.Count == 0 ? double.NaN : _ms.Min();

    public double Max => _ms.Count == 0 ? double.NaN : _ms.Max();

    public double Percentile(double p)
    {
        if (_ms.Count == 0)
        {
            return double.NaN;
        }

        var sorted = _ms.OrderBy(x => x).ToList();
        var rank = p / 100 * (sorted.Count - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    public string Describe() => string.Format(CultureInfo.InvariantCulture,
        "n={0} min={1:0} p50={2:0} p90={3:0} p99={4:0} max={5:0} ms",
        Count, Min, Median, Percentile(90), Percentile(99), Max);
}
