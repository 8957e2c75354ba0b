using System.Buffers.Binary;

namespace P2P.Protocol.Ice;

/// <summary>
/// RFC 4571 framing, which ICE-TCP uses for every STUN message and datagram on a TCP connection (RFC 6544 §3): a 16-bit
/// big-endian LENGTH, then that many bytes. A frame of length 0 is a zero-length datagram.
/// </summary>
public static class TcpFraming
{
    /// <summary>The LENGTH field.</summary>
    public const int HeaderLength = 2;

    /// <summary>The largest datagram a frame carries.</summary>
    public const int MaxPayload = ushort.MaxValue;

    /// <summary>Writes <paramref name="payload"/> framed into <paramref name="destination"/>; returns the bytes written (<see cref="HeaderLength"/> + payload).</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxPayload) throw new ArgumentException($"an RFC 4571 frame carries at most {MaxPayload} bytes, not {payload.Length}", nameof(payload));
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)payload.Length);
        payload.CopyTo(destination[HeaderLength..]);
        return HeaderLength + payload.Length;
    }

    /// <summary>A framed copy of <paramref name="payload"/>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var framed = new byte[HeaderLength + payload.Length];
        Write(framed, payload);
        return framed;
    }
}

/// <summary>
/// Reads RFC 4571 frames out of a TCP stream whatever its segmentation: the socket reads into <see cref="FreeSpace"/>,
/// reports the count with <see cref="Advance"/>, and <see cref="TryRead"/> then yields each whole frame's payload in
/// order. Holds at most one partial frame (65,537 bytes) and allocates nothing after construction. Not thread-safe: one
/// reader per connection.
/// </summary>
public sealed class TcpFrameReader
{
    private readonly byte[] _buffer;
    private int _start, _end;

    /// <param name="bufferBytes">At least one largest frame (<see cref="TcpFraming.HeaderLength"/> + <see cref="TcpFraming.MaxPayload"/>); more lets one read take several frames.</param>
    public TcpFrameReader(int bufferBytes = TcpFraming.HeaderLength + TcpFraming.MaxPayload)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, TcpFraming.HeaderLength + TcpFraming.MaxPayload);
        _buffer = new byte[bufferBytes];
    }

    /// <summary>Bytes of a frame not yet complete.</summary>
    public int Buffered => _end - _start;

    /// <summary>
    /// Where the next read goes: never empty once every whole frame was taken by <see cref="TryRead"/> (what is left is
    /// a partial frame, smaller than the buffer). The partial frame moves to the front when less than half is free.
    /// </summary>
    public Memory<byte> FreeSpace
    {
        get
        {
            if (_start > 0 && (_start == _end || _buffer.Length - _end < _buffer.Length / 2))
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            return _buffer.AsMemory(_end);
        }
    }

    /// <summary>The socket put <paramref name="count"/> bytes into <see cref="FreeSpace"/>.</summary>
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _end);
        _end += count;
    }

    /// <summary>The next whole frame's payload, valid until the next <see cref="FreeSpace"/>; false when none is complete yet.</summary>
    public bool TryRead(out ReadOnlySpan<byte> payload)
    {
        payload = default;
        int available = _end - _start;
        if (available < TcpFraming.HeaderLength) return false;
        int length = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(_start));
        if (available < TcpFraming.HeaderLength + length) return false;
        payload = _buffer.AsSpan(_start + TcpFraming.HeaderLength, length);
        _start += TcpFraming.HeaderLength + length;
        return true;
    }
}
