namespace P2P.Protocol;

/// <summary>
/// Deadlines that many timers of one process can share. A randomized timer (RFC 7675 §5.1's consent interval,
/// 0.8-1.2 of its period; RFC 9260 §8.3's heartbeat, HB.interval plus a jittered RTO) may fire anywhere within its
/// window; when every such timer picks a point of one grid, the timers of thousands of sessions that fall due within
/// one grid step fire together, and one wake-up of the process serves them all instead of one wake-up each. The
/// deadline stays random (uniform over the window, then moved to the nearest grid point inside it) and never leaves
/// the window.
/// </summary>
public static class CoalescedDeadline
{
    /// <summary>
    /// A deadline in [<paramref name="earliest"/>, <paramref name="latest"/>]: the point <paramref name="random"/> (in
    /// [0, 1)) of the window, moved to the nearest multiple of <paramref name="grid"/> (counted from the clock's zero,
    /// so every timer of the process sees the same grid) that lies within the window; so the deadlines keep the mean of
    /// the window. When no multiple lies within the window, or the grid is zero, the point itself.
    /// </summary>
    public static DateTimeOffset Pick(DateTimeOffset earliest, DateTimeOffset latest, TimeSpan grid, double random)
    {
        if (latest < earliest) throw new ArgumentException("the window ends before it starts", nameof(latest));
        var point = earliest + (latest - earliest) * Math.Clamp(random, 0, 1);
        if (grid <= TimeSpan.Zero) return point;
        long step = grid.Ticks, ticks = point.UtcTicks;
        long down = ticks / step * step, up = down == ticks ? ticks : down + step;
        bool downFits = down >= earliest.UtcTicks, upFits = up <= latest.UtcTicks;
        if (!downFits && !upFits) return point;
        long due = !downFits ? up : !upFits ? down : ticks - down < up - ticks ? down : up;
        return new DateTimeOffset(due, TimeSpan.Zero);
    }
}
