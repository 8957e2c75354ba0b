using System.Buffers.Binary;

namespace P2P.Protocol.Sctp;

/// <summary>
/// Builds an SCTP packet in a caller-supplied buffer (RFC 9260 §3): the common header, then chunks
/// added one after another, each padded with zeros to 4 bytes; <see cref="Finish"/> writes the
/// CRC-32C. Parameters and error causes are appended to the chunk most recently started, whose
/// length is kept current (it counts the padding of every parameter but the last, RFC 9260 §3.2).
/// Typed <c>Add…</c> methods live next to each chunk's parser. A buffer too small for what is
/// being written is a programming error and throws <see cref="InvalidOperationException"/>;
/// nothing here depends on received input.
/// </summary>
public ref partial struct SctpPacketWriter
{
    private readonly Span<byte> _buffer;
    private int _length;
    private int _chunkStart;

    public SctpPacketWriter(Span<byte> buffer, ushort sourcePort, ushort destinationPort, uint verificationTag)
    {
        if (buffer.Length < SctpPacket.CommonHeaderLength) throw new InvalidOperationException("SCTP buffer smaller than the common header");
        _buffer = buffer;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], verificationTag);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[8..], 0);
        _length = SctpPacket.CommonHeaderLength;
        _chunkStart = -1;
    }

    /// <summary>Bytes written so far, padding included.</summary>
    public readonly int Length => _length;

    /// <summary>Room left in the buffer.</summary>
    public readonly int Remaining => _buffer.Length - _length;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._length];

    /// <summary>
    /// Starts a chunk with a value of <paramref name="valueLength"/> bytes and returns the value to
    /// fill in. Use it directly for chunk types without a typed writer.
    /// </summary>
    public Span<byte> AddChunk(byte type, byte flags, int valueLength)
    {
        int length = SctpPacket.ChunkHeaderLength + valueLength;
        int padded = (length + 3) & ~3;
        if (valueLength < 0 || length > ushort.MaxValue || padded > _buffer.Length - _length)
            throw new InvalidOperationException($"SCTP buffer of {_buffer.Length} bytes too small for chunk {type} of {valueLength} bytes");
        var chunk = _buffer.Slice(_length, padded);
        chunk[0] = type;
        chunk[1] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(chunk[2..], (ushort)length);
        chunk[length..].Clear();
        _chunkStart = _length;
        _length += padded;
        return chunk.Slice(SctpPacket.ChunkHeaderLength, valueLength);
    }

    public Span<byte> AddChunk(SctpChunkType type, byte flags, int valueLength) => AddChunk((byte)type, flags, valueLength);

    /// <summary>
    /// Appends a parameter or error cause (RFC 9260 §3.2.1, §3.3.10) to the current chunk and returns
    /// its value to fill in.
    /// </summary>
    public Span<byte> AddParameter(ushort type, int valueLength)
    {
        if (_chunkStart < 0) throw new InvalidOperationException("No SCTP chunk to add a parameter to");
        int length = 4 + valueLength;
        int padded = (length + 3) & ~3;
        int chunkLength = _length - _chunkStart + length;
        if (valueLength < 0 || chunkLength > ushort.MaxValue || padded > _buffer.Length - _length)
            throw new InvalidOperationException($"SCTP buffer of {_buffer.Length} bytes too small for parameter 0x{type:x4} of {valueLength} bytes");
        var item = _buffer.Slice(_length, padded);
        BinaryPrimitives.WriteUInt16BigEndian(item, type);
        BinaryPrimitives.WriteUInt16BigEndian(item[2..], (ushort)length);
        item[length..].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(_chunkStart + 2)..], (ushort)chunkLength);
        _length += padded;
        return item.Slice(4, valueLength);
    }

    public Span<byte> AddParameter(SctpParameterType type, int valueLength) => AddParameter((ushort)type, valueLength);

    public void AddParameter(SctpParameterType type, scoped ReadOnlySpan<byte> value) => value.CopyTo(AddParameter((ushort)type, value.Length));

    public void AddParameter(ushort type, scoped ReadOnlySpan<byte> value) => value.CopyTo(AddParameter(type, value.Length));

    /// <summary>Appends an error cause to the current ABORT or ERROR chunk (RFC 9260 §3.3.10).</summary>
    public void AddErrorCause(SctpErrorCauseCode code, scoped ReadOnlySpan<byte> value) => value.CopyTo(AddParameter((ushort)code, value.Length));

    /// <summary>Writes the CRC-32C into the header (RFC 9260 §6.8) and returns the packet length.</summary>
    public readonly int Finish()
    {
        if (_chunkStart < 0) throw new InvalidOperationException("An SCTP packet needs at least one chunk");
        SctpChecksum.Write(_buffer[.._length]);
        return _length;
    }

    /// <summary>Finishes and copies the packet to a new array (for tests and callers that need to own it).</summary>
    public readonly byte[] ToArray() => OwnedBytes.Copy(_buffer[..Finish()]);
}
