namespace P2P.Protocol.Sctp;

/// <summary>SCTP chunk types with their IANA numbers (RFC 9260 §3.2, RFC 3758, RFC 6525, RFC 8260, RFC 4895, RFC 4820, RFC 5061).</summary>
public enum SctpChunkType : byte
{
    Data = 0,
    Init = 1,
    InitAck = 2,
    Sack = 3,
    Heartbeat = 4,
    HeartbeatAck = 5,
    Abort = 6,
    Shutdown = 7,
    ShutdownAck = 8,
    Error = 9,
    CookieEcho = 10,
    CookieAck = 11,
    Ecne = 12,
    Cwr = 13,
    ShutdownComplete = 14,
    /// <summary>AUTH (RFC 4895).</summary>
    Auth = 15,
    /// <summary>I-DATA (RFC 8260, message interleaving).</summary>
    IData = 64,
    /// <summary>ASCONF-ACK (RFC 5061).</summary>
    AsconfAck = 128,
    /// <summary>RE-CONFIG (RFC 6525).</summary>
    ReConfig = 130,
    /// <summary>PAD (RFC 4820).</summary>
    Pad = 132,
    /// <summary>FORWARD TSN (RFC 3758).</summary>
    ForwardTsn = 192,
    /// <summary>ASCONF (RFC 5061).</summary>
    Asconf = 193,
    /// <summary>I-FORWARD-TSN (RFC 8260).</summary>
    IForwardTsn = 194,
}

/// <summary>
/// What a receiver does with a chunk or parameter type it does not recognise, encoded in the two
/// most significant bits of the type (RFC 9260 §3.2 for chunks, §3.2.1 for parameters).
/// </summary>
public enum SctpUnrecognizedAction : byte
{
    /// <summary>00: stop processing this packet (chunks) or this chunk (parameters); discard; report nothing.</summary>
    Stop = 0,
    /// <summary>01: stop, discard, and report it (ERROR "Unrecognized Chunk Type" / INIT ACK "Unrecognized Parameter").</summary>
    StopAndReport = 1,
    /// <summary>10: skip it and continue processing.</summary>
    Skip = 2,
    /// <summary>11: skip it, continue, and report it.</summary>
    SkipAndReport = 3,
}

/// <summary>Helpers over chunk type numbers.</summary>
public static class SctpChunkTypes
{
    /// <summary>True for the types this layer parses (RFC 9260 §3.3, RFC 3758 §3.2, RFC 6525 §3.1).</summary>
    public static bool IsKnown(byte type) => (SctpChunkType)type switch
    {
        SctpChunkType.Data or SctpChunkType.Init or SctpChunkType.InitAck or SctpChunkType.Sack
            or SctpChunkType.Heartbeat or SctpChunkType.HeartbeatAck or SctpChunkType.Abort
            or SctpChunkType.Shutdown or SctpChunkType.ShutdownAck or SctpChunkType.Error
            or SctpChunkType.CookieEcho or SctpChunkType.CookieAck or SctpChunkType.ShutdownComplete
            or SctpChunkType.ForwardTsn or SctpChunkType.ReConfig => true,
        _ => false,
    };

    /// <summary>The action for an unrecognised chunk type: its two high bits (RFC 9260 §3.2).</summary>
    public static SctpUnrecognizedAction UnrecognizedAction(byte type) => (SctpUnrecognizedAction)(type >> 6);
}
