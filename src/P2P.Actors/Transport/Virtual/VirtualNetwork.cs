using System.Net;
using System.Net.Sockets;
using Akka.Actor;

namespace P2P.Actors.Transport.Virtual;

/// <summary>A host of a <see cref="VirtualNetwork"/>: on the internet when <paramref name="Nat"/> is null, else on that NAT's LAN.</summary>
public sealed record VirtualHost(string Name, IPAddress Address, string? Nat);

/// <summary>A NAT router of a <see cref="VirtualNetwork"/>: its external (public) address and behaviour.</summary>
public sealed record VirtualNat(string Name, IPAddress PublicAddress, NatBehavior Behavior);

/// <summary>
/// An in-memory network of hosts, NAT routers and an "internet" that carries UDP between
/// <see cref="VirtualUdpSocket"/>s: the test half of the transport seam (docs/ARCHITECTURE.md). Engine code that takes
/// an <see cref="IUdpSocketFactory"/> (or a socket actor) runs on it unchanged, with
/// <see cref="SocketsOf"/> in place of <see cref="RealUdpSockets"/>.
/// <para><b>Model.</b></para>
/// <list type="bullet">
/// <item><b>Public hosts</b> (<see cref="AddPublicHost"/>) sit on the internet, reachable at their address.</item>
/// <item><b>NATs</b> (<see cref="AddNat"/>) have one external address on the internet and a LAN behind it.
/// Their behaviour (<see cref="NatBehavior"/>) follows RFC 4787: mapping endpoint-independent, address-dependent or
/// address-and-port-dependent (§4.1, REQ-1); filtering the same three ways (§5, REQ-8); port preservation or not
/// (§4.2.1); a mapping timeout refreshed by outbound packets only (§4.3, REQ-5/REQ-6); hairpinning on or off
/// (§6, REQ-9). Presets: <see cref="NatBehavior.FullCone"/>, <see cref="NatBehavior.AddressRestrictedCone"/>,
/// <see cref="NatBehavior.PortRestrictedCone"/>, <see cref="NatBehavior.Symmetric"/>.</item>
/// <item><b>Private hosts</b> (<see cref="AddPrivateHost"/>) sit on one NAT's LAN. A packet to an address of the
/// same LAN goes there directly; anything else goes through the NAT, which maps it (source rewritten to the external
/// address and mapped port). On the internet a packet reaches a public host, or a NAT's external address, where
/// the mapping on that port and its filtering decide whether it is translated back to the private host. A packet
/// from inside to the NAT's own external address is hairpinned (delivered inside, from the sender's mapping) or
/// dropped. Private addresses are not routed on the internet, so LANs may reuse the same addresses, and two
/// private hosts behind different NATs reach each other only through mappings (hole punching).</item>
/// <item><b>Links.</b> Every host and every NAT has a link (the host's access link; the NAT's external link).
/// <see cref="SetLink"/> gives it <see cref="LinkConditions"/>: loss, delay and jitter, duplication, reordering, or
/// cut. A packet meets the conditions of every link it crosses, in either direction: a public host's own link,
/// then (between LANs) the NAT external links, then the receiving host's link.</item>
/// <item><b>Firewall.</b> <see cref="BlockUdp"/> drops all UDP in and out of a host, or across a NAT (its LAN
/// still talks inside): the "UDP blocked" case where only a TCP path would be left.</item>
/// <item><b>Time and determinism.</b> One <see cref="VirtualWire"/> actor carries every packet, so routing
/// depends only on its state and the order packets reach it. Delays are messages scheduled with the actor
/// scheduler and mapping ages are read from <see cref="IScheduler.Now"/>, so under TestKit's <c>TestScheduler</c>
/// a two-minute mapping timeout passes with one <c>Advance</c>. Random choices use generators seeded from
/// the network's seed and the link or NAT name. With no conditions set, a packet is routed the moment the wire
/// gets it.</item>
/// </list>
/// Only UDP is modelled (no TCP, no ICMP) and only IPv4 NATs; a socket reports the host's address as its local
/// endpoint even when bound to 0.0.0.0. Counters: <see cref="VirtualNetworkProtocol.GetStats"/>; live mappings:
/// <see cref="VirtualNetworkProtocol.GetMappings"/> (sent to <see cref="Wire"/>).
/// <para><b>Use.</b></para>
/// <code>
/// var net = new VirtualNetwork(Sys, seed: 7);
/// net.AddPublicHost("stun", IPAddress.Parse("198.51.100.1"));
/// net.AddNat("nat-a", IPAddress.Parse("203.0.113.1"), NatBehavior.PortRestrictedCone);
/// net.AddPrivateHost("alice", IPAddress.Parse("10.0.0.2"), "nat-a");
/// Sys.ActorOf(RelayServer.Props(settings, net.SocketsOf("stun")));
/// var socket = Sys.ActorOf(net.SocketsOf("alice").Create(new IPEndPoint(IPAddress.Any, 0), handler));
/// net.SetLink("nat-a", new LinkConditions { Loss = 0.1, Delay = TimeSpan.FromMilliseconds(30) });
/// </code>
/// The class is the builder a test holds; it is not thread-safe (build and change the topology from one thread).
/// Topology changes are messages to the wire, so they apply in the order made, before any packet sent afterwards.
/// </summary>
public sealed class VirtualNetwork
{
    private readonly Dictionary<string, VirtualHost> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, VirtualNat> _nats = new(StringComparer.Ordinal);
    private readonly HashSet<IPAddress> _internetAddresses = [];
    private readonly Dictionary<string, HashSet<IPAddress>> _lanAddresses = new(StringComparer.Ordinal);

