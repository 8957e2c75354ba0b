using System.Net;
using Akka.Actor;
using Akka.Event;
using static P2P.Actors.Transport.Virtual.VirtualNetworkProtocol;

namespace P2P.Actors.Transport.Virtual;

/// <summary>
/// The one actor that carries every packet of a <see cref="VirtualNetwork"/>: it owns the topology (hosts, NATs,
/// links), the bound ports of every host, the NAT mapping tables and the counters, so routing is a plain
/// function of its state and of the order in which it receives packets. A packet is processed hop by hop; a hop
/// behind a link with a delay is a single timer of the wire (the actor scheduler: virtual time
/// under TestKit's <c>TestScheduler</c>), and mapping ages are read from <see cref="IScheduler.Now"/>.
/// Built and driven by <see cref="VirtualNetwork"/>; see there for the model.
/// </summary>
public sealed class VirtualWire : ReceiveActor, IWithTimers
{
    private const int FirstEphemeralPort = 49152;
    private const int FirstNatPort = 1024;

    private sealed record Packet(IPEndPoint From, IPEndPoint To, byte[] Payload);

    private enum Step
    {
        /// <summary>Arrived at a NAT from its LAN.</summary>
        NatOutbound,
        /// <summary>Arrived on the internet, to be routed by destination address.</summary>
        Internet,
        /// <summary>Arrived at a NAT's external address from the internet.</summary>
        NatInbound,
        /// <summary>About to cross a host's link towards the host.</summary>
        HostLink,
        /// <summary>Arrived at a host: handed to the socket bound to the destination port.</summary>
        Host,
    }

    /// <summary>Where a packet is; also the message a delayed hop is scheduled as.</summary>
    private sealed record Hop(Step Step, string Node, Packet Packet);

    /// <summary>A reordered packet waited long enough for a successor.</summary>
    private sealed record ReleaseHeld(string Link, long Version);

    private sealed class Link(string name, Random random)
    {
        public string Name { get; } = name;
        public Random Random { get; } = random;
        public LinkConditions Conditions { get; set; } = LinkConditions.Perfect;
        public (Hop Hop, int Copies, TimeSpan Delay, long Version)? Held { get; set; }
        public long HeldVersion { get; set; }
    }

    private sealed class Host(string name, IPAddress address, Nat? nat, Link link)
    {
        public string Name { get; } = name;
        public IPAddress Address { get; } = address;
        public Nat? Nat { get; } = nat;
        public Link Link { get; } = link;
        public bool UdpBlocked { get; set; }
        public Dictionary<int, IActorRef> Sockets { get; } = [];
        public int NextEphemeral { get; set; } = FirstEphemeralPort;
    }

    private readonly record struct MappingKey(IPEndPoint Internal, IPAddress? DestinationAddress, int DestinationPort);

    private sealed class Mapping(MappingKey key, int externalPort, DateTimeOffset now)
    {
        public MappingKey Key { get; } = key;
        public int ExternalPort { get; } = externalPort;
        public DateTimeOffset LastOutbound { get; set; } = now;
        public HashSet<IPEndPoint> ContactedEndpoints { get; } = [];
        public HashSet<IPAddress> ContactedAddresses { get; } = [];
    }

    private sealed class Nat(string name, IPAddress publicAddress, NatBehavior behavior, Link link, int firstPort, Random ports)
    {
        public Random Ports { get; } = ports;
        public string Name { get; } = name;
        public IPAddress PublicAddress { get; } = publicAddress;
        public NatBehavior Behavior { get; } = behavior;
        public Link Link { get; } = link;
        public bool UdpBlocked { get; set; }
        public Dictionary<IPAddress, Host> Lan { get; } = [];
        public Dictionary<MappingKey, Mapping> Mappings { get; } = [];
        public Dictionary<int, Mapping> ByExternalPort { get; } = [];
        public int NextPort { get; set; } = firstPort;
    }

    private readonly int _seed;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Host> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Nat> _nats = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Link> _links = new(StringComparer.Ordinal);
    private readonly Dictionary<IPAddress, Host> _publicHosts = [];
    private readonly Dictionary<IPAddress, Nat> _natsByAddress = [];
    private long _timerKeys;
    private long _sent, _delivered, _lost, _cut, _firewall, _filtered, _noMapping, _noHairpin, _noRoute, _noSocket, _duplicated, _reordered, _mappingsCreated, _mappingsExpired;

    public ITimerScheduler Timers { get; set; } = null!;

