using System.Buffers.Binary;

namespace P2P.Protocol.Sctp;

/// <summary>
/// An INIT or INIT ACK chunk (RFC 9260 §3.3.2, §3.3.3): initiate tag, advertised receiver window
/// credit, number of outbound streams, number of inbound streams, initial TSN, then parameters.
/// INIT ACK carries the State Cookie. The association checks the values (a zero initiate tag, zero
/// stream counts or a missing cookie are answered per RFC 9260 §5.1); this type only decodes them.
/// </summary>
public readonly ref struct InitChunk
{
    /// <summary>Initiate tag, a_rwnd, OS, MIS, initial TSN.</summary>
    public const int FixedLength = 16;

    private InitChunk(bool isAck, uint tag, uint arwnd, ushort os, ushort mis, uint tsn, ReadOnlySpan<byte> parameters)
    {
        IsAck = isAck;
        InitiateTag = tag;
        AdvertisedReceiverWindow = arwnd;
        OutboundStreams = os;
        InboundStreams = mis;
        InitialTsn = tsn;
        ParameterBytes = parameters;
    }

    /// <summary>True for INIT ACK, false for INIT.</summary>
    public bool IsAck { get; }
    /// <summary>The tag the peer expects in the verification tag of every packet sent to it (RFC 9260 §3.3.2).</summary>
    public uint InitiateTag { get; }
    public uint AdvertisedReceiverWindow { get; }
    public ushort OutboundStreams { get; }
    public ushort InboundStreams { get; }
    public uint InitialTsn { get; }
    public ReadOnlySpan<byte> ParameterBytes { get; }
    public SctpParameterEnumerator Parameters => new(ParameterBytes);

    /// <summary>The State Cookie parameter's value (INIT ACK, RFC 9260 §3.3.3.1).</summary>
    public bool TryGetStateCookie(out ReadOnlySpan<byte> cookie) =>
        SctpParameterEnumerator.TryFind(ParameterBytes, (ushort)SctpParameterType.StateCookie, out cookie);

    /// <summary>The chunk types listed in Supported Extensions (RFC 5061 §4.2.7), empty when absent.</summary>
    public ReadOnlySpan<byte> SupportedExtensions =>
        SctpParameterEnumerator.TryFind(ParameterBytes, (ushort)SctpParameterType.SupportedExtensions, out var list) ? list : default;

    public bool SupportsExtension(SctpChunkType type) => SupportedExtensions.Contains((byte)type);

    /// <summary>True when the peer can receive FORWARD TSN (RFC 3758 §3.1): the parameter, or the type in Supported Extensions.</summary>
    public bool ForwardTsnSupported =>
        SctpParameterEnumerator.TryFind(ParameterBytes, (ushort)SctpParameterType.ForwardTsnSupported, out _)
        || SupportsExtension(SctpChunkType.ForwardTsn);

    /// <summary>True when some parameter type is not one this layer knows; walk <see cref="Parameters"/> to act on each per its high bits.</summary>
    public bool HasUnknownParameter
    {
        get
        {
            foreach (var p in Parameters)
                if (!IsKnownParameter(p.TypeCode)) return true;
            return false;
        }
    }

    /// <summary>Parameter types an INIT/INIT ACK may carry that this layer understands.</summary>
    public static bool IsKnownParameter(ushort type) => (SctpParameterType)type switch
    {
        SctpParameterType.Ipv4Address or SctpParameterType.Ipv6Address or SctpParameterType.StateCookie
            or SctpParameterType.UnrecognizedParameter or SctpParameterType.CookiePreservative
            or SctpParameterType.HostNameAddress or SctpParameterType.SupportedAddressTypes
            or SctpParameterType.SupportedExtensions or SctpParameterType.ForwardTsnSupported => true,
        _ => false,
    };

    /// <summary>Decodes an INIT or INIT ACK and checks the parameter framing.</summary>
    public static bool TryParse(SctpChunk chunk, out InitChunk init, out SctpError error)
    {
        init = default;
        if (chunk.Type is not (SctpChunkType.Init or SctpChunkType.InitAck)) { error = SctpError.WrongChunkType; return false; }
        var v = chunk.Value;
        if (v.Length < FixedLength) { error = SctpError.BadChunkValue; return false; }
        var parameters = v[FixedLength..];
        error = SctpParameterEnumerator.Validate(parameters);
        if (error != SctpError.None) return false;
        init = new InitChunk(chunk.Type == SctpChunkType.InitAck, BinaryPrimitives.ReadUInt32BigEndian(v),
            BinaryPrimitives.ReadUInt32BigEndian(v[4..]), BinaryPrimitives.ReadUInt16BigEndian(v[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(v[10..]), BinaryPrimitives.ReadUInt32BigEndian(v[12..]), parameters);
        return true;
    }
}

public ref partial struct SctpPacketWriter
{
    /// <summary>
    /// Starts an INIT (or INIT ACK) chunk (RFC 9260 §3.3.2, §3.3.3); add its parameters next with
    /// <see cref="AddStateCookie"/>, <see cref="AddSupportedExtensions"/>, <see cref="AddForwardTsnSupported"/>
    /// or <see cref="AddParameter(ushort, ReadOnlySpan{byte})"/>.
    /// </summary>
    public void BeginInit(bool ack, uint initiateTag, uint advertisedReceiverWindow, ushort outboundStreams, ushort inboundStreams, uint initialTsn)
    {
        var v = AddChunk(ack ? SctpChunkType.InitAck : SctpChunkType.Init, 0, InitChunk.FixedLength);
        BinaryPrimitives.WriteUInt32BigEndian(v, initiateTag);
        BinaryPrimitives.WriteUInt32BigEndian(v[4..], advertisedReceiverWindow);
        BinaryPrimitives.WriteUInt16BigEndian(v[8..], outboundStreams);
        BinaryPrimitives.WriteUInt16BigEndian(v[10..], inboundStreams);
        BinaryPrimitives.WriteUInt32BigEndian(v[12..], initialTsn);
    }

    /// <summary>Adds the State Cookie parameter (INIT ACK, RFC 9260 §3.3.3.1).</summary>
    public void AddStateCookie(scoped ReadOnlySpan<byte> cookie) => AddParameter(SctpParameterType.StateCookie, cookie);

    /// <summary>Adds Supported Extensions listing chunk types (RFC 5061 §4.2.7).</summary>
    public void AddSupportedExtensions(scoped ReadOnlySpan<SctpChunkType> types)
    {
        var v = AddParameter(SctpParameterType.SupportedExtensions, types.Length);
        for (int i = 0; i < types.Length; i++) v[i] = (byte)types[i];
    }

    /// <summary>Adds the empty Forward-TSN-Supported parameter (RFC 3758 §3.1).</summary>
    public void AddForwardTsnSupported() => AddParameter(SctpParameterType.ForwardTsnSupported, 0);
}