    /// <param name="actors">Where the wire actor is created (an <see cref="ActorSystem"/>, or an actor's context).</param>
    /// <param name="seed">Seeds every random choice of the network.</param>
    /// <param name="name">Name of the wire actor.</param>
    public VirtualNetwork(IActorRefFactory actors, int seed = 4787, string name = "vnet")
    {
        ArgumentNullException.ThrowIfNull(actors);
        Seed = seed;
        Wire = actors.ActorOf(VirtualWire.Props(seed), name);
    }

    /// <summary>The actor that carries the packets; send it <see cref="VirtualNetworkProtocol.GetStats"/> or <see cref="VirtualNetworkProtocol.GetMappings"/>.</summary>
    public IActorRef Wire { get; }

    public int Seed { get; }

    public IReadOnlyCollection<VirtualHost> Hosts => _hosts.Values;

    public IReadOnlyCollection<VirtualNat> Nats => _nats.Values;

    /// <summary>A host on the internet, reachable by everyone at <paramref name="address"/>.</summary>
    public VirtualHost AddPublicHost(string name, IPAddress address)
    {
        CheckNewName(name);
        CheckIPv4(address);
        if (!_internetAddresses.Add(address)) throw new ArgumentException($"{address} is already used on the internet", nameof(address));
        var host = new VirtualHost(name, address, null);
        _hosts[name] = host;
        Wire.Tell(new VirtualNetworkProtocol.AddHost(name, address, null));
        return host;
    }

    /// <summary>A NAT router with external address <paramref name="publicAddress"/> and an empty LAN.</summary>
    public VirtualNat AddNat(string name, IPAddress publicAddress, NatBehavior behavior)
    {
        ArgumentNullException.ThrowIfNull(behavior);
        CheckNewName(name);
        CheckIPv4(publicAddress);
        if (behavior.Validate() is { } problem) throw new ArgumentException($"NAT {name}: {problem}", nameof(behavior));
        if (!_internetAddresses.Add(publicAddress)) throw new ArgumentException($"{publicAddress} is already used on the internet", nameof(publicAddress));
        var nat = new VirtualNat(name, publicAddress, behavior);
        _nats[name] = nat;
        _lanAddresses[name] = [];
        Wire.Tell(new VirtualNetworkProtocol.AddNat(name, publicAddress, behavior));
        return nat;
    }

