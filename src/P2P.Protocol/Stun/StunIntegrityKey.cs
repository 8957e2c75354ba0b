using System.Buffers.Binary;
using System.Security.Cryptography;

namespace P2P.Protocol.Stun;

/// <summary>
/// The key of a STUN credential with its keyed HMAC contexts (RFC 8489 §14.5, §14.6).
/// Setting an HMAC key up costs more than hashing a whole STUN message, so one instance lives per
/// credential (per ICE session, per TURN allocation) and is reused for every packet.
/// Not thread-safe: one owner (an actor) at a time.
/// </summary>
public sealed class StunIntegrityKey : IDisposable
{
    public const int Sha1Length = 20;
    public const int Sha256Length = 32;

    private readonly byte[] _key;
    private IncrementalHash? _sha1;
    private IncrementalHash? _sha256;

    public StunIntegrityKey(ReadOnlySpan<byte> key) => _key = key.ToArray();

    public ReadOnlySpan<byte> Key => _key;

    /// <summary>HMAC-SHA1 of <paramref name="prefix"/> (header + attributes before the integrity attribute) with the header length field replaced by <paramref name="lengthField"/>.</summary>
    public void ComputeSha1(ReadOnlySpan<byte> prefix, ushort lengthField, Span<byte> destination20)
    {
        _sha1 ??= IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, _key);
        Append(_sha1, prefix, lengthField);
        _sha1.GetHashAndReset(destination20);
    }

    /// <summary>HMAC-SHA256 of the same input as <see cref="ComputeSha1"/>, written to a 32-byte destination.</summary>
    public void ComputeSha256(ReadOnlySpan<byte> prefix, ushort lengthField, Span<byte> destination32)
    {
        _sha256 ??= IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        Append(_sha256, prefix, lengthField);
        _sha256.GetHashAndReset(destination32);
    }

    private static void Append(IncrementalHash hmac, ReadOnlySpan<byte> prefix, ushort lengthField)
    {
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, lengthField);
        hmac.AppendData(prefix[..2]);
        hmac.AppendData(length);
        hmac.AppendData(prefix[4..]);
    }

    public void Dispose()
    {
        _sha1?.Dispose();
        _sha256?.Dispose();
    }
}
