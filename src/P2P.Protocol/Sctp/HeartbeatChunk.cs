namespace P2P.Protocol.Sctp;

/// <summary>
/// A HEARTBEAT or HEARTBEAT ACK chunk (RFC 9260 §3.3.5, §3.3.6): one Heartbeat Info parameter whose
/// value is opaque to the peer, which echoes it back unchanged.
/// </summary>
public readonly ref struct HeartbeatChunk
{
    private HeartbeatChunk(bool isAck, ReadOnlySpan<byte> info)
    {
        IsAck = isAck;
        Info = info;
    }

    public bool IsAck { get; }
    /// <summary>The Heartbeat Info parameter's value (sender-specific, e.g. a send time and a nonce).</summary>
    public ReadOnlySpan<byte> Info { get; }

    public static bool TryParse(SctpChunk chunk, out HeartbeatChunk heartbeat, out SctpError error)
    {
        heartbeat = default;
        if (chunk.Type is not (SctpChunkType.Heartbeat or SctpChunkType.HeartbeatAck)) { error = SctpError.WrongChunkType; return false; }
        error = SctpParameterEnumerator.Validate(chunk.Value);
        if (error != SctpError.None) return false;
        if (!SctpParameterEnumerator.TryFind(chunk.Value, (ushort)SctpParameterType.HeartbeatInfo, out var info))
        {
            error = SctpError.BadChunkValue;
            return false;
        }
        heartbeat = new HeartbeatChunk(chunk.Type == SctpChunkType.HeartbeatAck, info);
        return true;
    }
}

public ref partial struct SctpPacketWriter
{
    /// <summary>Adds a HEARTBEAT (or HEARTBEAT ACK echoing <paramref name="info"/>) chunk (RFC 9260 §3.3.5, §3.3.6).</summary>
    public void AddHeartbeat(bool ack, scoped ReadOnlySpan<byte> info)
    {
        AddChunk(ack ? SctpChunkType.HeartbeatAck : SctpChunkType.Heartbeat, 0, 0);
        AddParameter(SctpParameterType.HeartbeatInfo, info);
    }
}
