using System.Buffers.Binary;

namespace P2P.Protocol.Sctp;

/// <summary>
/// The graceful close chunks (RFC 9260 §3.3.8, §3.3.9, §3.3.13): SHUTDOWN carries the cumulative TSN
/// ack; SHUTDOWN ACK is empty; SHUTDOWN COMPLETE is empty with the T bit.
/// </summary>
public static class ShutdownChunks
{
    /// <summary>Decodes SHUTDOWN's cumulative TSN ack (RFC 9260 §3.3.8).</summary>
    public static bool TryParseShutdown(SctpChunk chunk, out uint cumulativeTsnAck, out SctpError error)
    {
        cumulativeTsnAck = 0;
        if (chunk.Type != SctpChunkType.Shutdown) { error = SctpError.WrongChunkType; return false; }
        if (chunk.Value.Length != 4) { error = SctpError.BadChunkValue; return false; }
        cumulativeTsnAck = BinaryPrimitives.ReadUInt32BigEndian(chunk.Value);
        error = SctpError.None;
        return true;
    }

    /// <summary>Decodes SHUTDOWN COMPLETE's T bit (RFC 9260 §3.3.13).</summary>
    public static bool TryParseShutdownComplete(SctpChunk chunk, out bool tagReflected, out SctpError error)
    {
        tagReflected = (chunk.Flags & AbortChunk.TagReflectedFlag) != 0;
        error = chunk.Type == SctpChunkType.ShutdownComplete ? SctpError.None : SctpError.WrongChunkType;
        return error == SctpError.None;
    }
}

public ref partial struct SctpPacketWriter
{
    /// <summary>Adds SHUTDOWN (RFC 9260 §3.3.8).</summary>
    public void AddShutdown(uint cumulativeTsnAck) =>
        BinaryPrimitives.WriteUInt32BigEndian(AddChunk(SctpChunkType.Shutdown, 0, 4), cumulativeTsnAck);

    /// <summary>Adds SHUTDOWN ACK (RFC 9260 §3.3.9).</summary>
    public void AddShutdownAck() => AddChunk(SctpChunkType.ShutdownAck, 0, 0);

    /// <summary>Adds SHUTDOWN COMPLETE (RFC 9260 §3.3.13).</summary>
    public void AddShutdownComplete(bool tagReflected) =>
        AddChunk(SctpChunkType.ShutdownComplete, tagReflected ? AbortChunk.TagReflectedFlag : (byte)0, 0);
}
