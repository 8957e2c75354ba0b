namespace P2P.Protocol.Stun;

/// <summary>
/// When a STUN client retransmits a request and when it gives up (RFC 8489 §6.2.1, §6.2.2). Over
/// UDP the request is sent Rc times, the wait doubling from RTO, and after the last one the client
/// waits Rm x RTO: with the defaults the sends are at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s and the
/// transaction fails at 39.5 s. Over TCP it is sent once and fails after Ti (39.5 s).
/// </summary>
public sealed record RetransmissionSchedule(TimeSpan Rto, int Rc, int Rm, TimeSpan TcpTimeout)
{
    public static readonly RetransmissionSchedule Default = new(TimeSpan.FromMilliseconds(500), 7, 16, TimeSpan.FromMilliseconds(39_500));

    /// <summary>
    /// How long to wait after the <paramref name="sentCount"/>-th send (1-based) before the next one;
    /// <paramref name="isFinal"/> says that when this wait ends without a response the transaction has failed.
    /// </summary>
    public TimeSpan WaitAfterSend(int sentCount, bool reliable, out bool isFinal)
    {
        if (sentCount < 1) throw new ArgumentOutOfRangeException(nameof(sentCount));
        if (reliable)
        {
            isFinal = true;
            return TcpTimeout;
        }
        isFinal = sentCount >= Rc;
        if (isFinal) return Rto * Rm;
        return Rto * (1L << Math.Min(sentCount - 1, 30));
    }

    /// <summary>Time from the first send until the transaction times out.</summary>
    public TimeSpan TotalTimeout(bool reliable)
    {
        if (reliable) return TcpTimeout;
        var total = TimeSpan.Zero;
        for (int i = 1; i <= Rc; i++) total += WaitAfterSend(i, false, out _);
        return total;
    }
}
