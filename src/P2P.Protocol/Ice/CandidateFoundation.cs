using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace P2P.Protocol.Ice;

/// <summary>
/// Candidate foundations (RFC 8445 §5.1.1.3): two candidates share a foundation exactly when they
/// have the same type, the same base IP address, the same STUN/TURN server IP address and the
/// same transport. The foundation is derived from those four values (a hash, rendered in
/// ice-chars), so it is deterministic across restarts and needs no counter or shared table.
/// </summary>
public static class CandidateFoundation
{
    /// <summary>Length of a computed foundation: 8 ice-chars, 48 bits of hash (the RFC allows 1..32).</summary>
    public const int Length = 8;

    /// <summary>
    /// The foundation for a candidate of <paramref name="type"/> whose base has
    /// <paramref name="baseAddress"/> (for a relayed candidate, pass the relayed address: it is its
    /// own base), learned from <paramref name="server"/> (null for host and peer-reflexive
    /// candidates; only the server's IP counts, not its port).
    /// </summary>
    public static string Compute(CandidateType type, IPAddress baseAddress, IPEndPoint? server, CandidateTransport transport)
    {
        string key = string.Join('|',
            type.ToSdp(),
            IceGrammar.Normalize(baseAddress).ToString(),
            server is null ? "-" : IceGrammar.Normalize(server.Address).ToString(),
            transport.ToSdp());
        return Hash(key);
    }

    /// <summary>
    /// The foundation of a relayed candidate from the TURN server <paramref name="server"/>: as <see cref="Compute"/>, but
    /// the server's port counts too. Two TURN servers on one IP address (the nodes of a relay fleet on one machine) live
    /// and die apart: with one foundation, a pair through a dead one would hold the other's pairs Frozen (RFC 8445
    /// §6.1.2.6) until its check ran out of retransmissions (~20 s), longer than an ICE restart has to find a pair.
    /// Servers on different IP addresses get different foundations either way.
    /// </summary>
    public static string ComputeRelayed(IPAddress relayedAddress, IPEndPoint server, CandidateTransport transport) =>
        Hash(string.Join('|', CandidateType.Relayed.ToSdp(), IceGrammar.Normalize(relayedAddress).ToString(),
            IceGrammar.Normalize(server.Address).ToString(), server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), transport.ToSdp()));

    /// <summary>
    /// A foundation for a peer-reflexive remote candidate learned from an incoming check
    /// (RFC 8445 §7.3.1.3 only asks that it differ from the other remote foundations): derived from
    /// its whole transport address, so it cannot equal a foundation made by <see cref="Compute"/>
    /// for another candidate.
    /// </summary>
    public static string ComputePeerReflexiveRemote(IPEndPoint source, CandidateTransport transport) =>
        Hash($"prflx-remote|{IceGrammar.Normalize(source.Address)}|{source.Port}|{transport.ToSdp()}");

    private static string Hash(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        // 6 bytes -> 8 base64 characters, no padding; base64's alphabet is exactly the ice-chars.
        return Convert.ToBase64String(hash[..6]);
    }
}
