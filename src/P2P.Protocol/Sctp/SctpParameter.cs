using System.Buffers.Binary;

namespace P2P.Protocol.Sctp;

/// <summary>
/// SCTP parameter types used in INIT/INIT ACK, HEARTBEAT and RE-CONFIG (RFC 9260 §3.3.2.1,
/// RFC 3758 §3.1, RFC 5061 §4.2.7, RFC 6525 §4, RFC 4895).
/// </summary>
public enum SctpParameterType : ushort
{
    HeartbeatInfo = 1,
    Ipv4Address = 5,
    Ipv6Address = 6,
    StateCookie = 7,
    UnrecognizedParameter = 8,
    CookiePreservative = 9,
    HostNameAddress = 11,
    SupportedAddressTypes = 12,
    /// <summary>Outgoing SSN Reset Request (RFC 6525 §4.1).</summary>
    OutgoingSsnResetRequest = 13,
    /// <summary>Incoming SSN Reset Request (RFC 6525 §4.2).</summary>
    IncomingSsnResetRequest = 14,
    /// <summary>SSN/TSN Reset Request (RFC 6525 §4.3).</summary>
    SsnTsnResetRequest = 15,
    /// <summary>Re-configuration Response (RFC 6525 §4.4).</summary>
    ReconfigurationResponse = 16,
    /// <summary>Add Outgoing Streams Request (RFC 6525 §4.5).</summary>
    AddOutgoingStreamsRequest = 17,
    /// <summary>Add Incoming Streams Request (RFC 6525 §4.6).</summary>
    AddIncomingStreamsRequest = 18,
    /// <summary>Random (RFC 4895 §3.1).</summary>
    Random = 0x8002,
    /// <summary>Chunk List (RFC 4895 §3.2).</summary>
    ChunkList = 0x8003,
    /// <summary>Requested HMAC Algorithm (RFC 4895 §3.3).</summary>
    RequestedHmacAlgorithm = 0x8004,
    /// <summary>Padding (RFC 4820 §3).</summary>
    Padding = 0x8005,
    /// <summary>Supported Extensions: a list of chunk types (RFC 5061 §4.2.7).</summary>
    SupportedExtensions = 0x8008,
    /// <summary>Forward-TSN-Supported, empty (RFC 3758 §3.1).</summary>
    ForwardTsnSupported = 0xC000,
}

/// <summary>SCTP error cause codes carried by ABORT and ERROR (RFC 9260 §3.3.10).</summary>
public enum SctpErrorCauseCode : ushort
{
    InvalidStreamIdentifier = 1,
    MissingMandatoryParameter = 2,
    StaleCookieError = 3,
    OutOfResource = 4,
    UnresolvableAddress = 5,
    UnrecognizedChunkType = 6,
    InvalidMandatoryParameter = 7,
    UnrecognizedParameters = 8,
    NoUserData = 9,
    CookieReceivedWhileShuttingDown = 10,
    RestartWithNewAddresses = 11,
    UserInitiatedAbort = 12,
    ProtocolViolation = 13,
}

/// <summary>
/// One type-length-value item inside a chunk: a parameter (RFC 9260 §3.2.1) or an error cause
/// (§3.3.10); both have a 16-bit type/code, a 16-bit length covering the 4-byte header, and zero
/// padding to 4 bytes.
/// </summary>
public readonly ref struct SctpParameter
{
    internal SctpParameter(ushort type, ReadOnlySpan<byte> value, ReadOnlySpan<byte> raw)
    {
        TypeCode = type;
        Value = value;
        Raw = raw;
    }

    public ushort TypeCode { get; }
    public SctpParameterType Type => (SctpParameterType)TypeCode;
    public SctpErrorCauseCode CauseCode => (SctpErrorCauseCode)TypeCode;
    public ReadOnlySpan<byte> Value { get; }
    /// <summary>Header and value without padding (what an "Unrecognized Parameter" report echoes).</summary>
    public ReadOnlySpan<byte> Raw { get; }
    /// <summary>What to do when this parameter type is not recognised: its two high bits (RFC 9260 §3.2.1).</summary>
    public SctpUnrecognizedAction UnrecognizedAction => (SctpUnrecognizedAction)(TypeCode >> 14);
}

/// <summary>
/// Validates and enumerates a run of parameters or error causes. The last item's padding may be
/// absent, since a chunk length does not count its final padding (RFC 9260 §3.2).
/// </summary>
public ref struct SctpParameterEnumerator
{
    private readonly ReadOnlySpan<byte> _items;
    private int _next;

    public SctpParameterEnumerator(ReadOnlySpan<byte> items)
    {
        _items = items;
        _next = 0;
        Current = default;
    }

    public SctpParameter Current { get; private set; }

    public readonly SctpParameterEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_next >= _items.Length) return false;
        if (!TryFrame(_items, _next, out int length, out _)) { _next = _items.Length; return false; }
        var raw = _items.Slice(_next, length);
        Current = new SctpParameter(BinaryPrimitives.ReadUInt16BigEndian(raw), raw[4..], raw);
        _next += (length + 3) & ~3;
        return true;
    }

    /// <summary>Checks that every item in <paramref name="items"/> is well framed.</summary>
    public static SctpError Validate(ReadOnlySpan<byte> items)
    {
        int offset = 0;
        while (offset < items.Length)
        {
            if (!TryFrame(items, offset, out int length, out var error)) return error;
            offset += (length + 3) & ~3;
        }
        return SctpError.None;
    }

    private static bool TryFrame(ReadOnlySpan<byte> items, int offset, out int length, out SctpError error)
    {
        length = 0;
        if (items.Length - offset < 4) { error = SctpError.BadParameterLength; return false; }
        length = BinaryPrimitives.ReadUInt16BigEndian(items[(offset + 2)..]);
        if (length < 4) { error = SctpError.BadParameterLength; return false; }
        if (length > items.Length - offset) { error = SctpError.ParameterOverrun; return false; }
        int padded = (length + 3) & ~3;
        if (padded > items.Length - offset && offset + length != items.Length) { error = SctpError.ParameterOverrun; return false; }
        error = SctpError.None;
        return true;
    }

    /// <summary>Finds the first item of a type.</summary>
    public static bool TryFind(ReadOnlySpan<byte> items, ushort type, out ReadOnlySpan<byte> value)
    {
        foreach (var p in new SctpParameterEnumerator(items))
        {
            if (p.TypeCode == type) { value = p.Value; return true; }
        }
        value = default;
        return false;
    }
}
