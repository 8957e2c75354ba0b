namespace P2P.Protocol.Sctp;

/// <summary>
/// SCTP congestion control for one destination (RFC 9260 §7.2) as a pure state object: the caller
/// counts bytes and miss indications and tells it what happened; it keeps cwnd, ssthresh and
/// partial_bytes_acked. Slow start (§7.2.1) grows cwnd by at most one MTU per SACK that advances the
/// cumulative TSN ack while cwnd was fully used; congestion avoidance (§7.2.2) grows it by one MTU
/// per cwnd of acknowledged bytes; fast retransmit (§7.2.4, after
/// <see cref="FastRetransmitThreshold"/> miss indications) halves it once per fast recovery; a
/// retransmission timeout (§7.2.3) drops it to one MTU. Sizes are in bytes of DATA chunks.
/// </summary>
public sealed class CongestionControl
{
    /// <summary>Miss indications in SACKs after which a chunk is fast-retransmitted (RFC 9260 §7.2.4).</summary>
    public const int FastRetransmitThreshold = 3;

    /// <param name="mtu">The path MTU, as SCTP packet size (over DTLS: what fits one DTLS record in one datagram).</param>
    /// <param name="initialSsthresh">The peer's a_rwnd from INIT/INIT ACK is the usual choice (RFC 9260 §7.2.1).</param>
    public CongestionControl(int mtu, long initialSsthresh)
    {
        if (mtu <= 0) throw new ArgumentOutOfRangeException(nameof(mtu));
        Mtu = mtu;
        Cwnd = InitialCwnd(mtu);
        Ssthresh = initialSsthresh;
    }

    /// <summary>The packet size in use; raised when a path MTU probe confirms a larger one (RFC 8899).</summary>
    public int Mtu { get; set; }
    /// <summary>Congestion window: how many bytes may be outstanding (RFC 9260 §7.2).</summary>
    public long Cwnd { get; private set; }
    /// <summary>Slow start threshold.</summary>
    public long Ssthresh { get; private set; }
    /// <summary>Bytes acknowledged towards the next cwnd increase in congestion avoidance.</summary>
    public long PartialBytesAcked { get; private set; }
    /// <summary>In fast recovery no further reduction happens and cwnd does not grow (RFC 9260 §7.2.4).</summary>
    public bool InFastRecovery { get; private set; }
    /// <summary>The highest TSN outstanding when fast recovery began; a cumulative ack reaching it ends fast recovery.</summary>
    public uint FastRecoveryExitPoint { get; private set; }
    public bool InSlowStart => Cwnd <= Ssthresh;

    /// <summary>The initial window: min(4*MTU, max(2*MTU, 4380 bytes)) (RFC 9260 §7.2.1).</summary>
    public static long InitialCwnd(int mtu) => Math.Min(4L * mtu, Math.Max(2L * mtu, 4380));

    /// <summary>
    /// True when new DATA may be sent: the flight size is below cwnd (RFC 9260 §6.1 rule B; one packet
    /// may then take the flight size past cwnd by less than an MTU).
    /// </summary>
    public bool CanSend(long flightSize) => flightSize < Cwnd;

    /// <summary>
    /// Applies a SACK (RFC 9260 §7.2.1, §7.2.2).
    /// </summary>
    /// <param name="bytesNewlyAcked">Bytes of DATA chunks newly acknowledged, by the cumulative ack and gap blocks.</param>
    /// <param name="flightSizeBeforeSack">Bytes outstanding before this SACK: cwnd counts as fully used when this is at least cwnd.</param>
    /// <param name="cumulativeTsnAdvanced">Whether the SACK moved the cumulative TSN ack point.</param>
    /// <param name="cumulativeTsnAck">The SACK's cumulative TSN ack, to end fast recovery.</param>
    public void OnSack(long bytesNewlyAcked, long flightSizeBeforeSack, bool cumulativeTsnAdvanced, uint cumulativeTsnAck)
    {
        if (InFastRecovery && SerialNumber.IsGreaterOrEqual(cumulativeTsnAck, FastRecoveryExitPoint)) InFastRecovery = false;
        bool fullyUsed = flightSizeBeforeSack >= Cwnd;
        bool allAcked = flightSizeBeforeSack - bytesNewlyAcked <= 0;

        if (InSlowStart)
        {
            if (cumulativeTsnAdvanced && fullyUsed && !InFastRecovery) Cwnd += Math.Min(bytesNewlyAcked, Mtu);
        }
        else
        {
            PartialBytesAcked += bytesNewlyAcked;
            if (PartialBytesAcked >= Cwnd && cumulativeTsnAdvanced && !InFastRecovery)
            {
                if (fullyUsed)
                {
                    PartialBytesAcked -= Cwnd;
                    Cwnd += Mtu;
                }
                else PartialBytesAcked = Cwnd;
            }
        }
        if (allAcked) PartialBytesAcked = 0;
    }

    /// <summary>
    /// Reacts to a loss found by miss indications (RFC 9260 §7.2.4): unless already in fast recovery,
    /// ssthresh = max(cwnd/2, 4*MTU), cwnd = ssthresh, and fast recovery runs until the cumulative ack
    /// reaches <paramref name="highestOutstandingTsn"/>. Returns whether the window was reduced.
    /// </summary>
    public bool OnFastRetransmit(uint highestOutstandingTsn)
    {
        if (InFastRecovery) return false;
        Ssthresh = Math.Max(Cwnd / 2, 4L * Mtu);
        Cwnd = Ssthresh;
        PartialBytesAcked = 0;
        InFastRecovery = true;
        FastRecoveryExitPoint = highestOutstandingTsn;
        return true;
    }

    /// <summary>T3-rtx expiry (RFC 9260 §7.2.3): ssthresh = max(cwnd/2, 4*MTU), cwnd = 1 MTU; fast recovery ends.</summary>
    public void OnRetransmissionTimeout()
    {
        Ssthresh = Math.Max(Cwnd / 2, 4L * Mtu);
        Cwnd = Mtu;
        PartialBytesAcked = 0;
        InFastRecovery = false;
    }

    /// <summary>One RTO passed without sending on this path (RFC 9260 §7.2.1): cwnd = max(cwnd/2, 4*MTU).</summary>
    public void OnIdleRto() => Cwnd = Math.Max(Cwnd / 2, 4L * Mtu);
}
