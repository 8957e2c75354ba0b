namespace P2P.Protocol.Nat;

/// <summary>
/// The pace of port prediction's packets: at most <see cref="PacketsPerSecond"/>, sent in small batches every
/// <see cref="Interval"/> (a timer cannot fire every 2 ms), never more than <see cref="Budget"/> in all. Counted from
/// the start: by time t at most (floor(t / interval) + 1) · batch packets have gone, and a late timer sends one batch,
/// not a burst of the ones it missed, so no second carries more than the rate plus one batch.
/// </summary>
public sealed class PredictionPacer
{
    private long _sent;

    /// <param name="packetsPerSecond">The rate limit (1 or more).</param>
    /// <param name="interval">How often a batch goes (its size is the rate times the interval, at least 1).</param>
    /// <param name="budget">The most packets in all.</param>
    public PredictionPacer(int packetsPerSecond, TimeSpan interval, int budget)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(packetsPerSecond);
        if (interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), interval, "positive");
        ArgumentOutOfRangeException.ThrowIfNegative(budget);
        PacketsPerSecond = packetsPerSecond;
        Budget = budget;
        Batch = Math.Max(1, (int)(packetsPerSecond * interval.TotalSeconds));
        // a batch of at least one packet: the interval stretches so that the rate holds
        Interval = TimeSpan.FromSeconds((double)Batch / packetsPerSecond);
    }

    public int PacketsPerSecond { get; }

    public int Budget { get; }

    /// <summary>Packets per batch.</summary>
    public int Batch { get; }

    /// <summary>Time between two batches (the asked interval, or longer when the rate is below one packet per asked interval).</summary>
    public TimeSpan Interval { get; }

    public long Sent => _sent;

    public bool Exhausted => _sent >= Budget;

    /// <summary>How many packets may go now, <paramref name="elapsed"/> after the start; call <see cref="Took"/> with what went.</summary>
    public int Allowed(TimeSpan elapsed)
    {
        if (elapsed < TimeSpan.Zero) elapsed = TimeSpan.Zero;
        long batches = (long)(elapsed.Ticks / Interval.Ticks) + 1;
        long allowed = Math.Min(batches * Batch, Budget) - _sent;
        return (int)Math.Clamp(allowed, 0, Batch);
    }

    public void Took(int packets) => _sent += packets;
}
