using System.Runtime.InteropServices;

namespace P2P.Protocol.Sctp;

/// <summary>What <see cref="ReceiveTracker.OnDataReceived"/> found.</summary>
public enum TsnReceiveResult
{
    /// <summary>A TSN not seen before: deliver the chunk to reassembly.</summary>
    New,
    /// <summary>Already received (at or below the cumulative TSN ack, or inside a gap block): report it as a duplicate and drop the chunk.</summary>
    Duplicate,
}

/// <summary>
/// The data receiver's record of TSNs (RFC 9260 §6.2, §3.3.4): the cumulative TSN ack point, the
/// runs of TSNs received above it (reported as gap ack blocks, offsets from the cumulative TSN ack),
/// and the duplicates seen since the last SACK. FORWARD TSN (RFC 3758 §3.6) moves the cumulative
/// point past abandoned TSNs. The runs are kept as a sorted list of ranges, so the memory used grows
/// with the number of holes, not the number of TSNs. Not thread-safe: one association owns it.
/// </summary>
public sealed class ReceiveTracker
{
    private readonly List<(uint Start, uint End)> _ranges = new();
    private readonly List<uint> _duplicates = new();
    private readonly int _maxDuplicates;

    /// <param name="peerInitialTsn">The Initial TSN from the peer's INIT or INIT ACK.</param>
    /// <param name="maxDuplicates">How many duplicates to remember between SACKs (the rest are not reported).</param>
    public ReceiveTracker(uint peerInitialTsn, int maxDuplicates = 32)
    {
        CumulativeTsnAck = peerInitialTsn - 1;
        HighestReceivedTsn = CumulativeTsnAck;
        _maxDuplicates = maxDuplicates;
    }

    /// <summary>The highest TSN such that it and every TSN before it were received (RFC 9260 §3.3.4).</summary>
    public uint CumulativeTsnAck { get; private set; }

    /// <summary>The highest TSN received so far (the cumulative point if nothing arrived above it).</summary>
    public uint HighestReceivedTsn { get; private set; }

    /// <summary>True when TSNs above the cumulative point were received: the SACK needs gap blocks and should go now (RFC 9260 §6.7).</summary>
    public bool HasGaps => _ranges.Count > 0;

    /// <summary>The number of received runs above the cumulative point.</summary>
    public int GapAckBlockCount => _ranges.Count;

    /// <summary>Duplicates received since the last <see cref="ClearDuplicates"/>, in arrival order.</summary>
    public ReadOnlySpan<uint> Duplicates => CollectionsMarshal.AsSpan(_duplicates);

    /// <summary>Call after the duplicates went out in a SACK (RFC 9260 §6.2: each is reported once).</summary>
    public void ClearDuplicates() => _duplicates.Clear();

    public bool IsReceived(uint tsn)
    {
        if (SerialNumber.IsLessOrEqual(tsn, CumulativeTsnAck)) return true;
        uint offset = tsn - CumulativeTsnAck;
        foreach (var (start, end) in _ranges)
        {
            if (offset < start - CumulativeTsnAck) return false;
            if (offset <= end - CumulativeTsnAck) return true;
        }
        return false;
    }

    /// <summary>Records a DATA chunk's TSN (RFC 9260 §6.2).</summary>
    public TsnReceiveResult OnDataReceived(uint tsn)
    {
        if (SerialNumber.IsLessOrEqual(tsn, CumulativeTsnAck) || IsReceived(tsn))
        {
            if (_duplicates.Count < _maxDuplicates) _duplicates.Add(tsn);
            return TsnReceiveResult.Duplicate;
        }
        if (SerialNumber.IsGreater(tsn, HighestReceivedTsn)) HighestReceivedTsn = tsn;

        if (tsn == CumulativeTsnAck + 1)
        {
            CumulativeTsnAck = tsn;
            AbsorbLeadingRange();
            return TsnReceiveResult.New;
        }

        uint offset = tsn - CumulativeTsnAck;
        int i = _ranges.Count - 1;                       // last range starting before tsn (arrivals are mostly in order)
        while (i >= 0 && _ranges[i].Start - CumulativeTsnAck > offset) i--;
        bool joinsPrevious = i >= 0 && _ranges[i].End + 1 == tsn;
        bool joinsNext = i + 1 < _ranges.Count && tsn + 1 == _ranges[i + 1].Start;
        if (joinsPrevious && joinsNext)
        {
            _ranges[i] = (_ranges[i].Start, _ranges[i + 1].End);
            _ranges.RemoveAt(i + 1);
        }
        else if (joinsPrevious) _ranges[i] = (_ranges[i].Start, tsn);
        else if (joinsNext) _ranges[i + 1] = (tsn, _ranges[i + 1].End);
        else _ranges.Insert(i + 1, (tsn, tsn));
        return TsnReceiveResult.New;
    }

    /// <summary>
    /// Moves the cumulative point to <paramref name="newCumulativeTsn"/> as FORWARD TSN asks (RFC 3758
    /// §3.6), then past any runs that now touch it. Returns false when the TSN is not ahead (a stale
    /// FORWARD TSN, which the receiver answers with a SACK but otherwise ignores).
    /// </summary>
    public bool OnForwardTsn(uint newCumulativeTsn)
    {
        if (!SerialNumber.IsGreater(newCumulativeTsn, CumulativeTsnAck)) return false;
        CumulativeTsnAck = newCumulativeTsn;
        if (SerialNumber.IsGreater(newCumulativeTsn, HighestReceivedTsn)) HighestReceivedTsn = newCumulativeTsn;
        while (_ranges.Count > 0 && SerialNumber.IsLessOrEqual(_ranges[0].End, CumulativeTsnAck)) _ranges.RemoveAt(0);
        if (_ranges.Count > 0 && SerialNumber.IsLessOrEqual(_ranges[0].Start, CumulativeTsnAck)) _ranges[0] = (CumulativeTsnAck + 1, _ranges[0].End);
        AbsorbLeadingRange();
        return true;
    }

    /// <summary>
    /// Writes the gap ack blocks, lowest first, as offsets from the cumulative point (RFC 9260
    /// §3.3.4). Returns how many were written: at most <paramref name="destination"/>'s length, and
    /// none beyond offset 65535, which a SACK cannot express.
    /// </summary>
    public int GetGapAckBlocks(Span<GapAckBlock> destination)
    {
        int n = 0;
        foreach (var (start, end) in _ranges)
        {
            if (n == destination.Length) break;
            uint s = start - CumulativeTsnAck, e = end - CumulativeTsnAck;
            if (s > ushort.MaxValue) break;
            destination[n++] = new GapAckBlock((ushort)s, (ushort)Math.Min(e, ushort.MaxValue));
        }
        return n;
    }

    private void AbsorbLeadingRange()
    {
        if (_ranges.Count > 0 && _ranges[0].Start == CumulativeTsnAck + 1)
        {
            CumulativeTsnAck = _ranges[0].End;
            _ranges.RemoveAt(0);
        }
    }
}
