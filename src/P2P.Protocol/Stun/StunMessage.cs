using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;

namespace P2P.Protocol.Stun;

/// <summary>
/// A parsed view over one STUN message (RFC 8489 §5, §14). It keeps a reference to the packet and a
/// few offsets, so parsing allocates nothing; typed getters decode attributes on demand.
/// <see cref="TryParse"/> checks the framing and the FINGERPRINT; integrity needs the key and is
/// checked separately with <see cref="VerifyIntegrity"/>.
/// </summary>
public readonly ref struct StunMessage
{
    public const uint MagicCookie = 0x2112A442;
    public const int HeaderLength = 20;
    public const uint FingerprintXor = 0x5354554E;

    private readonly int _attributesEnd;   // attributes after MESSAGE-INTEGRITY are ignored (RFC 8489 §14.5)
    private readonly int _integrityOffset;
    private readonly int _integritySha256Offset;
    private readonly int _fingerprintOffset;

    private StunMessage(ReadOnlySpan<byte> bytes, ushort type, TransactionId id, int attributesEnd, int mi, int mi256, int fp)
    {
        Bytes = bytes;
        Method = StunMessageType.DecodeMethod(type);
        Class = StunMessageType.DecodeClass(type);
        TransactionId = id;
        _attributesEnd = attributesEnd;
        _integrityOffset = mi;
        _integritySha256Offset = mi256;
        _fingerprintOffset = fp;
    }

    public ReadOnlySpan<byte> Bytes { get; }
    public StunMethod Method { get; }
    public StunClass Class { get; }
    public TransactionId TransactionId { get; }
    public bool HasMessageIntegrity => _integrityOffset >= 0;
    public bool HasMessageIntegritySha256 => _integritySha256Offset >= 0;
    public bool HasFingerprint => _fingerprintOffset >= 0;

    /// <summary>True when the first byte could start a STUN message (RFC 7983 demultiplexing: 0-3).</summary>
    public static bool LooksLikeStun(ReadOnlySpan<byte> packet) =>
        packet.Length >= HeaderLength && PacketDemultiplexer.Classify(packet[0]) == PacketKind.Stun && BinaryPrimitives.ReadUInt32BigEndian(packet[4..]) == MagicCookie;

    /// <summary>Parses and checks framing, attribute bounds and the FINGERPRINT (if present). Never throws.</summary>
    public static bool TryParse(ReadOnlySpan<byte> packet, out StunMessage message, out StunError error)
    {
        message = default;
        if (packet.Length < HeaderLength) { error = StunError.TooShort; return false; }
        if ((packet[0] & 0xC0) != 0) { error = StunError.NotStun; return false; }
        int length = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        if ((length & 3) != 0 || HeaderLength + length != packet.Length) { error = StunError.BadLength; return false; }
        if (BinaryPrimitives.ReadUInt32BigEndian(packet[4..]) != MagicCookie) { error = StunError.BadCookie; return false; }

        int mi = -1, mi256 = -1, fp = -1, attributesEnd = packet.Length;
        int offset = HeaderLength;
        while (offset < packet.Length)
        {
            if (fp >= 0) { error = StunError.FingerprintNotLast; return false; }
            if (packet.Length - offset < 4) { error = StunError.AttributeOverrun; return false; }
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(packet[offset..]);
            int valueLength = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]);
            int padded = (valueLength + 3) & ~3;
            if (padded > packet.Length - offset - 4) { error = StunError.AttributeOverrun; return false; }
            switch ((StunAttributeType)type)
            {
                case StunAttributeType.MessageIntegrity when mi < 0 && mi256 < 0:
                    if (valueLength != StunIntegrityKey.Sha1Length) { error = StunError.BadAttributeLength; return false; }
                    mi = offset;
                    attributesEnd = offset;
                    break;
                case StunAttributeType.MessageIntegritySha256 when mi256 < 0:
                    if (valueLength < 16 || valueLength > 32 || (valueLength & 3) != 0) { error = StunError.BadAttributeLength; return false; }
                    mi256 = offset;
                    if (mi < 0) attributesEnd = offset;
                    break;
                case StunAttributeType.Fingerprint:
                    if (valueLength != 4) { error = StunError.BadAttributeLength; return false; }
                    fp = offset;
                    if (mi < 0 && mi256 < 0) attributesEnd = offset;
                    break;
            }
            offset += 4 + padded;
        }

        if (fp >= 0)
        {
            uint expected = Crc32.HashToUInt32(packet[..fp]) ^ FingerprintXor;
            if (BinaryPrimitives.ReadUInt32BigEndian(packet[(fp + 4)..]) != expected) { error = StunError.BadFingerprint; return false; }
        }

        ushort messageType = BinaryPrimitives.ReadUInt16BigEndian(packet);
        message = new StunMessage(packet, messageType, TransactionId.Read(packet.Slice(8, TransactionId.Size)), attributesEnd, mi, mi256, fp);
        error = StunError.None;
        return true;
    }

    /// <summary>
    /// Checks MESSAGE-INTEGRITY-SHA256 when present (the stronger one), else MESSAGE-INTEGRITY (RFC 8489 §9.1.3, §9.2.4).
    /// </summary>
    public StunError VerifyIntegrity(StunIntegrityKey key)
    {
        if (_integritySha256Offset >= 0) return VerifyIntegritySha256(key);
        if (_integrityOffset < 0) return StunError.MissingIntegrity;
        return VerifyIntegritySha1(key);
    }

    /// <summary>Checks MESSAGE-INTEGRITY (HMAC-SHA1) only.</summary>
    public StunError VerifyIntegritySha1(StunIntegrityKey key)
    {
        if (_integrityOffset < 0) return StunError.MissingIntegrity;
        Span<byte> mac = stackalloc byte[StunIntegrityKey.Sha1Length];
        key.ComputeSha1(Bytes[.._integrityOffset], (ushort)(_integrityOffset - HeaderLength + 4 + StunIntegrityKey.Sha1Length), mac);
        return CryptographicOperations.FixedTimeEquals(mac, Bytes.Slice(_integrityOffset + 4, StunIntegrityKey.Sha1Length))
            ? StunError.None : StunError.BadIntegrity;
    }

    /// <summary>Checks MESSAGE-INTEGRITY-SHA256 (possibly truncated to 16..32 bytes) only.</summary>
    public StunError VerifyIntegritySha256(StunIntegrityKey key)
    {
        if (_integritySha256Offset < 0) return StunError.MissingIntegrity;
        int length = BinaryPrimitives.ReadUInt16BigEndian(Bytes[(_integritySha256Offset + 2)..]);
        Span<byte> mac = stackalloc byte[StunIntegrityKey.Sha256Length];
        key.ComputeSha256(Bytes[.._integritySha256Offset], (ushort)(_integritySha256Offset - HeaderLength + 4 + length), mac);
        return CryptographicOperations.FixedTimeEquals(mac[..length], Bytes.Slice(_integritySha256Offset + 4, length))
            ? StunError.None : StunError.BadIntegrity;
    }

    /// <summary>Enumerates every attribute in wire order, including any after MESSAGE-INTEGRITY that <see cref="TryGetAttribute"/> ignores (RFC 8489 §14.5).</summary>
    public AttributeEnumerator Attributes => new(Bytes, Bytes.Length);

    /// <summary>Finds the first attribute of a type among those that count (RFC 8489 §14: later duplicates are ignored).</summary>
    public bool TryGetAttribute(StunAttributeType type, out ReadOnlySpan<byte> value)
    {
        switch (type)
        {
            case StunAttributeType.MessageIntegrity: return ValueAt(_integrityOffset, out value);
            case StunAttributeType.MessageIntegritySha256: return ValueAt(_integritySha256Offset, out value);
            case StunAttributeType.Fingerprint: return ValueAt(_fingerprintOffset, out value);
        }
        var e = new AttributeEnumerator(Bytes, _attributesEnd);
        while (e.MoveNext())
        {
            if (e.Current.Type == (ushort)type) { value = e.Current.Value; return true; }
        }
        value = default;
        return false;
    }

    private bool ValueAt(int offset, out ReadOnlySpan<byte> value)
    {
        if (offset < 0) { value = default; return false; }
        value = Bytes.Slice(offset + 4, BinaryPrimitives.ReadUInt16BigEndian(Bytes[(offset + 2)..]));
        return true;
    }

    public bool Has(StunAttributeType type) => TryGetAttribute(type, out _);

    public bool TryGetAddress(StunAttributeType type, out StunAddress address)
    {
        address = default;
        if (!TryGetAttribute(type, out var value)) return false;
        bool xor = type is StunAttributeType.XorMappedAddress or StunAttributeType.XorPeerAddress or StunAttributeType.XorRelayedAddress;
        return StunAddress.TryDecode(value, xor, TransactionId, out address);
    }

    /// <summary>Decodes a UTF-8 text attribute (USERNAME, REALM, NONCE, SOFTWARE). Allocates the string.</summary>
    public bool TryGetString(StunAttributeType type, out string text)
    {
        text = string.Empty;
        if (!TryGetAttribute(type, out var value)) return false;
        try
        {
            text = StrictUtf8.GetString(value);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    public bool TryGetUInt32(StunAttributeType type, out uint number)
    {
        number = 0;
        if (!TryGetAttribute(type, out var value) || value.Length != 4) return false;
        number = BinaryPrimitives.ReadUInt32BigEndian(value);
        return true;
    }

    public bool TryGetUInt64(StunAttributeType type, out ulong number)
    {
        number = 0;
        if (!TryGetAttribute(type, out var value) || value.Length != 8) return false;
        number = BinaryPrimitives.ReadUInt64BigEndian(value);
        return true;
    }

    /// <summary>ERROR-CODE (RFC 8489 §14.8): class*100 + number, and the reason phrase.</summary>
    public bool TryGetErrorCode(out int code, out string reason)
    {
        code = 0;
        reason = string.Empty;
        if (!TryGetAttribute(StunAttributeType.ErrorCode, out var value) || value.Length < 4) return false;
        int cls = value[2] & 0x07, number = value[3];
        if (cls < 3 || cls > 6 || number > 99) return false;
        code = cls * 100 + number;
        try { reason = StrictUtf8.GetString(value[4..]); }
        catch (DecoderFallbackException) { reason = string.Empty; }
        return true;
    }

    /// <summary>ADDRESS-ERROR-CODE (RFC 8656 §18.12): the address family the error is about, then code and reason as in ERROR-CODE.</summary>
    public bool TryGetAddressErrorCode(out byte family, out int code, out string reason)
    {
        family = 0;
        code = 0;
        reason = string.Empty;
        if (!TryGetAttribute(StunAttributeType.AddressErrorCode, out var value) || value.Length < 4) return false;
        int cls = value[2] & 0x07, number = value[3];
        if (cls < 3 || cls > 6 || number > 99) return false;
        family = value[0];
        code = cls * 100 + number;
        try { reason = StrictUtf8.GetString(value[4..]); }
        catch (DecoderFallbackException) { reason = string.Empty; }
        return true;
    }

    /// <summary>CHANNEL-NUMBER (RFC 8656 §18.1): the channel in the upper 16 bits, RFFU zero.</summary>
    public bool TryGetChannelNumber(out ushort channel)
    {
        channel = 0;
        if (!TryGetUInt32(StunAttributeType.ChannelNumber, out uint raw)) return false;
        channel = (ushort)(raw >> 16);
        return true;
    }

    /// <summary>REQUESTED-TRANSPORT (RFC 8656 §18.7): the IANA protocol number (17 = UDP, 6 = TCP).</summary>
    public bool TryGetRequestedTransport(out byte protocol)
    {
        protocol = 0;
        if (!TryGetAttribute(StunAttributeType.RequestedTransport, out var value) || value.Length != 4) return false;
        protocol = value[0];
        return true;
    }

    /// <summary>REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.8, §18.11): 0x01 IPv4, 0x02 IPv6.</summary>
    public bool TryGetAddressFamily(StunAttributeType type, out byte family)
    {
        family = 0;
        if (!TryGetAttribute(type, out var value) || value.Length != 4) return false;
        family = value[0];
        return true;
    }

    /// <summary>EVEN-PORT (RFC 8656 §18.4): the R bit asks to reserve the next port too.</summary>
    public bool TryGetEvenPort(out bool reserveNext)
    {
        reserveNext = false;
        if (!TryGetAttribute(StunAttributeType.EvenPort, out var value) || value.Length < 1) return false;
        reserveNext = (value[0] & 0x80) != 0;
        return true;
    }

    /// <summary>CHANGE-REQUEST (RFC 5780 §7.2): change-IP (0x4) and change-port (0x2) flags.</summary>
    public bool TryGetChangeRequest(out bool changeIp, out bool changePort)
    {
        changeIp = changePort = false;
        if (!TryGetUInt32(StunAttributeType.ChangeRequest, out uint flags)) return false;
        changeIp = (flags & 0x4) != 0;
        changePort = (flags & 0x2) != 0;
        return true;
    }

    /// <summary>PASSWORD-ALGORITHM (RFC 8489 §14.12): the algorithm number (parameters ignored; none are defined).</summary>
    public bool TryGetPasswordAlgorithm(out PasswordAlgorithm algorithm)
    {
        algorithm = default;
        if (!TryGetAttribute(StunAttributeType.PasswordAlgorithm, out var value) || value.Length < 4) return false;
        int paramLength = BinaryPrimitives.ReadUInt16BigEndian(value[2..]);
        if (4 + ((paramLength + 3) & ~3) != value.Length && 4 + paramLength != value.Length) return false;
        algorithm = (PasswordAlgorithm)BinaryPrimitives.ReadUInt16BigEndian(value);
        return true;
    }

    /// <summary>PASSWORD-ALGORITHMS (RFC 8489 §14.11): copies up to <paramref name="destination"/>.Length algorithm numbers in order.</summary>
    public bool TryGetPasswordAlgorithms(Span<PasswordAlgorithm> destination, out int count)
    {
        count = 0;
        if (!TryGetAttribute(StunAttributeType.PasswordAlgorithms, out var value)) return false;
        while (value.Length > 0)
        {
            if (value.Length < 4) return false;
            int paramLength = (BinaryPrimitives.ReadUInt16BigEndian(value[2..]) + 3) & ~3;
            if (value.Length < 4 + paramLength) return false;
            if (count < destination.Length) destination[count++] = (PasswordAlgorithm)BinaryPrimitives.ReadUInt16BigEndian(value);
            value = value[(4 + paramLength)..];
        }
        return true;
    }

    /// <summary>UNKNOWN-ATTRIBUTES (RFC 8489 §14.9): the listed types.</summary>
    public int GetUnknownAttributesList(Span<ushort> destination)
    {
        if (!TryGetAttribute(StunAttributeType.UnknownAttributes, out var value)) return 0;
        int count = 0;
        for (int i = 0; i + 1 < value.Length && count < destination.Length; i += 2)
            destination[count++] = BinaryPrimitives.ReadUInt16BigEndian(value[i..]);
        return count;
    }

    /// <summary>
    /// Collects comprehension-required attribute types this codebase does not know, which the receiver of a
    /// request must answer with 420 and UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1.1). Returns how many were found
    /// (only the first <paramref name="destination"/>.Length are stored).
    /// </summary>
    public int GetUnknownComprehensionRequired(Span<ushort> destination)
    {
        int count = 0;
        var e = new AttributeEnumerator(Bytes, _attributesEnd);
        while (e.MoveNext())
        {
            ushort type = e.Current.Type;
            if (StunAttributeTypes.IsComprehensionRequired(type) && !StunAttributeTypes.IsKnown(type))
            {
                if (count < destination.Length) destination[count] = type;
                count++;
            }
        }
        return count;
    }

    internal static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary>One attribute: type and value (without padding).</summary>
    public readonly ref struct Attribute(ushort type, ReadOnlySpan<byte> value)
    {
        public ushort Type { get; } = type;
        public ReadOnlySpan<byte> Value { get; } = value;
    }

    /// <summary>Walks attributes of an already validated message up to a limit.</summary>
    public ref struct AttributeEnumerator
    {
        private readonly ReadOnlySpan<byte> _bytes;
        private readonly int _end;
        private int _next;

        internal AttributeEnumerator(ReadOnlySpan<byte> bytes, int end)
        {
            _bytes = bytes;
            _end = end;
            _next = HeaderLength;
            Current = default;
        }

        public Attribute Current { get; private set; }

        public readonly AttributeEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_next + 4 > _end) return false;
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(_bytes[_next..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(_bytes[(_next + 2)..]);
            Current = new Attribute(type, _bytes.Slice(_next + 4, length));
            _next += 4 + ((length + 3) & ~3);
            return true;
        }
    }
}
