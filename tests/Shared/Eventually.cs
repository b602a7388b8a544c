using System.Diagnostics;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// The one way tests and the bench wait for something to become true: a condition polled
/// until it holds or a deadline passes, never a fixed sleep. The deadline is generous; a
/// condition that holds returns at once.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>Waits until <paramref name="condition"/> holds; throws naming <paramref name="what"/> when it does not within <paramref name="limit"/>.</summary>
    public static void True(Func<bool> condition, TimeSpan limit, string what, TimeSpan? poll = null) =>
        Value(() => condition(), done => done, limit, what, poll);

    /// <summary>
    /// What <paramref name="get"/> returns once <paramref name="done"/> holds for it, or at the
    /// deadline whatever it returns then: for a caller that asserts on what it sees either way.
    /// </summary>
    public static T Last<T>(Func<T> get, Func<T, bool> done, TimeSpan limit, TimeSpan? poll = null)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var value = get();
            if (done(value) || watch.Elapsed > limit)
            {
                return value;
            }

            Thread.Sleep(poll ?? DefaultPoll);
        }
    }

    /// <summary>Waits until <paramref name="done"/> holds for what <paramref name="get"/> returns, and returns that value.</summary>
    public static T Value<T>(Func<T> get, Func<T, bool> done, TimeSpan limit, string what, TimeSpan? poll = null)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var value = get();
            if (done(value))
            {
                return value;
            }

            if (watch.Elapsed > limit)
            {
                throw new TimeoutException($"Not within {limit.TotalSeconds:0.#} s: {what} (last seen: {value}).");
            }

            Thread.Sleep(poll ?? DefaultPoll);
        }
    }
}
