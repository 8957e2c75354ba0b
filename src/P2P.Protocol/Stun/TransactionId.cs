using System.Buffers.Binary;
using System.Security.Cryptography;

namespace P2P.Protocol.Stun;

/// <summary>The 96-bit STUN transaction id (RFC 8489 §5), held in two fields so that it compares and hashes without allocating.</summary>
public readonly record struct TransactionId(ulong High, uint Low)
{
    public const int Size = 12;

    public static TransactionId NewRandom()
    {
        Span<byte> bytes = stackalloc byte[Size];
        RandomNumberGenerator.Fill(bytes);
        return Read(bytes);
    }

    public static TransactionId Read(ReadOnlySpan<byte> twelveBytes) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(twelveBytes), BinaryPrimitives.ReadUInt32BigEndian(twelveBytes[8..]));

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Low);
    }

    public override string ToString() => $"{High:x16}{Low:x8}";
}
