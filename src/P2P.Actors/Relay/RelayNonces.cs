using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using P2P.Protocol.Stun;

namespace P2P.Actors.Relay;

/// <summary>What a received NONCE is worth (RFC 8489 §9.2.4).</summary>
public enum NonceCheck
{
    Valid,
    /// <summary>Ours but older than the nonce lifetime: 438 Stale Nonce.</summary>
    Stale,
    /// <summary>Not one we issued (or issued to another 5-tuple): also answered with 438 and a fresh nonce.</summary>
    Invalid,
}

/// <summary>
/// Stateless nonces (RFC 8489 §9.2): the nonce cookie "obMatJos2" with the PASSWORD-ALGORITHMS and
/// USERHASH feature bits, then the issue time and an HMAC-SHA256 (truncated to 12 bytes) over that time
/// and the client's 5-tuple (transport, client address and port, server address and port), keyed with a
/// secret drawn at start. The server keeps no nonce table: a nonce is valid when its MAC checks and it is
/// younger than the lifetime. Binding it to the 5-tuple, as coturn does, makes a captured request useless
/// from any other port: replayed there it gets 438 and cannot take the user's allocations (RFC 8489 §9.2.2
/// leaves what a nonce covers to the server; §9.2.4 answers an invalid one with 438). The clock is passed in.
/// </summary>
public sealed class RelayNonces : IDisposable
{
    public const SecurityFeatures Features = SecurityFeatures.PasswordAlgorithms | SecurityFeatures.UsernameAnonymity;
    private const int MacLength = 12;

    private readonly IncrementalHash _hmac;
    private readonly TimeSpan _lifetime;

    public RelayNonces(TimeSpan lifetime, ReadOnlySpan<byte> secret = default)
    {
        _lifetime = lifetime;
        Span<byte> key = stackalloc byte[32];
        if (secret.IsEmpty) RandomNumberGenerator.Fill(key); else secret.CopyTo(key);
        _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
    }

    public string Create(DateTimeOffset now, FiveTuple client)
    {
        Span<byte> token = stackalloc byte[8 + MacLength];
        BinaryPrimitives.WriteInt64BigEndian(token, now.ToUnixTimeMilliseconds());
        Mac(token[..8], client, token[8..]);
        return NonceCookie.Create(Features, Convert.ToBase64String(token));
    }

    public NonceCheck Check(string nonce, DateTimeOffset now, FiveTuple client)
    {
        if (!NonceCookie.TryParse(nonce, out _) || nonce.Length != NonceCookie.Length + 28) return NonceCheck.Invalid;
        Span<byte> token = stackalloc byte[8 + MacLength];
        if (!Convert.TryFromBase64String(nonce[NonceCookie.Length..], token, out int written) || written != token.Length) return NonceCheck.Invalid;
        Span<byte> mac = stackalloc byte[MacLength];
        Mac(token[..8], client, mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, token[8..])) return NonceCheck.Invalid;
        var issued = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(token));
        var age = now - issued;
        return age < TimeSpan.Zero - TimeSpan.FromSeconds(5) || age > _lifetime ? NonceCheck.Stale : NonceCheck.Valid;
    }

    private void Mac(ReadOnlySpan<byte> time, FiveTuple tuple, Span<byte> destination)
    {
        // transport, then each end as its length-prefixed address and its port
        Span<byte> input = stackalloc byte[1 + 2 * (1 + 16 + 2)];
        input[0] = (byte)tuple.Transport;
        int at = 1;
        foreach (var end in (ReadOnlySpan<IPEndPoint>)[tuple.Client, tuple.Server])
        {
            var address = end.Address.IsIPv4MappedToIPv6 ? end.Address.MapToIPv4() : end.Address;
            address.TryWriteBytes(input[(at + 1)..], out int length);
            input[at] = (byte)length;
            at += 1 + length;
            BinaryPrimitives.WriteUInt16BigEndian(input[at..], (ushort)end.Port);
            at += 2;
        }
        Span<byte> full = stackalloc byte[32];
        _hmac.AppendData(time);
        _hmac.AppendData(input[..at]);
        _hmac.GetHashAndReset(full);
        full[..destination.Length].CopyTo(destination);
    }

    public void Dispose() => _hmac.Dispose();
}
