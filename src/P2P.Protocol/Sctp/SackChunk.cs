using System.Buffers.Binary;

namespace P2P.Protocol.Sctp;

/// <summary>
/// A gap ack block of a SACK (RFC 9260 §3.3.4): TSNs from cumulative TSN ack + <see cref="Start"/>
/// to cumulative TSN ack + <see cref="End"/> (both inclusive) were received.
/// </summary>
public readonly record struct GapAckBlock(ushort Start, ushort End);

/// <summary>
/// A SACK chunk (RFC 9260 §3.3.4): cumulative TSN ack, advertised receiver window credit, gap ack
/// blocks (offsets from the cumulative TSN ack) and duplicate TSNs.
/// </summary>
public readonly ref struct SackChunk
{
    /// <summary>Cumulative TSN ack, a_rwnd, number of gap blocks, number of duplicates.</summary>
    public const int FixedLength = 12;

    private readonly ReadOnlySpan<byte> _gaps;
    private readonly ReadOnlySpan<byte> _duplicates;

    private SackChunk(uint cumulative, uint arwnd, ReadOnlySpan<byte> gaps, ReadOnlySpan<byte> duplicates)
    {
        CumulativeTsnAck = cumulative;
        AdvertisedReceiverWindow = arwnd;
        _gaps = gaps;
        _duplicates = duplicates;
    }

    public uint CumulativeTsnAck { get; }
    public uint AdvertisedReceiverWindow { get; }
    public int GapAckBlockCount => _gaps.Length / 4;
    public int DuplicateTsnCount => _duplicates.Length / 4;

    public GapAckBlock GetGapAckBlock(int index) =>
        new(BinaryPrimitives.ReadUInt16BigEndian(_gaps[(index * 4)..]), BinaryPrimitives.ReadUInt16BigEndian(_gaps[(index * 4 + 2)..]));

    public uint GetDuplicateTsn(int index) => BinaryPrimitives.ReadUInt32BigEndian(_duplicates[(index * 4)..]);

    /// <summary>Decodes a SACK; the two counts must agree with the chunk length exactly.</summary>
    public static bool TryParse(SctpChunk chunk, out SackChunk sack, out SctpError error)
    {
        sack = default;
        if (chunk.Type != SctpChunkType.Sack) { error = SctpError.WrongChunkType; return false; }
        var v = chunk.Value;
        if (v.Length < FixedLength) { error = SctpError.BadChunkValue; return false; }
        int gaps = BinaryPrimitives.ReadUInt16BigEndian(v[8..]);
        int duplicates = BinaryPrimitives.ReadUInt16BigEndian(v[10..]);
        if (v.Length != FixedLength + 4 * (gaps + duplicates)) { error = SctpError.BadChunkValue; return false; }
        sack = new SackChunk(BinaryPrimitives.ReadUInt32BigEndian(v), BinaryPrimitives.ReadUInt32BigEndian(v[4..]),
            v.Slice(FixedLength, 4 * gaps), v.Slice(FixedLength + 4 * gaps, 4 * duplicates));
        error = SctpError.None;
        return true;
    }
}

public ref partial struct SctpPacketWriter
{
    /// <summary>Adds a SACK chunk (RFC 9260 §3.3.4).</summary>
    public void AddSack(uint cumulativeTsnAck, uint advertisedReceiverWindow, scoped ReadOnlySpan<GapAckBlock> gapAckBlocks, scoped ReadOnlySpan<uint> duplicateTsns)
    {
        if (gapAckBlocks.Length > ushort.MaxValue || duplicateTsns.Length > ushort.MaxValue)
            throw new InvalidOperationException("Too many gap ack blocks or duplicate TSNs for one SACK");
        var v = AddChunk(SctpChunkType.Sack, 0, SackChunk.FixedLength + 4 * (gapAckBlocks.Length + duplicateTsns.Length));
        BinaryPrimitives.WriteUInt32BigEndian(v, cumulativeTsnAck);
        BinaryPrimitives.WriteUInt32BigEndian(v[4..], advertisedReceiverWindow);
        BinaryPrimitives.WriteUInt16BigEndian(v[8..], (ushort)gapAckBlocks.Length);
        BinaryPrimitives.WriteUInt16BigEndian(v[10..], (ushort)duplicateTsns.Length);
        int o = SackChunk.FixedLength;
        foreach (var gap in gapAckBlocks)
        {
            BinaryPrimitives.WriteUInt16BigEndian(v[o..], gap.Start);
            BinaryPrimitives.WriteUInt16BigEndian(v[(o + 2)..], gap.End);
            o += 4;
        }
        foreach (uint tsn in duplicateTsns)
        {
            BinaryPrimitives.WriteUInt32BigEndian(v[o..], tsn);
            o += 4;
        }
    }
}