    public VirtualWire(int seed)
    {
        _seed = seed;
        Receive<Transmit>(OnTransmit);
        Receive<Hop>(Process);
        Receive<ReleaseHeld>(OnReleaseHeld);
        Receive<Bind>(OnBind);
        Receive<Unbind>(u =>
        {
            if (_hosts.TryGetValue(u.Host, out var host) && host.Sockets.Remove(u.Port, out var socket)) Context.Unwatch(socket);
        });
        Receive<Terminated>(t =>
        {
            foreach (var host in _hosts.Values)
                foreach (var port in host.Sockets.Where(kv => kv.Value.Equals(t.ActorRef)).Select(kv => kv.Key).ToList())
                    host.Sockets.Remove(port);
        });
        Receive<AddHost>(OnAddHost);
        Receive<AddNat>(OnAddNat);
        Receive<SetLink>(s => _links[s.Name].Conditions = s.Conditions);
        Receive<SetUdpBlocked>(s =>
        {
            if (_hosts.TryGetValue(s.Name, out var host)) host.UdpBlocked = s.Blocked;
            else _nats[s.Name].UdpBlocked = s.Blocked;
        });
        Receive<GetStats>(_ => Sender.Tell(new Stats(_sent, _delivered, _lost, _cut, _firewall, _filtered, _noMapping, _noHairpin,
            _noRoute, _noSocket, _duplicated, _reordered, _mappingsCreated, _mappingsExpired)));
        Receive<GetMappings>(OnGetMappings);
    }

    /// <param name="seed">Seeds every random choice (link loss, delay jitter, duplication, reordering, NAT port choice).</param>
    public static Props Props(int seed) => Akka.Actor.Props.Create(() => new VirtualWire(seed));

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    /// <summary>A stable per-name seed (string.GetHashCode differs between processes).</summary>
    private int SeedFor(string name)
    {
        uint hash = 2166136261;
        foreach (char c in name) hash = (hash ^ c) * 16777619;
        return (int)(hash ^ (uint)_seed);
    }

    private Link NewLink(string name)
    {
        var link = new Link(name, new Random(SeedFor(name)));
        _links[name] = link;
        return link;
    }

    // ------------------------------------------------------------------ topology

    private void OnAddHost(AddHost add)
    {
        Nat? nat = add.Nat is null ? null : _nats[add.Nat];
        var host = new Host(add.Name, add.Address, nat, NewLink(add.Name));
        _hosts[add.Name] = host;
        if (nat is null) _publicHosts[add.Address] = host;
        else nat.Lan[add.Address] = host;
    }

    private void OnAddNat(AddNat add)
    {
        var link = NewLink(add.Name);
        // Where a NAT without port preservation starts handing out ports: drawn from the seed, then sequential (or
        // every port drawn from the same generator, for random allocation)
        var ports = new Random(SeedFor("ports:" + add.Name));
        int first = FirstNatPort + ports.Next(65536 - FirstNatPort);
        var nat = new Nat(add.Name, add.PublicAddress, add.Behavior, link, first, ports);
        _nats[add.Name] = nat;
        _natsByAddress[add.PublicAddress] = nat;
    }

    private void OnGetMappings(GetMappings get)
    {
        var nat = _nats[get.Nat];
        var now = Now;
        Purge(nat, now);
        Sender.Tell(new Mappings(nat.Name, nat.Mappings.Values
            .OrderBy(m => m.ExternalPort)
            .Select(m => new MappingInfo(m.Key.Internal, new IPEndPoint(nat.PublicAddress, m.ExternalPort), Describe(m.Key), now - m.LastOutbound))
            .ToList()));
    }

    private static string? Describe(MappingKey key) => key.DestinationAddress is null ? null
        : key.DestinationPort == 0 ? key.DestinationAddress.ToString() : new IPEndPoint(key.DestinationAddress, key.DestinationPort).ToString();

    // ------------------------------------------------------------------ sockets

