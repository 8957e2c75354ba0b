using System.Buffers.Binary;

namespace P2P.Protocol.Sctp;

/// <summary>The flag bits of a DATA chunk (RFC 9260 §3.3.1, RFC 7053 for I).</summary>
[Flags]
public enum DataChunkFlags : byte
{
    None = 0,
    /// <summary>E: last fragment of a user message.</summary>
    Ending = 0x01,
    /// <summary>B: first fragment of a user message.</summary>
    Beginning = 0x02,
    /// <summary>U: unordered; the stream sequence number is ignored.</summary>
    Unordered = 0x04,
    /// <summary>I: the receiver should acknowledge immediately (RFC 7053).</summary>
    Immediate = 0x08,
    /// <summary>B and E: an unfragmented message.</summary>
    Complete = Beginning | Ending,
}

/// <summary>
/// A DATA chunk (RFC 9260 §3.3.1): TSN, stream identifier, stream sequence number, payload protocol
/// identifier and user data; fragments carry B/E flags.
/// </summary>
public readonly ref struct DataChunk
{
    /// <summary>TSN, stream id, SSN and PPID.</summary>
    public const int FixedLength = 12;

    public DataChunk(DataChunkFlags flags, uint tsn, ushort streamId, ushort streamSequence, uint ppid, ReadOnlySpan<byte> userData)
    {
        Flags = flags;
        Tsn = tsn;
        StreamId = streamId;
        StreamSequence = streamSequence;
        PayloadProtocolId = ppid;
        UserData = userData;
    }

    public DataChunkFlags Flags { get; }
    public uint Tsn { get; }
    public ushort StreamId { get; }
    public ushort StreamSequence { get; }
    /// <summary>Payload protocol identifier; WebRTC values are in <see cref="DataChannelPpid"/>.</summary>
    public uint PayloadProtocolId { get; }
    public ReadOnlySpan<byte> UserData { get; }
    public bool Unordered => (Flags & DataChunkFlags.Unordered) != 0;
    public bool Beginning => (Flags & DataChunkFlags.Beginning) != 0;
    public bool Ending => (Flags & DataChunkFlags.Ending) != 0;
    public bool Immediate => (Flags & DataChunkFlags.Immediate) != 0;

    /// <summary>
    /// Decodes a DATA chunk. A chunk without user data is reported as <see cref="SctpError.NoUserData"/>
    /// (the association answers with an ABORT carrying that cause, RFC 9260 §6.2).
    /// </summary>
    public static bool TryParse(SctpChunk chunk, out DataChunk data, out SctpError error)
    {
        data = default;
        if (chunk.Type != SctpChunkType.Data) { error = SctpError.WrongChunkType; return false; }
        var v = chunk.Value;
        if (v.Length < FixedLength) { error = SctpError.BadChunkValue; return false; }
        if (v.Length == FixedLength) { error = SctpError.NoUserData; return false; }
        data = new DataChunk((DataChunkFlags)(chunk.Flags & 0x0F), BinaryPrimitives.ReadUInt32BigEndian(v),
            BinaryPrimitives.ReadUInt16BigEndian(v[4..]), BinaryPrimitives.ReadUInt16BigEndian(v[6..]),
            BinaryPrimitives.ReadUInt32BigEndian(v[8..]), v[FixedLength..]);
        error = SctpError.None;
        return true;
    }
}

public ref partial struct SctpPacketWriter
{
    /// <summary>Adds a DATA chunk (RFC 9260 §3.3.1).</summary>
    public void AddData(DataChunkFlags flags, uint tsn, ushort streamId, ushort streamSequence, uint ppid, scoped ReadOnlySpan<byte> userData)
    {
        var v = AddChunk(SctpChunkType.Data, (byte)flags, DataChunk.FixedLength + userData.Length);
        BinaryPrimitives.WriteUInt32BigEndian(v, tsn);
        BinaryPrimitives.WriteUInt16BigEndian(v[4..], streamId);
        BinaryPrimitives.WriteUInt16BigEndian(v[6..], streamSequence);
        BinaryPrimitives.WriteUInt32BigEndian(v[8..], ppid);
        userData.CopyTo(v[DataChunk.FixedLength..]);
    }

    public void AddData(in DataChunk data) =>
        AddData(data.Flags, data.Tsn, data.StreamId, data.StreamSequence, data.PayloadProtocolId, data.UserData);
}
