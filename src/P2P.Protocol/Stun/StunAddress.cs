using System.Buffers.Binary;
using System.Net;
using AddressFamily = System.Net.Sockets.AddressFamily;

namespace P2P.Protocol.Stun;

/// <summary>
/// A transport address as carried by MAPPED-ADDRESS and the XOR-*-ADDRESS attributes (RFC 8489 §14.1-14.2).
/// A value type so that decoding allocates nothing; <see cref="ToEndPoint"/> makes the framework type when needed.
/// </summary>
public readonly record struct StunAddress(AddressFamily Family, ushort Port, UInt128 Address)
{
    public const byte FamilyIPv4 = 0x01;
    public const byte FamilyIPv6 = 0x02;
    private const uint MagicCookie = StunMessage.MagicCookie;

    public bool IsIPv6 => Family == AddressFamily.InterNetworkV6;

    /// <summary>Size of the attribute value: 8 bytes for IPv4, 20 for IPv6.</summary>
    public int EncodedLength => IsIPv6 ? 20 : 8;

    public static StunAddress From(IPEndPoint endPoint)
    {
        var address = endPoint.Address;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        return written == 4
            ? new StunAddress(AddressFamily.InterNetwork, (ushort)endPoint.Port, BinaryPrimitives.ReadUInt32BigEndian(bytes))
            : new StunAddress(AddressFamily.InterNetworkV6, (ushort)endPoint.Port, BinaryPrimitives.ReadUInt128BigEndian(bytes));
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        if (IsIPv6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(bytes, Address);
            return new IPAddress(bytes);
        }
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)Address);
        return new IPAddress(bytes[..4]);
    }

    public IPEndPoint ToEndPoint() => new(ToIPAddress(), Port);

    public override string ToString() => IsIPv6 ? $"[{ToIPAddress()}]:{Port}" : $"{ToIPAddress()}:{Port}";

    /// <summary>Decodes an address attribute value; with <paramref name="xor"/> undoes the XOR with the cookie and transaction id.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> value, bool xor, in TransactionId transactionId, out StunAddress address)
    {
        address = default;
        if (value.Length < 4) return false;
        byte family = value[1];
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(value[2..]);
        if (xor) port ^= (ushort)(MagicCookie >> 16);
        if (family == FamilyIPv4 && value.Length == 8)
        {
            uint a = BinaryPrimitives.ReadUInt32BigEndian(value[4..]);
            if (xor) a ^= MagicCookie;
            address = new StunAddress(AddressFamily.InterNetwork, port, a);
            return true;
        }
        if (family == FamilyIPv6 && value.Length == 20)
        {
            UInt128 a = BinaryPrimitives.ReadUInt128BigEndian(value[4..]);
            if (xor) a ^= XorMask(transactionId);
            address = new StunAddress(AddressFamily.InterNetworkV6, port, a);
            return true;
        }
        return false;
    }

    /// <summary>Writes the attribute value (8 or 20 bytes) and returns its length.</summary>
    public int Encode(Span<byte> destination, bool xor, in TransactionId transactionId)
    {
        destination[0] = 0;
        destination[1] = IsIPv6 ? FamilyIPv6 : FamilyIPv4;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], xor ? (ushort)(Port ^ (MagicCookie >> 16)) : Port);
        if (IsIPv6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(destination[4..], xor ? Address ^ XorMask(transactionId) : Address);
            return 20;
        }
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], xor ? (uint)Address ^ MagicCookie : (uint)Address);
        return 8;
    }

    private static UInt128 XorMask(in TransactionId id) =>
        new(((ulong)MagicCookie << 32) | (id.High >> 32), (id.High << 32) | id.Low);
}