    private void OnBind(Bind bind)
    {
        var host = _hosts[bind.Host];
        var address = bind.Requested.Address;
        if (!address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) && !address.Equals(host.Address))
        {
            Sender.Tell(new UdpSocketProtocol.BindFailed(bind.Requested, $"cannot bind UDP {bind.Requested}: {address} is not an address of host {host.Name} ({host.Address})"));
            return;
        }
        int port = bind.Requested.Port;
        if (port == 0 && !TryPickEphemeral(host, out port))
        {
            Sender.Tell(new UdpSocketProtocol.BindFailed(bind.Requested, $"no free UDP port on host {host.Name}"));
            return;
        }
        if (host.Sockets.ContainsKey(port))
        {
            Sender.Tell(new UdpSocketProtocol.BindFailed(bind.Requested, $"UDP port {port} on {host.Address} is already in use"));
            return;
        }
        host.Sockets[port] = Sender;
        Context.Watch(Sender);
        Sender.Tell(new UdpSocketProtocol.Bound(new IPEndPoint(host.Address, port)));
    }

    private static bool TryPickEphemeral(Host host, out int port)
    {
        const int count = 65536 - FirstEphemeralPort;
        for (int i = 0; i < count; i++)
        {
            int candidate = host.NextEphemeral;
            host.NextEphemeral = candidate == 65535 ? FirstEphemeralPort : candidate + 1;
            if (host.Sockets.ContainsKey(candidate)) continue;
            port = candidate;
            return true;
        }
        port = 0;
        return false;
    }

    // ------------------------------------------------------------------ routing

    private void OnTransmit(Transmit transmit)
    {
        _sent++;
        var host = _hosts[transmit.Host];
        var packet = new Packet(transmit.From, transmit.To, transmit.Payload);
        var to = transmit.To.Address;
        if (to.Equals(host.Address) || to.Equals(IPAddress.Loopback))
        {
            // To itself: never leaves the host.
            Process(new Hop(Step.Host, host.Name, packet with { To = new IPEndPoint(host.Address, transmit.To.Port) }));
            return;
        }
        if (host.UdpBlocked)
        {
            _firewall++;
            return;
        }
        if (host.Nat is { } nat)
        {
            if (nat.Lan.TryGetValue(to, out var neighbour))
            {
                Cross(host.Link, new Hop(Step.HostLink, neighbour.Name, packet)); // same LAN: no NAT on the way
                return;
            }
            if (nat.UdpBlocked)
            {
                _firewall++;
                return;
            }
            Cross(host.Link, new Hop(Step.NatOutbound, nat.Name, packet));
            return;
        }
        Cross(host.Link, new Hop(Step.Internet, string.Empty, packet));
    }

    private void Process(Hop hop)
    {
        switch (hop.Step)
        {
            case Step.NatOutbound: NatOutbound(_nats[hop.Node], hop.Packet); break;
            case Step.Internet: Internet(hop.Packet); break;
            case Step.NatInbound: NatInbound(_nats[hop.Node], hop.Packet); break;
            case Step.HostLink: HostLink(_hosts[hop.Node], hop.Packet); break;
            case Step.Host: DeliverTo(_hosts[hop.Node], hop.Packet); break;
        }
    }

    /// <summary>RFC 4787 §4: the source becomes the external mapping; a packet to the NAT's own address is hairpinned (§6).</summary>
    private void NatOutbound(Nat nat, Packet packet)
    {
        var now = Now;
        Purge(nat, now);
        var mapping = MapOutbound(nat, packet.From, packet.To, now);
        var translated = packet with { From = new IPEndPoint(nat.PublicAddress, mapping.ExternalPort) };
        if (packet.To.Address.Equals(nat.PublicAddress))
        {
            if (!nat.Behavior.Hairpinning)
            {
                _noHairpin++;
                return;
            }
            NatInbound(nat, translated); // REQ-9: back inside, from the sender's external mapping
            return;
        }
        Cross(nat.Link, new Hop(Step.Internet, string.Empty, translated));
    }

    private Mapping MapOutbound(Nat nat, IPEndPoint inside, IPEndPoint destination, DateTimeOffset now)
    {
        var key = nat.Behavior.Mapping switch
        {
            NatMapping.EndpointIndependent => new MappingKey(inside, null, 0),
            NatMapping.AddressDependent => new MappingKey(inside, destination.Address, 0),
            _ => new MappingKey(inside, destination.Address, destination.Port),
        };
        if (!nat.Mappings.TryGetValue(key, out var mapping))
        {
            mapping = new Mapping(key, PickExternalPort(nat, inside.Port), now);
            nat.Mappings[key] = mapping;
            nat.ByExternalPort[mapping.ExternalPort] = mapping;
            _mappingsCreated++;
            _log.Debug("NAT {0}: new mapping {1} -> {2}:{3}", nat.Name, inside, nat.PublicAddress, mapping.ExternalPort);
        }
        mapping.LastOutbound = now; // REQ-6: outbound packets refresh the mapping
        mapping.ContactedEndpoints.Add(destination);
        mapping.ContactedAddresses.Add(destination.Address);
        return mapping;
    }

    private static int PickExternalPort(Nat nat, int internalPort)
    {
        if (nat.Behavior.PortPreservation && !nat.ByExternalPort.ContainsKey(internalPort)) return internalPort;
        if (nat.ByExternalPort.Count >= 65536 - FirstNatPort) throw new InvalidOperationException($"NAT {nat.Name} has no free port left");
        for (int tries = 0; ; tries++)
        {
            if (tries > 1 << 20) throw new InvalidOperationException($"NAT {nat.Name} found no free port in step {nat.Behavior.PortStep}");
            int candidate;
            if (nat.Behavior.PortAllocation == NatPortAllocation.Random) candidate = FirstNatPort + nat.Ports.Next(65536 - FirstNatPort);
            else
            {
                candidate = nat.NextPort;
                int next = candidate + nat.Behavior.PortStep;
                nat.NextPort = next > 65535 ? FirstNatPort + (next - 65536) % (65536 - FirstNatPort) : next;
            }
            if (!nat.ByExternalPort.ContainsKey(candidate)) return candidate;
        }
    }

    /// <summary>RFC 4787 §4.3: mappings idle (no outbound packet) for the timeout are gone, and so is their filter state.</summary>
    private void Purge(Nat nat, DateTimeOffset now)
    {
        if (nat.Mappings.Count == 0) return;
        var timeout = nat.Behavior.MappingTimeout;
        foreach (var stale in nat.Mappings.Values.Where(m => now - m.LastOutbound >= timeout).ToList())
        {
            nat.Mappings.Remove(stale.Key);
            nat.ByExternalPort.Remove(stale.ExternalPort);
            _mappingsExpired++;
            _log.Debug("NAT {0}: mapping {1} -> {2}:{3} expired", nat.Name, stale.Key.Internal, nat.PublicAddress, stale.ExternalPort);
        }
    }

    private void Internet(Packet packet)
    {
        var to = packet.To.Address;
        if (_publicHosts.TryGetValue(to, out var host))
        {
            HostLink(host, packet);
            return;
        }
        if (_natsByAddress.TryGetValue(to, out var nat))
        {
            if (nat.UdpBlocked)
            {
                _firewall++;
                return;
            }
            Cross(nat.Link, new Hop(Step.NatInbound, nat.Name, packet));
            return;
        }
        _noRoute++;
    }

    /// <summary>RFC 4787 §5: the mapping on the destination port must exist and its filtering admit the sender.</summary>
    private void NatInbound(Nat nat, Packet packet)
    {
        Purge(nat, Now);
        if (!nat.ByExternalPort.TryGetValue(packet.To.Port, out var mapping))
        {
            _noMapping++;
            return;
        }
        bool admitted = nat.Behavior.Filtering switch
        {
            NatFiltering.EndpointIndependent => true,
            NatFiltering.AddressDependent => mapping.ContactedAddresses.Contains(packet.From.Address),
            _ => mapping.ContactedEndpoints.Contains(packet.From),
        };
        if (!admitted)
        {
            _filtered++;
            return;
        }
        var inside = mapping.Key.Internal;
        if (!nat.Lan.TryGetValue(inside.Address, out var host))
        {
            _noRoute++;
            return;
        }
        HostLink(host, packet with { To = inside });
    }

    private void HostLink(Host host, Packet packet)
    {
        if (host.UdpBlocked)
        {
            _firewall++;
            return;
        }
        Cross(host.Link, new Hop(Step.Host, host.Name, packet));
    }

    private void DeliverTo(Host host, Packet packet)
    {
        if (!host.Sockets.TryGetValue(packet.To.Port, out var socket))
        {
            _noSocket++;
            return;
        }
        _delivered++;
        socket.Tell(new Deliver(packet.From, packet.Payload.ToArray()), Self);
    }

    // ------------------------------------------------------------------ link conditions

    /// <summary>Applies a link's conditions to a packet crossing it, then continues with <paramref name="next"/> (now or later).</summary>
    private void Cross(Link link, Hop next)
    {
        var c = link.Conditions;
        if (c.Cut)
        {
            _cut++;
            return;
        }
        var random = link.Random;
        if (c.Loss > 0 && random.NextDouble() < c.Loss)
        {
            _lost++;
            return;
        }
        int copies = 1;
        if (c.Duplication > 0 && random.NextDouble() < c.Duplication)
        {
            copies = 2;
            _duplicated++;
        }
        var delay = c.Delay;
        if (c.Jitter > TimeSpan.Zero) delay += c.Jitter * random.NextDouble();
        if (link.Held is null && c.Reordering > 0 && random.NextDouble() < c.Reordering)
        {
            long version = ++link.HeldVersion;
            link.Held = (next, copies, delay, version);
            _reordered++;
            Later(new ReleaseHeld(link.Name, version), c.ReorderHold);
            return;
        }
        Emit(next, copies, delay);
        if (link.Held is { } held)
        {
            link.Held = null;
            Emit(held.Hop, held.Copies, held.Delay);
        }
    }

    /// <summary>Every delayed hop is its own single timer (unique key), so none replaces another and all stop with the wire.</summary>
    private void Later(object message, TimeSpan delay) => Timers.StartSingleTimer(++_timerKeys, message, delay);

    private void OnReleaseHeld(ReleaseHeld release)
    {
        if (!_links.TryGetValue(release.Link, out var link) || link.Held is not { } held || held.Version != release.Version) return;
        link.Held = null;
        Emit(held.Hop, held.Copies, held.Delay);
    }

    private void Emit(Hop hop, int copies, TimeSpan delay)
    {
        for (int i = 0; i < copies; i++)
        {
            if (delay > TimeSpan.Zero) Later(hop, delay);
            else Process(hop);
        }
    }
}
