namespace P2P.Protocol.Sctp;

/// <summary>
/// Why bytes are not an acceptable SCTP packet, chunk, parameter or DCEP message, or why a pure
/// helper refused an input. Parsers return one of these and never throw on received data.
/// </summary>
public enum SctpError
{
    None = 0,
    /// <summary>Shorter than the 12-byte common header, or a fixed part does not fit (RFC 9260 §3.1).</summary>
    TooShort,
    /// <summary>The CRC-32C in the common header does not match the packet (RFC 9260 §6.8).</summary>
    BadChecksum,
    /// <summary>The packet holds a header but no chunk (RFC 9260 §3: one or more chunks follow the header).</summary>
    NoChunks,
    /// <summary>A chunk header does not fit, or its length is below 4 (a zero-length chunk) (RFC 9260 §3.2).</summary>
    BadChunkLength,
    /// <summary>A chunk's length runs past the end of the packet (RFC 9260 §3.2).</summary>
    ChunkOverrun,
    /// <summary>A chunk's zero padding to the next 4-byte boundary is missing (RFC 9260 §3.2).</summary>
    PaddingOverrun,
    /// <summary>The chunk's value is too short for its fixed fields, or its counts disagree with its length.</summary>
    BadChunkValue,
    /// <summary>The chunk has another type than the parser asked for.</summary>
    WrongChunkType,
    /// <summary>A DATA chunk carries no user data (RFC 9260 §6.2: answered with ABORT, cause "No User Data").</summary>
    NoUserData,
    /// <summary>A parameter or error cause header does not fit, or its length is below 4 (RFC 9260 §3.2.1).</summary>
    BadParameterLength,
    /// <summary>A parameter or error cause runs past the end of its chunk.</summary>
    ParameterOverrun,
    /// <summary>A parameter's value has the wrong size for its type.</summary>
    BadParameterValue,
    /// <summary>A DCEP message is malformed or has an unknown message type (RFC 8832 §5).</summary>
    BadDcepMessage,
    /// <summary>A DCEP label or protocol is not valid UTF-8 (RFC 8832 §5.1).</summary>
    BadUtf8,
    /// <summary>The reassembly queue would exceed its byte limit (the receive window was not respected).</summary>
    ReassemblyLimitExceeded,
    /// <summary>A fragment contradicts fragments already queued (flags or stream disagree for one TSN range).</summary>
    InconsistentFragment,
    /// <summary>A user message is empty: DATA chunks cannot carry zero bytes (RFC 8831 §6.6 uses PPID 56/57 instead).</summary>
    EmptyMessage,
}
