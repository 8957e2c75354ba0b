using System.Buffers.Binary;

namespace P2P.Protocol.Chat;

/// <summary>
/// What travels on a "file-&lt;id&gt;" channel, binary: from the sender a chunk (8-byte big-endian offset, then the
/// bytes); from the receiver an acknowledgement (8-byte big-endian count of bytes written so far).
/// </summary>
public static class FileChunk
{
    public const int HeaderLength = 8;

    /// <summary>
    /// A chunk frame with room for <paramref name="length"/> bytes after its header, for a read straight into it
    /// (<c>frame.AsSpan(HeaderLength)</c>): no copy from a read buffer into the frame, once per 16 KiB of every file sent.
    /// </summary>
    public static byte[] NewFrame(long offset, int length)
    {
        var frame = GC.AllocateUninitializedArray<byte>(HeaderLength + length);
        BinaryPrimitives.WriteInt64BigEndian(frame, offset);
        return frame;
    }

    public static bool TryDecode(ReadOnlyMemory<byte> frame, out long offset, out ReadOnlyMemory<byte> data)
    {
        data = default;
        offset = -1;
        if (frame.Length < HeaderLength) return false;
        offset = BinaryPrimitives.ReadInt64BigEndian(frame.Span);
        data = frame[HeaderLength..];
        return offset >= 0;
    }

    public static byte[] EncodeAck(long written)
    {
        var frame = new byte[HeaderLength];
        BinaryPrimitives.WriteInt64BigEndian(frame, written);
        return frame;
    }

    public static bool TryDecodeAck(ReadOnlySpan<byte> frame, out long written)
    {
        written = frame.Length == HeaderLength ? BinaryPrimitives.ReadInt64BigEndian(frame) : -1;
        return written >= 0;
    }
}
