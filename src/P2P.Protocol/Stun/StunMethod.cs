namespace P2P.Protocol.Stun;

/// <summary>STUN methods (IANA "STUN Methods" registry; RFC 8489 §18.2, RFC 8656 §17, RFC 6062 §6.1).</summary>
public enum StunMethod : ushort
{
    Binding = 0x001,
    Allocate = 0x003,
    Refresh = 0x004,
    Send = 0x006,
    Data = 0x007,
    CreatePermission = 0x008,
    ChannelBind = 0x009,
    Connect = 0x00A,
    ConnectionBind = 0x00B,
    ConnectionAttempt = 0x00C,
}

/// <summary>The two class bits of a STUN message type (RFC 8489 §5).</summary>
public enum StunClass : byte
{
    Request = 0b00,
    Indication = 0b01,
    SuccessResponse = 0b10,
    ErrorResponse = 0b11,
}

/// <summary>Packs and unpacks the 14-bit message type: method bits M0..M11 interleaved with class bits C0, C1.</summary>
public static class StunMessageType
{
    public static ushort Encode(StunMethod method, StunClass cls)
    {
        int m = (ushort)method;
        int c = (byte)cls;
        return (ushort)((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
    }

    public static StunMethod DecodeMethod(ushort type) =>
        (StunMethod)((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));

    public static StunClass DecodeClass(ushort type) => (StunClass)(((type >> 4) & 1) | ((type >> 7) & 2));
}
