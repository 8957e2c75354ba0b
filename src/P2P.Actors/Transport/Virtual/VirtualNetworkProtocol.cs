using System.Net;

namespace P2P.Actors.Transport.Virtual;

/// <summary>
/// Messages of the <see cref="VirtualWire"/> actor behind a <see cref="VirtualNetwork"/>. The public ones are
/// queries a test (or any edge) may send to <see cref="VirtualNetwork.Wire"/>; the internal ones are the
/// topology commands the <see cref="VirtualNetwork"/> front sends and the traffic of <see cref="VirtualUdpSocket"/>s.
/// </summary>
public static class VirtualNetworkProtocol
{
    /// <summary>Ask for the counters; answered with <see cref="Stats"/>.</summary>
    public sealed record GetStats
    {
        public static readonly GetStats Instance = new();
    }

    /// <summary>Counters of the whole network since it was made.</summary>
    /// <param name="Sent">Datagrams handed to the network by sockets.</param>
    /// <param name="Delivered">Datagrams handed to a socket (a duplicated datagram counts twice).</param>
    /// <param name="DroppedByLoss">Lost on a link with <see cref="LinkConditions.Loss"/>.</param>
    /// <param name="DroppedByCut">Dropped on a link with <see cref="LinkConditions.Cut"/>.</param>
    /// <param name="DroppedByFirewall">Dropped because UDP is blocked for the host or the NAT's LAN (<see cref="VirtualNetwork.BlockUdp"/>).</param>
    /// <param name="DroppedByFilter">Reached a NAT mapping whose filtering (RFC 4787 §5) refused the sender.</param>
    /// <param name="DroppedNoMapping">Reached a NAT's external address on a port no (live) mapping holds.</param>
    /// <param name="DroppedNoHairpin">Sent from inside a NAT to its own external address while hairpinning is off.</param>
    /// <param name="NoRoute">Addressed to no host or NAT on the internet (for example a private address of another LAN).</param>
    /// <param name="NoSocket">Reached a host on a port no socket is bound to.</param>
    /// <param name="Duplicated">Extra copies made by <see cref="LinkConditions.Duplication"/>.</param>
    /// <param name="Reordered">Packets held back by <see cref="LinkConditions.Reordering"/>.</param>
    /// <param name="MappingsCreated">NAT mappings created (RFC 4787 §4.1).</param>
    /// <param name="MappingsExpired">NAT mappings removed after their timeout (RFC 4787 §4.3).</param>
    public sealed record Stats(
        long Sent, long Delivered, long DroppedByLoss, long DroppedByCut, long DroppedByFirewall, long DroppedByFilter,
        long DroppedNoMapping, long DroppedNoHairpin, long NoRoute, long NoSocket, long Duplicated, long Reordered,
        long MappingsCreated, long MappingsExpired);

    /// <summary>Ask for the live mappings of one NAT; answered with <see cref="Mappings"/>.</summary>
    public sealed record GetMappings(string Nat);

    /// <summary>One NAT mapping: the internal endpoint, its external endpoint, and (for address- or
    /// address-and-port-dependent mapping) the destination it was made for.</summary>
    public sealed record MappingInfo(IPEndPoint Internal, IPEndPoint External, string? Destination, TimeSpan Idle);

    public sealed record Mappings(string Nat, IReadOnlyList<MappingInfo> Entries);

    // ---- topology, from the VirtualNetwork front ------------------------------------------------

    internal sealed record AddHost(string Name, IPAddress Address, string? Nat);

    internal sealed record AddNat(string Name, IPAddress PublicAddress, NatBehavior Behavior);

    internal sealed record SetLink(string Name, LinkConditions Conditions);

    internal sealed record SetUdpBlocked(string Name, bool Blocked);

    // ---- sockets ---------------------------------------------------------------------------------

    /// <summary>A socket asks for a port on its host; answered with <see cref="UdpSocketProtocol.Bound"/> or <see cref="UdpSocketProtocol.BindFailed"/>.</summary>
    internal sealed record Bind(string Host, IPEndPoint Requested);

    /// <summary>A socket releases its port (it is stopping).</summary>
    internal sealed record Unbind(string Host, int Port);

    /// <summary>A datagram from a socket; the payload is the network's own copy.</summary>
    internal sealed record Transmit(string Host, IPEndPoint From, IPEndPoint To, byte[] Payload);

    /// <summary>A datagram for a socket; the payload is the socket's own copy.</summary>
    internal sealed record Deliver(IPEndPoint From, byte[] Payload);
}
