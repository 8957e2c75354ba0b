using System.Buffers.Binary;

namespace P2P.Protocol.Sctp;

/// <summary>A stream and the last abandoned stream sequence number in it (RFC 3758 §3.2).</summary>
public readonly record struct ForwardTsnStream(ushort StreamId, ushort StreamSequence);

/// <summary>
/// A FORWARD TSN chunk (RFC 3758 §3.2): the receiver moves its cumulative TSN ack point to
/// <see cref="NewCumulativeTsn"/>, treating skipped TSNs as received, and, for each listed ordered
/// stream, skips messages up to the given stream sequence number.
/// </summary>
public readonly ref struct ForwardTsnChunk
{
    private readonly ReadOnlySpan<byte> _streams;

    private ForwardTsnChunk(uint newCumulativeTsn, ReadOnlySpan<byte> streams)
    {
        NewCumulativeTsn = newCumulativeTsn;
        _streams = streams;
    }

    public uint NewCumulativeTsn { get; }
    public int StreamCount => _streams.Length / 4;

    public ForwardTsnStream GetStream(int index) =>
        new(BinaryPrimitives.ReadUInt16BigEndian(_streams[(index * 4)..]), BinaryPrimitives.ReadUInt16BigEndian(_streams[(index * 4 + 2)..]));

    public static bool TryParse(SctpChunk chunk, out ForwardTsnChunk forward, out SctpError error)
    {
        forward = default;
        if (chunk.Type != SctpChunkType.ForwardTsn) { error = SctpError.WrongChunkType; return false; }
        var v = chunk.Value;
        if (v.Length < 4 || (v.Length & 3) != 0) { error = SctpError.BadChunkValue; return false; }
        forward = new ForwardTsnChunk(BinaryPrimitives.ReadUInt32BigEndian(v), v[4..]);
        error = SctpError.None;
        return true;
    }
}

public ref partial struct SctpPacketWriter
{
    /// <summary>Adds FORWARD TSN (RFC 3758 §3.2).</summary>
    public void AddForwardTsn(uint newCumulativeTsn, scoped ReadOnlySpan<ForwardTsnStream> streams)
    {
        var v = AddChunk(SctpChunkType.ForwardTsn, 0, 4 + 4 * streams.Length);
        BinaryPrimitives.WriteUInt32BigEndian(v, newCumulativeTsn);
        int o = 4;
        foreach (var s in streams)
        {
            BinaryPrimitives.WriteUInt16BigEndian(v[o..], s.StreamId);
            BinaryPrimitives.WriteUInt16BigEndian(v[(o + 2)..], s.StreamSequence);
            o += 4;
        }
    }
}
