using System.Buffers.Binary;

namespace P2P.Protocol.Sctp;

/// <summary>
/// Parses SCTP packets (RFC 9260 §3): a 12-byte common header (source port, destination port,
/// verification tag, CRC-32C checksum) followed by one or more chunks, each padded to 4 bytes.
/// Over DTLS (RFC 8261 §4) the ports are the ones negotiated in SDP (normally 5000) and the
/// checksum is still computed and checked.
/// </summary>
public static class SctpPacket
{
    public const int CommonHeaderLength = 12;
    public const int ChunkHeaderLength = 4;

    /// <summary>
    /// Parses the common header, verifies the checksum and walks the chunk framing once, so that the
    /// returned view's chunk enumerator cannot fail later. Chunk values are not interpreted here:
    /// each chunk type's <c>TryParse</c> does that. Never throws.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> packet, out SctpPacketView view, out SctpError error) =>
        TryParse(packet, verifyChecksum: true, out view, out error);

    /// <summary>
    /// As <see cref="TryParse(ReadOnlySpan{byte}, out SctpPacketView, out SctpError)"/>, optionally
    /// without checking the CRC-32C (for callers that have already checked it, or tests).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> packet, bool verifyChecksum, out SctpPacketView view, out SctpError error)
    {
        view = default;
        if (packet.Length < CommonHeaderLength) { error = SctpError.TooShort; return false; }
        if (verifyChecksum && !SctpChecksum.Verify(packet)) { error = SctpError.BadChecksum; return false; }

        int offset = CommonHeaderLength;
        int count = 0;
        bool unknown = false;
        while (offset < packet.Length)
        {
            if (!TryFrameChunk(packet, offset, out int length, out error)) return false;
            if (!SctpChunkTypes.IsKnown(packet[offset])) unknown = true;
            offset += (length + 3) & ~3;
            count++;
        }
        if (count == 0) { error = SctpError.NoChunks; return false; }

        view = new SctpPacketView(packet, count, unknown);
        error = SctpError.None;
        return true;
    }

    /// <summary>Checks that a chunk header and its padded value fit at <paramref name="offset"/>.</summary>
    internal static bool TryFrameChunk(ReadOnlySpan<byte> packet, int offset, out int length, out SctpError error)
    {
        length = 0;
        if (packet.Length - offset < ChunkHeaderLength) { error = SctpError.BadChunkLength; return false; }
        length = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]);
        if (length < ChunkHeaderLength) { error = SctpError.BadChunkLength; return false; }
        if (length > packet.Length - offset) { error = SctpError.ChunkOverrun; return false; }
        if (((length + 3) & ~3) > packet.Length - offset) { error = SctpError.PaddingOverrun; return false; }
        error = SctpError.None;
        return true;
    }
}

/// <summary>
/// A checked SCTP packet: the common header fields and an allocation-free enumerator over its
/// chunks (RFC 9260 §3.1). It references the caller's buffer, so it lives no longer than that.
/// </summary>
public readonly ref struct SctpPacketView
{
    internal SctpPacketView(ReadOnlySpan<byte> bytes, int chunkCount, bool hasUnknownChunk)
    {
        Bytes = bytes;
        ChunkCount = chunkCount;
        HasUnknownChunk = hasUnknownChunk;
    }

    public ReadOnlySpan<byte> Bytes { get; }
    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(Bytes);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(Bytes[2..]);
    /// <summary>The receiver's tag from its INIT/INIT ACK; zero only on INIT (RFC 9260 §8.5).</summary>
    public uint VerificationTag => BinaryPrimitives.ReadUInt32BigEndian(Bytes[4..]);
    /// <summary>The checksum as carried (little-endian on the wire, RFC 9260 Appendix B).</summary>
    public uint Checksum => BinaryPrimitives.ReadUInt32LittleEndian(Bytes[SctpChecksum.Offset..]);
    public int ChunkCount { get; }
    /// <summary>True when some chunk has a type this layer does not parse; see <see cref="SctpChunk.UnrecognizedAction"/>.</summary>
    public bool HasUnknownChunk { get; }

    public SctpChunkEnumerator Chunks => new(Bytes);

    /// <summary>The first chunk (every checked packet has one).</summary>
    public SctpChunk FirstChunk
    {
        get
        {
            var e = Chunks;
            e.MoveNext();
            return e.Current;
        }
    }
}

/// <summary>One chunk inside a checked packet: type, flags and value (RFC 9260 §3.2).</summary>
public readonly ref struct SctpChunk
{
    internal SctpChunk(byte type, byte flags, ReadOnlySpan<byte> value, ReadOnlySpan<byte> raw)
    {
        TypeCode = type;
        Flags = flags;
        Value = value;
        Raw = raw;
    }

    /// <summary>The type number as received (may not be a member of <see cref="SctpChunkType"/>).</summary>
    public byte TypeCode { get; }
    public SctpChunkType Type => (SctpChunkType)TypeCode;
    public byte Flags { get; }
    /// <summary>The value, without the 4-byte header and without padding.</summary>
    public ReadOnlySpan<byte> Value { get; }
    /// <summary>The whole chunk, header included, padding excluded (what an "Unrecognized Chunk Type" cause echoes).</summary>
    public ReadOnlySpan<byte> Raw { get; }
    public bool IsKnown => SctpChunkTypes.IsKnown(TypeCode);
    /// <summary>What to do if the type is not recognised (RFC 9260 §3.2).</summary>
    public SctpUnrecognizedAction UnrecognizedAction => SctpChunkTypes.UnrecognizedAction(TypeCode);
}

/// <summary>Enumerates the chunks of a checked packet in wire order. Allocation-free.</summary>
public ref struct SctpChunkEnumerator
{
    private readonly ReadOnlySpan<byte> _packet;
    private int _next;

    internal SctpChunkEnumerator(ReadOnlySpan<byte> packet)
    {
        _packet = packet;
        _next = SctpPacket.CommonHeaderLength;
        Current = default;
    }

    public SctpChunk Current { get; private set; }

    public readonly SctpChunkEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_next >= _packet.Length) return false;
        if (!SctpPacket.TryFrameChunk(_packet, _next, out int length, out _)) { _next = _packet.Length; return false; }
        var raw = _packet.Slice(_next, length);
        Current = new SctpChunk(raw[0], raw[1], raw[SctpPacket.ChunkHeaderLength..], raw);
        _next += (length + 3) & ~3;
        return true;
    }
}
