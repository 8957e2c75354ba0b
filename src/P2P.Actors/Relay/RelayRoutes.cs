using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace P2P.Actors.Relay;

/// <summary>
/// One allocation's permissions (RFC 8656 §9) and channel bindings (§12) as the data path reads them: an immutable
/// snapshot that the <see cref="Allocation"/> actor builds and publishes on every change, read lock-free by the
/// receiving threads. Each entry carries its expiry as an <see cref="Environment.TickCount64"/> value, so a
/// permission or channel is refused from the moment it expires, whether or not the actor's timer has run yet.
/// Peers are looked up by the kernel's socket address bytes, so that nothing is allocated per packet.
/// </summary>
internal sealed class RelayRoutes
{
    public static readonly RelayRoutes None = new([], [], []);

    private readonly Dictionary<UInt128, long> _permissions;
    private readonly Dictionary<ushort, (SocketAddress Peer, long ExpiresAt)> _byChannel;
    private readonly Dictionary<SocketAddress, (ushort Channel, long ExpiresAt)> _byPeer;

    private RelayRoutes(
        Dictionary<UInt128, long> permissions,
        Dictionary<ushort, (SocketAddress, long)> byChannel,
        Dictionary<SocketAddress, (ushort, long)> byPeer)
    {
        _permissions = permissions;
        _byChannel = byChannel;
        _byPeer = byPeer;
    }

    /// <param name="permissions">Peer IP address → expiry (<see cref="Environment.TickCount64"/>).</param>
    /// <param name="channels">Channel number → peer and expiry.</param>
    public static RelayRoutes Build(IEnumerable<KeyValuePair<IPAddress, long>> permissions, IEnumerable<(ushort Channel, IPEndPoint Peer, long ExpiresAt)> channels)
    {
        var byIp = new Dictionary<UInt128, long>();
        foreach (var (ip, expiresAt) in permissions) byIp[KeyOf(ip)] = expiresAt;
        var byChannel = new Dictionary<ushort, (SocketAddress, long)>();
        var byPeer = new Dictionary<SocketAddress, (ushort, long)>();
        foreach (var (channel, peer, expiresAt) in channels)
        {
            var address = peer.Serialize();
            byChannel[channel] = (address, expiresAt);
            byPeer[address] = (channel, expiresAt);
        }
        return new RelayRoutes(byIp, byChannel, byPeer);
    }

    /// <summary>The peer a client's ChannelData goes to (§12.5): the channel must be bound and not expired.</summary>
    public bool TryGetPeer(ushort channel, long now, out SocketAddress peer)
    {
        if (_byChannel.TryGetValue(channel, out var route) && route.ExpiresAt - now > 0)
        {
            peer = route.Peer;
            return true;
        }
        peer = null!;
        return false;
    }

    /// <summary>True when a datagram from <paramref name="from"/> may reach the client (§9): its IP has a live permission.</summary>
    public bool IsPermitted(SocketAddress from, long now) =>
        TryKeyOf(from, out var key) && _permissions.TryGetValue(key, out long expiresAt) && expiresAt - now > 0;

    /// <summary>The live channel bound to the peer at <paramref name="from"/> (§12.6), if any.</summary>
    public bool TryGetChannel(SocketAddress from, long now, out ushort channel)
    {
        if (_byPeer.TryGetValue(from, out var route) && route.ExpiresAt - now > 0)
        {
            channel = route.Channel;
            return true;
        }
        channel = 0;
        return false;
    }

    /// <summary>An IP address as a 128-bit key, IPv4 as its IPv4-mapped IPv6 form.</summary>
    private static UInt128 KeyOf(IPAddress ip)
    {
        Span<byte> bytes = stackalloc byte[16];
        ip.MapToIPv6().TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    /// <summary>
    /// The same key read from a socket address's bytes (the platform's sockaddr_in / sockaddr_in6: the IPv4 address
    /// at offset 4, the IPv6 address at offset 8).
    /// </summary>
    private static bool TryKeyOf(SocketAddress address, out UInt128 key)
    {
        var bytes = address.Buffer.Span;
        switch (address.Family)
        {
            case AddressFamily.InterNetwork when address.Size >= 8:
                key = ((UInt128)0xFFFF << 32) | BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]);
                return true;
            case AddressFamily.InterNetworkV6 when address.Size >= 24:
                key = BinaryPrimitives.ReadUInt128BigEndian(bytes[8..]);
                return true;
            default:
                key = default;
                return false;
        }
    }
}
