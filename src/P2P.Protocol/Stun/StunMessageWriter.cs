using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace P2P.Protocol.Stun;

/// <summary>
/// Builds a STUN message in a caller-supplied buffer (RFC 8489 §5, §14), keeping the header length
/// current after every attribute. Attributes are padded to 4 bytes with zeros. MESSAGE-INTEGRITY,
/// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are computed over what was written before them, so
/// they are added last, in that order. A buffer too small for the message is a programming error
/// and throws <see cref="InvalidOperationException"/>; nothing here depends on received input.
/// </summary>
public ref struct StunMessageWriter
{
    private readonly Span<byte> _buffer;
    private int _length;

    public StunMessageWriter(Span<byte> buffer, StunMethod method, StunClass cls, in TransactionId transactionId)
    {
        if (buffer.Length < StunMessage.HeaderLength) throw new InvalidOperationException("STUN buffer smaller than a header");
        _buffer = buffer;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, StunMessageType.Encode(method, cls));
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], StunMessage.MagicCookie);
        transactionId.WriteTo(buffer[8..]);
        TransactionId = transactionId;
        _length = StunMessage.HeaderLength;
    }

    public TransactionId TransactionId { get; }

    /// <summary>
    /// Byte used to pad attribute values to 4 bytes. Zero by default; RFC 8489 §14 lets senders use any
    /// value (RFC 5769's vectors pad with spaces), and receivers must ignore it.
    /// </summary>
    public byte PaddingByte { get; set; }

    /// <summary>Bytes written so far (the whole message once the last attribute is added).</summary>
    public readonly int Length => _length;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._length];

    /// <summary>Reserves a value of <paramref name="valueLength"/> bytes and returns it to fill in.</summary>
    public Span<byte> AddAttribute(StunAttributeType type, int valueLength) => AddAttribute((ushort)type, valueLength);

    public Span<byte> AddAttribute(ushort type, int valueLength)
    {
        int padded = (valueLength + 3) & ~3;
        if (valueLength > ushort.MaxValue || _length + 4 + padded > _buffer.Length)
            throw new InvalidOperationException($"STUN buffer of {_buffer.Length} bytes too small for attribute 0x{type:x4} of {valueLength} bytes");
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_length..], type);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(_length + 2)..], (ushort)valueLength);
        var value = _buffer.Slice(_length + 4, valueLength);
        _buffer.Slice(_length + 4 + valueLength, padded - valueLength).Fill(PaddingByte);
        _length += 4 + padded;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[2..], (ushort)(_length - StunMessage.HeaderLength));
        return value;
    }

    public void AddBytes(StunAttributeType type, scoped ReadOnlySpan<byte> value) => value.CopyTo(AddAttribute(type, value.Length));

    /// <summary>Adds an attribute with an empty value (USE-CANDIDATE, DONT-FRAGMENT).</summary>
    public void AddFlag(StunAttributeType type) => AddAttribute(type, 0);

    public void AddString(StunAttributeType type, string text)
    {
        int byteCount = Encoding.UTF8.GetByteCount(text);
        Encoding.UTF8.GetBytes(text, AddAttribute(type, byteCount));
    }

    public void AddUInt32(StunAttributeType type, uint value) => BinaryPrimitives.WriteUInt32BigEndian(AddAttribute(type, 4), value);

    public void AddUInt64(StunAttributeType type, ulong value) => BinaryPrimitives.WriteUInt64BigEndian(AddAttribute(type, 8), value);

    /// <summary>Adds an address attribute, XOR-ed when the type is one of the XOR-*-ADDRESS ones.</summary>
    public void AddAddress(StunAttributeType type, in StunAddress address)
    {
        bool xor = type is StunAttributeType.XorMappedAddress or StunAttributeType.XorPeerAddress or StunAttributeType.XorRelayedAddress;
        address.Encode(AddAttribute(type, address.EncodedLength), xor, TransactionId);
    }

    /// <summary>ERROR-CODE (RFC 8489 §14.8).</summary>
    public void AddErrorCode(int code, string reason)
    {
        int reasonLength = Encoding.UTF8.GetByteCount(reason);
        var value = AddAttribute(StunAttributeType.ErrorCode, 4 + reasonLength);
        value[0] = 0;
        value[1] = 0;
        value[2] = (byte)(code / 100);
        value[3] = (byte)(code % 100);
        Encoding.UTF8.GetBytes(reason, value[4..]);
    }

    /// <summary>CHANNEL-NUMBER (RFC 8656 §18.1).</summary>
    public void AddChannelNumber(ushort channel) => AddUInt32(StunAttributeType.ChannelNumber, (uint)channel << 16);

    /// <summary>REQUESTED-TRANSPORT (RFC 8656 §18.7), 17 for UDP.</summary>
    public void AddRequestedTransport(byte protocol) => AddUInt32(StunAttributeType.RequestedTransport, (uint)protocol << 24);

    /// <summary>REQUESTED-ADDRESS-FAMILY or ADDITIONAL-ADDRESS-FAMILY (0x01 IPv4, 0x02 IPv6).</summary>
    public void AddAddressFamily(StunAttributeType type, byte family) => AddUInt32(type, (uint)family << 24);

    /// <summary>EVEN-PORT (RFC 8656 §18.4).</summary>
    public void AddEvenPort(bool reserveNext) => AddAttribute(StunAttributeType.EvenPort, 1)[0] = reserveNext ? (byte)0x80 : (byte)0;

    /// <summary>CHANGE-REQUEST (RFC 5780 §7.2).</summary>
    public void AddChangeRequest(bool changeIp, bool changePort) =>
        AddUInt32(StunAttributeType.ChangeRequest, (changeIp ? 4u : 0u) | (changePort ? 2u : 0u));

    /// <summary>ADDRESS-ERROR-CODE (RFC 8656 §18.12): family, then code and reason as in ERROR-CODE.</summary>
    public void AddAddressErrorCode(byte family, int code, string reason)
    {
        int reasonLength = Encoding.UTF8.GetByteCount(reason);
        var value = AddAttribute(StunAttributeType.AddressErrorCode, 4 + reasonLength);
        value[0] = family;
        value[1] = 0;
        value[2] = (byte)(code / 100);
        value[3] = (byte)(code % 100);
        Encoding.UTF8.GetBytes(reason, value[4..]);
    }

    /// <summary>PASSWORD-ALGORITHM (RFC 8489 §14.12), no parameters.</summary>
    public void AddPasswordAlgorithm(PasswordAlgorithm algorithm)
    {
        var value = AddAttribute(StunAttributeType.PasswordAlgorithm, 4);
        BinaryPrimitives.WriteUInt16BigEndian(value, (ushort)algorithm);
        BinaryPrimitives.WriteUInt16BigEndian(value[2..], 0);
    }

    /// <summary>PASSWORD-ALGORITHMS (RFC 8489 §14.11), no parameters for any listed algorithm.</summary>
    public void AddPasswordAlgorithms(scoped ReadOnlySpan<PasswordAlgorithm> algorithms)
    {
        var value = AddAttribute(StunAttributeType.PasswordAlgorithms, 4 * algorithms.Length);
        for (int i = 0; i < algorithms.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(value[(4 * i)..], (ushort)algorithms[i]);
            BinaryPrimitives.WriteUInt16BigEndian(value[(4 * i + 2)..], 0);
        }
    }

    /// <summary>UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).</summary>
    public void AddUnknownAttributes(scoped ReadOnlySpan<ushort> types)
    {
        var value = AddAttribute(StunAttributeType.UnknownAttributes, 2 * types.Length);
        for (int i = 0; i < types.Length; i++) BinaryPrimitives.WriteUInt16BigEndian(value[(2 * i)..], types[i]);
    }

    /// <summary>MESSAGE-INTEGRITY: HMAC-SHA1 over everything so far, with the length counting this attribute (RFC 8489 §14.5).</summary>
    public void AddMessageIntegrity(StunIntegrityKey key)
    {
        int prefix = _length;
        var value = AddAttribute(StunAttributeType.MessageIntegrity, StunIntegrityKey.Sha1Length);
        key.ComputeSha1(_buffer[..prefix], (ushort)(_length - StunMessage.HeaderLength), value);
    }

    /// <summary>MESSAGE-INTEGRITY-SHA256, full 32 bytes (RFC 8489 §14.6).</summary>
    public void AddMessageIntegritySha256(StunIntegrityKey key)
    {
        int prefix = _length;
        var value = AddAttribute(StunAttributeType.MessageIntegritySha256, StunIntegrityKey.Sha256Length);
        key.ComputeSha256(_buffer[..prefix], (ushort)(_length - StunMessage.HeaderLength), value);
    }

    /// <summary>FINGERPRINT: CRC-32 of everything so far XOR 0x5354554E; must be the last attribute (RFC 8489 §14.7).</summary>
    public void AddFingerprint()
    {
        int prefix = _length;
        var value = AddAttribute(StunAttributeType.Fingerprint, 4);
        BinaryPrimitives.WriteUInt32BigEndian(value, Crc32.HashToUInt32(_buffer[..prefix]) ^ StunMessage.FingerprintXor);
    }

    public readonly byte[] ToArray() => _buffer[.._length].ToArray();
}
