namespace P2P.Actors.Supervision;

/// <summary>
/// The log's share of one kind of bad input (malformed datagrams, garbage TCP streams, refused connections, bad
/// signaling messages): at most <c>burst</c> lines per <c>interval</c>, the rest only counted, and the next line written
/// says how many were left out. The caller counts every event in its stats; this only decides which get a line, so an
/// attacker cannot fill the log or the disk. The clock is passed in (the actor scheduler's, virtual in tests). One actor
/// owns an instance.
/// </summary>
public sealed class LogRateLimit(int burst, TimeSpan interval)
{
    private DateTimeOffset _windowStart = DateTimeOffset.MinValue;
    private int _inWindow;
    private long _leftOut;

    /// <summary>
    /// True when this event gets its log line; <paramref name="leftOut"/> is then the number of events since the
    /// previous line that got none (0 otherwise).
    /// </summary>
    public bool TryLog(DateTimeOffset now, out long leftOut)
    {
        if (now - _windowStart >= interval || now < _windowStart)
        {
            _windowStart = now;
            _inWindow = 0;
        }
        if (_inWindow < burst)
        {
            _inWindow++;
            leftOut = _leftOut;
            _leftOut = 0;
            return true;
        }
        _leftOut++;
        leftOut = 0;
        return false;
    }

    /// <summary>The end of a rate-limited line: empty, or how many like it were left out before it.</summary>
    public static string LeftOutNote(long leftOut) => leftOut == 0 ? string.Empty : $" ({leftOut} more like it were not logged)";
}
