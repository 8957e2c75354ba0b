namespace P2P.Protocol;

/// <summary>What a datagram on the shared ICE 5-tuple carries, told by its first byte (RFC 7983 §7).</summary>
public enum PacketKind
{
    /// <summary>None of the ranges below (RFC 7983 says: drop it).</summary>
    Unknown = 0,

    /// <summary>STUN (RFC 8489), first byte 0-3.</summary>
    Stun,

    /// <summary>ZRTP (RFC 6189), first byte 16-19.</summary>
    Zrtp,

    /// <summary>A DTLS record (RFC 6347 / RFC 9147), first byte 20-63.</summary>
    Dtls,

    /// <summary>TURN ChannelData (RFC 8656 §12), first byte 64-79.</summary>
    TurnChannelData,

    /// <summary>RTP or RTCP (RFC 3550), first byte 128-191.</summary>
    RtpRtcp,
}

/// <summary>
/// The demultiplexing rule of RFC 7983 §7 (which updates RFC 5764 §5.1.2): STUN, ZRTP, DTLS, TURN
/// ChannelData and RTP/RTCP share one transport address and are told apart by the value of the
/// first byte alone. This is the one place that knows the ranges; the STUN and ChannelData codecs
/// ask it.
/// </summary>
public static class PacketDemultiplexer
{
    /// <summary>Classifies by the first byte (RFC 7983 §7, Figure 3).</summary>
    public static PacketKind Classify(byte first) => first switch
    {
        <= 3 => PacketKind.Stun,
        >= 16 and <= 19 => PacketKind.Zrtp,
        >= 20 and <= 63 => PacketKind.Dtls,
        >= 64 and <= 79 => PacketKind.TurnChannelData,
        >= 128 and <= 191 => PacketKind.RtpRtcp,
        _ => PacketKind.Unknown,
    };

    /// <summary>Classifies a whole datagram; an empty one is <see cref="PacketKind.Unknown"/>.</summary>
    public static PacketKind Classify(ReadOnlySpan<byte> packet) => packet.IsEmpty ? PacketKind.Unknown : Classify(packet[0]);
}