    /// <summary>A host on the LAN of NAT <paramref name="natName"/> (addresses need only be unique within that LAN).</summary>
    public VirtualHost AddPrivateHost(string name, IPAddress address, string natName)
    {
        CheckNewName(name);
        CheckIPv4(address);
        if (!_nats.ContainsKey(natName)) throw new ArgumentException($"there is no NAT named {natName}", nameof(natName));
        if (!_lanAddresses[natName].Add(address)) throw new ArgumentException($"{address} is already used on the LAN of {natName}", nameof(address));
        var host = new VirtualHost(name, address, natName);
        _hosts[name] = host;
        Wire.Tell(new VirtualNetworkProtocol.AddHost(name, address, natName));
        return host;
    }

    /// <summary>The socket factory of a host: its sockets are <see cref="VirtualUdpSocket"/>s bound on that host.</summary>
    public IUdpSocketFactory SocketsOf(string hostName)
    {
        if (!_hosts.ContainsKey(hostName)) throw new ArgumentException($"there is no host named {hostName}", nameof(hostName));
        return new VirtualUdpSockets(Wire, hostName);
    }

    /// <summary>Sets the conditions of a host's link or a NAT's external link (replacing the previous ones).</summary>
    public void SetLink(string name, LinkConditions conditions)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        CheckKnown(name);
        if (conditions.Validate() is { } problem) throw new ArgumentException($"link {name}: {problem}", nameof(conditions));
        Wire.Tell(new VirtualNetworkProtocol.SetLink(name, conditions));
    }

    /// <summary>Cuts a link (every packet dropped) or restores it with no conditions.</summary>
    public void Cut(string name, bool cut = true) => SetLink(name, cut ? new LinkConditions { Cut = true } : LinkConditions.Perfect);

    /// <summary>A firewall that drops every UDP packet in or out of a host, or across a NAT (between its LAN and the internet).</summary>
    public void BlockUdp(string hostOrNat, bool blocked = true)
    {
        CheckKnown(hostOrNat);
        Wire.Tell(new VirtualNetworkProtocol.SetUdpBlocked(hostOrNat, blocked));
    }

    /// <summary>The counters (Ask: for tests and other edges, never from inside the engine).</summary>
    public Task<VirtualNetworkProtocol.Stats> GetStatsAsync(TimeSpan? timeout = null) =>
        Wire.Ask<VirtualNetworkProtocol.Stats>(VirtualNetworkProtocol.GetStats.Instance, timeout ?? TimeSpan.FromSeconds(5));

    /// <summary>The live mappings of a NAT (Ask: for tests and other edges).</summary>
    public Task<VirtualNetworkProtocol.Mappings> GetMappingsAsync(string natName, TimeSpan? timeout = null)
    {
        if (!_nats.ContainsKey(natName)) throw new ArgumentException($"there is no NAT named {natName}", nameof(natName));
        return Wire.Ask<VirtualNetworkProtocol.Mappings>(new VirtualNetworkProtocol.GetMappings(natName), timeout ?? TimeSpan.FromSeconds(5));
    }

    private void CheckNewName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (_hosts.ContainsKey(name) || _nats.ContainsKey(name)) throw new ArgumentException($"the name {name} is already taken", nameof(name));
    }

    private void CheckKnown(string name)
    {
        if (!_hosts.ContainsKey(name) && !_nats.ContainsKey(name)) throw new ArgumentException($"there is no host or NAT named {name}", nameof(name));
    }

    private static void CheckIPv4(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily != AddressFamily.InterNetwork || address.Equals(IPAddress.Any) || address.Equals(IPAddress.Broadcast) || IPAddress.IsLoopback(address))
            throw new ArgumentException($"{address} is not a usable IPv4 host address", nameof(address));
    }
}
