namespace P2P.Protocol.Sctp;

/// <summary>
/// The retransmission timeout of one destination (RFC 9260 §6.3.1): RTO.Initial until the first
/// measurement, then SRTT + 4·RTTVAR with α = 1/8, β = 1/4, clamped to [RTO.Min, RTO.Max], and
/// doubled on each T3-rtx expiry (§6.3.3 E2). Karn's rule (§6.3.1 C5: no measurement from a
/// retransmitted chunk) is the caller's job. RFC 9260 sets RTO.Min to 1 s; WebRTC stacks commonly use
/// far less, hence the parameter.
/// </summary>
public sealed class RtoCalculator
{
    public static readonly TimeSpan DefaultInitial = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultMin = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultMax = TimeSpan.FromSeconds(60);

    private readonly long _granularity;

    public RtoCalculator() : this(DefaultInitial, DefaultMin, DefaultMax) { }

    /// <param name="clockGranularity">G in RFC 9260 §6.3.1 C3/C4: the floor for RTTVAR (default 1 ms).</param>
    public RtoCalculator(TimeSpan initial, TimeSpan min, TimeSpan max, TimeSpan? clockGranularity = null)
    {
        if (min <= TimeSpan.Zero || max < min || initial < min || initial > max) throw new ArgumentException("RTO bounds must satisfy 0 < min <= initial <= max");
        Initial = initial;
        Min = min;
        Max = max;
        _granularity = (clockGranularity ?? TimeSpan.FromMilliseconds(1)).Ticks;
        Rto = initial;
    }

    public TimeSpan Initial { get; }
    public TimeSpan Min { get; }
    public TimeSpan Max { get; }
    /// <summary>The current retransmission timeout.</summary>
    public TimeSpan Rto { get; private set; }
    public TimeSpan SmoothedRtt { get; private set; }
    public TimeSpan RttVariation { get; private set; }
    public bool HasMeasurement { get; private set; }

    /// <summary>Takes one RTT measurement R (RFC 9260 §6.3.1 C2, C3) and recomputes the RTO.</summary>
    public void OnMeasurement(TimeSpan rtt)
    {
        long r = Math.Max(rtt.Ticks, 0);
        long srtt, rttvar;
        if (!HasMeasurement)
        {
            srtt = r;
            rttvar = r / 2;
            HasMeasurement = true;
        }
        else
        {
            // RTTVAR first, with the old SRTT (C3).
            rttvar = (3 * RttVariation.Ticks + Math.Abs(SmoothedRtt.Ticks - r)) / 4;
            srtt = (7 * SmoothedRtt.Ticks + r) / 8;
        }
        if (rttvar == 0) rttvar = _granularity;   // C4
        SmoothedRtt = TimeSpan.FromTicks(srtt);
        RttVariation = TimeSpan.FromTicks(rttvar);
        Rto = Clamp(TimeSpan.FromTicks(srtt + 4 * rttvar));
    }

    /// <summary>A new path (RFC 9260 §6.3.1 C1): no measurement yet, RTO = RTO.Initial.</summary>
    public void Reset()
    {
        HasMeasurement = false;
        SmoothedRtt = TimeSpan.Zero;
        RttVariation = TimeSpan.Zero;
        Rto = Initial;
    }

    /// <summary>T3-rtx expired: RTO = min(2·RTO, RTO.Max) (RFC 9260 §6.3.3 E2).</summary>
    public void Backoff() => Rto = Clamp(Rto * 2);

    private TimeSpan Clamp(TimeSpan rto) => rto < Min ? Min : rto > Max ? Max : rto;
}
