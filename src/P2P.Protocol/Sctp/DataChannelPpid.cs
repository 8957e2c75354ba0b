namespace P2P.Protocol.Sctp;

/// <summary>
/// Payload protocol identifiers used by WebRTC data channels (RFC 8831 §8, RFC 8832 §8.1). An empty
/// message cannot be carried in a DATA chunk, so it is sent as one byte (conventionally 0) under the
/// "empty" PPID, which tells the receiver to ignore the byte.
/// </summary>
public enum DataChannelPpid : uint
{
    /// <summary>A DCEP message (RFC 8832).</summary>
    Dcep = 50,
    /// <summary>A UTF-8 string message.</summary>
    String = 51,
    /// <summary>Deprecated: a partial string (PPID-based fragmentation, replaced by SCTP ndata).</summary>
    StringPartial = 52,
    /// <summary>A binary message.</summary>
    Binary = 53,
    /// <summary>Deprecated: a partial binary message.</summary>
    BinaryPartial = 54,
    /// <summary>An empty string (the single payload byte is ignored).</summary>
    StringEmpty = 56,
    /// <summary>An empty binary message (the single payload byte is ignored).</summary>
    BinaryEmpty = 57,
}
