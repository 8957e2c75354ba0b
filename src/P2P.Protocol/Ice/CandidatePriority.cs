using System.Net;
using AddressFamily = System.Net.Sockets.AddressFamily;

namespace P2P.Protocol.Ice;

/// <summary>
/// Candidate priority (RFC 8445 §5.1.2.1): priority = 2^24 * type preference + 2^8 * local
/// preference + (256 - component id). Type preferences of UDP candidates are the RFC's recommended values; TCP
/// candidates (RFC 6544 §4.2) get lower ones, below every direct UDP candidate's, so that a TCP pair is used only when
/// no direct UDP pair works (UDP carries DTLS and SCTP without a second congestion control or head-of-line blocking).
/// A direct TCP pair still ranks above a relayed UDP one: it is a direct path, with no relay in the middle.
/// </summary>
public static class CandidatePriority
{
    public const int HostPreference = 126;
    public const int PeerReflexivePreference = 110;
    public const int ServerReflexivePreference = 100;
    public const int RelayedPreference = 0;

    /// <summary>TCP type preferences (RFC 6544 §4.2 lets the agent lower a transport's): all below <see cref="ServerReflexivePreference"/>.</summary>
    public const int TcpHostPreference = 90;
    public const int TcpPeerReflexivePreference = 85;
    public const int TcpServerReflexivePreference = 80;

    /// <summary>The highest local preference (RFC 8445 §5.1.2.1: 0..65535).</summary>
    public const int MaxLocalPreference = 65535;

    /// <summary>The recommended type preference of each candidate type (RFC 8445 §5.1.2.2).</summary>
    public static int TypePreference(CandidateType type) => type switch
    {
        CandidateType.Host => HostPreference,
        CandidateType.PeerReflexive => PeerReflexivePreference,
        CandidateType.ServerReflexive => ServerReflexivePreference,
        CandidateType.Relayed => RelayedPreference,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>The type preference of a candidate of <paramref name="type"/> over <paramref name="transport"/> (RFC 8445 §5.1.2.2, RFC 6544 §4.2).</summary>
    public static int TypePreference(CandidateType type, CandidateTransport transport) => transport == CandidateTransport.Udp ? TypePreference(type) : type switch
    {
        CandidateType.Host => TcpHostPreference,
        CandidateType.PeerReflexive => TcpPeerReflexivePreference,
        CandidateType.ServerReflexive => TcpServerReflexivePreference,
        CandidateType.Relayed => RelayedPreference,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>
    /// (2^24) * type preference + (2^8) * local preference + (256 - component). Arguments outside
    /// their ranges (local preference 0..65535, component 1..256) are programming errors and throw.
    /// </summary>
    public static uint Compute(CandidateType type, int localPreference, int component) =>
        Compute(type, localPreference, component, CandidateTransport.Udp);

    /// <summary><see cref="Compute(CandidateType, int, int)"/> with the type preference of <paramref name="transport"/>.</summary>
    public static uint Compute(CandidateType type, int localPreference, int component, CandidateTransport transport)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(localPreference);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(localPreference, MaxLocalPreference);
        ArgumentOutOfRangeException.ThrowIfLessThan(component, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(component, IceCandidate.MaxComponent);
        return ((uint)TypePreference(type, transport) << 24) + ((uint)localPreference << 8) + (uint)(256 - component);
    }

    /// <summary>
    /// Priority of the peer-reflexive candidate a check could discover, sent in its PRIORITY
    /// attribute (RFC 8445 §7.1.1): the same formula with the peer-reflexive type preference.
    /// </summary>
    public static uint ComputePeerReflexive(int localPreference, int component, CandidateTransport transport = CandidateTransport.Udp) =>
        Compute(CandidateType.PeerReflexive, localPreference, component, transport);

    /// <summary>The local preference a priority was computed with (its middle 16 bits, RFC 8445 §5.1.2.1).</summary>
    public static int LocalPreferenceOf(uint priority) => (int)((priority >> 8) & 0xFFFF);

    /// <summary>
    /// A local preference for a UDP candidate (RFC 8445 §5.1.2.1 leaves the choice to the agent).
    /// This one is simple: the top two bits rank the address kind, the low 14 bits prefer lower
    /// interface indexes (index 0 gets 16383, index 16383 and above get 0), so every
    /// (address kind, interface) pair gets its own value, as the RFC asks of multihomed hosts.
    /// Address kinds, best first, following RFC 8421's preference of IPv6 over IPv4 without its
    /// interleaving: 3 = IPv6 not link-local, 2 = IPv4 not link-local, 1 = IPv6 link-local,
    /// 0 = IPv4 link-local (169.254/16). An IPv4-mapped IPv6 address counts as IPv4.
    /// </summary>
    public static int LocalPreference(IPAddress address, int interfaceIndex) =>
        (AddressKind(address) << 14) | (16383 - Math.Clamp(interfaceIndex, 0, 16383));

    /// <summary>
    /// A local preference for a TCP candidate (RFC 6544 §4.2): 2^13 * direction preference + other
    /// preference. Direction preferences are the RFC's: for a candidate not behind a NAT (host,
    /// relayed) active 6, passive 4, simultaneous-open 2; behind a NAT (server- or peer-reflexive,
    /// <paramref name="natted"/>) simultaneous-open 6, active 4, passive 2. The other preference
    /// (0..8191) ranks address kind and interface as <see cref="LocalPreference(IPAddress, int)"/>
    /// does, with 11 bits for the interface.
    /// </summary>
    public static int LocalPreference(IPAddress address, int interfaceIndex, TcpCandidateType tcpType, bool natted)
    {
        int direction = (tcpType, natted) switch
        {
            (TcpCandidateType.Active, false) => 6,
            (TcpCandidateType.Passive, false) => 4,
            (TcpCandidateType.SimultaneousOpen, false) => 2,
            (TcpCandidateType.SimultaneousOpen, true) => 6,
            (TcpCandidateType.Active, true) => 4,
            (TcpCandidateType.Passive, true) => 2,
            _ => 0,
        };
        int other = (AddressKind(address) << 11) | (2047 - Math.Clamp(interfaceIndex, 0, 2047));
        return (direction << 13) | other;
    }

    private static int AddressKind(IPAddress address)
    {
        bool linkLocal = IceGrammar.IsLinkLocal(address);
        bool v6 = IceGrammar.FamilyOf(address) == AddressFamily.InterNetworkV6;
        return (v6, linkLocal) switch
        {
            (true, false) => 3,
            (false, false) => 2,
            (true, true) => 1,
            (false, true) => 0,
        };
    }
}
