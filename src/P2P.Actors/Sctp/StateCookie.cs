using System.Buffers.Binary;
using System.Security.Cryptography;

namespace P2P.Actors.Sctp;

/// <summary>What an INIT ACK's State Cookie remembers of the INIT it answered (RFC 9260 §5.1.3).</summary>
internal readonly record struct CookieContents(
    uint MyTag, uint PeerTag, uint MyInitialTsn, uint PeerInitialTsn, uint PeerReceiveWindow,
    bool PeerForwardTsn, bool PeerReconfig, long CreatedMs, int LifetimeMs);

/// <summary>Why a State Cookie was refused.</summary>
internal enum CookieError
{
    None,
    /// <summary>Wrong length or version.</summary>
    Malformed,
    /// <summary>The MAC does not match: not ours, or tampered with (RFC 9260 §5.1.5 step 2: discard).</summary>
    BadMac,
    /// <summary>Older than its lifetime (RFC 9260 §5.1.5 step 3: "Stale Cookie" error).</summary>
    Stale,
}

/// <summary>
/// The State Cookie of RFC 9260 §5.1.3: the INIT ACK sender keeps no state; everything it needs to
/// build the association when COOKIE ECHO comes back is in the cookie, with a creation time, a
/// lifetime and an HMAC-SHA256 under a secret key that never leaves the association.
/// Layout: version(1) reserved(3) myTag peerTag myTsn peerTsn peerRwnd (4 each) flags(4)
/// created-ms(8) lifetime-ms(4) then the 32-byte MAC over everything before it.
/// </summary>
internal static class StateCookie
{
    public const int BodyLength = 40;
    public const int Length = BodyLength + 32;
    private const byte Version = 1;

    public static byte[] Create(ReadOnlySpan<byte> key, in CookieContents c)
    {
        var cookie = new byte[Length];
        var b = cookie.AsSpan();
        b[0] = Version;
        BinaryPrimitives.WriteUInt32BigEndian(b[4..], c.MyTag);
        BinaryPrimitives.WriteUInt32BigEndian(b[8..], c.PeerTag);
        BinaryPrimitives.WriteUInt32BigEndian(b[12..], c.MyInitialTsn);
        BinaryPrimitives.WriteUInt32BigEndian(b[16..], c.PeerInitialTsn);
        BinaryPrimitives.WriteUInt32BigEndian(b[20..], c.PeerReceiveWindow);
        BinaryPrimitives.WriteUInt32BigEndian(b[24..], (c.PeerForwardTsn ? 1u : 0u) | (c.PeerReconfig ? 2u : 0u));
        BinaryPrimitives.WriteInt64BigEndian(b[28..], c.CreatedMs);
        BinaryPrimitives.WriteInt32BigEndian(b[36..], c.LifetimeMs);
        HMACSHA256.HashData(key, b[..BodyLength], b[BodyLength..]);
        return cookie;
    }

    public static CookieError TryOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> cookie, long nowMs, out CookieContents contents)
    {
        contents = default;
        if (cookie.Length != Length || cookie[0] != Version) return CookieError.Malformed;
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(key, cookie[..BodyLength], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, cookie[BodyLength..])) return CookieError.BadMac;
        uint flags = BinaryPrimitives.ReadUInt32BigEndian(cookie[24..]);
        contents = new CookieContents(
            BinaryPrimitives.ReadUInt32BigEndian(cookie[4..]), BinaryPrimitives.ReadUInt32BigEndian(cookie[8..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[12..]), BinaryPrimitives.ReadUInt32BigEndian(cookie[16..]),
            BinaryPrimitives.ReadUInt32BigEndian(cookie[20..]), (flags & 1) != 0, (flags & 2) != 0,
            BinaryPrimitives.ReadInt64BigEndian(cookie[28..]), BinaryPrimitives.ReadInt32BigEndian(cookie[36..]));
        return nowMs - contents.CreatedMs > contents.LifetimeMs ? CookieError.Stale : CookieError.None;
    }
}
