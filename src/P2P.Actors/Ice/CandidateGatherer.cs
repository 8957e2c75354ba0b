using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using P2P.Protocol.Ice;

namespace P2P.Actors.Ice;

/// <summary>
/// The candidates one local peer gathers for all its sessions (RFC 8445 §5.1.1), and how far that gathering is: a
/// plain class the LocalPeer owns, which starts the STUN probers and TURN allocators and hands their answers in here.
/// Host candidates (§5.1.1.1) for a socket are its own address when it is bound to one (a loopback test, or a host of
/// the virtual network), else every usable address of the machine's interfaces in the socket's family (IPv4 or IPv6;
/// loopback and IPv6 link-local left out), each with the socket's port. Priorities prefer IPv6 and earlier interfaces
/// (RFC 8421 spirit), foundations follow §5.1.1.3.
/// </summary>
public sealed class CandidateGatherer
{
    private readonly List<IceCandidate> _candidates = [];
    private readonly List<string> _problems = [];
    private int _pending, _relayReplacements;

    /// <summary>Every candidate gathered so far and still good (host, server-reflexive, relayed), for the sessions opened from now on.</summary>
    public IReadOnlyList<IceCandidate> Candidates => _candidates;

    /// <summary>What went wrong while gathering, each once, in the order it happened.</summary>
    public IReadOnlyList<string> Problems => _problems;

    /// <summary>Every server answered or gave up, or the gathering timed out.</summary>
    public bool Complete { get; private set; }

    /// <summary>The socket is bound: its host candidates, added.</summary>
    public IReadOnlyList<IceCandidate> AddHosts(IPEndPoint bound)
    {
        var hosts = HostCandidates(bound);
        _candidates.AddRange(hosts);
        return hosts;
    }

    /// <summary>
    /// The ICE-TCP listeners are bound (RFC 6544 §4): for each passive one, a passive host candidate at its address and
    /// an active one at the same IP with port 9 (§4.5); for each simultaneous-open one, a simultaneous-open candidate at
    /// its address; all added. Each takes the interface rank of the UDP host candidate of its IP.
    /// </summary>
    public IReadOnlyList<IceCandidate> AddTcpHosts(IReadOnlyList<IPEndPoint> passive, IReadOnlyList<IPEndPoint>? simultaneousOpen = null)
    {
        var added = new List<IceCandidate>();
        foreach (var listening in passive)
        {
            int interfaceIndex = InterfaceIndexOf(listening.Address);
            added.Add(TcpHost(listening, TcpCandidateType.Passive, interfaceIndex));
            added.Add(TcpHost(new IPEndPoint(listening.Address, IceCandidate.ActiveTcpPort), TcpCandidateType.Active, interfaceIndex));
        }
        foreach (var so in simultaneousOpen ?? [])
            added.Add(TcpHost(so, TcpCandidateType.SimultaneousOpen, InterfaceIndexOf(so.Address)));
        _candidates.AddRange(added);
        return added;
    }

    /// <summary>The interface rank of the UDP host candidate at <paramref name="address"/> (0 when there is none).</summary>
    private int InterfaceIndexOf(IPAddress address)
    {
        var udp = _candidates.FirstOrDefault(c => c.Type == CandidateType.Host && c.Transport == CandidateTransport.Udp && c.Address.Address.Equals(address));
        return udp is null ? 0 : 16383 - (CandidatePriority.LocalPreferenceOf(udp.Priority) & 0x3FFF);
    }

    /// <summary>A host TCP candidate (RFC 6544 §4.2, §4.4: the foundation also tells the TCP type apart, so that active, passive and simultaneous-open pairs do not freeze each other).</summary>
    public static IceCandidate TcpHost(IPEndPoint address, TcpCandidateType tcpType, int interfaceIndex) =>
        new(CandidateFoundation.Compute(CandidateType.Host, address.Address, null, CandidateTransport.Tcp) + tcpType switch
            {
                TcpCandidateType.Active => "a",
                TcpCandidateType.Passive => "p",
                TcpCandidateType.SimultaneousOpen => "s",
                _ => throw new ArgumentOutOfRangeException(nameof(tcpType), tcpType, "a TCP candidate is active, passive or simultaneous-open"),
            },
            1, CandidateTransport.Tcp,
            CandidatePriority.Compute(CandidateType.Host, CandidatePriority.LocalPreference(address.Address, interfaceIndex, tcpType, natted: false), 1, CandidateTransport.Tcp),
            address, CandidateType.Host, TcpType: tcpType);

    /// <summary>The host TCP candidate of <paramref name="tcpType"/> an ICE-TCP connection belongs to: the passive or simultaneous-open one listening at <paramref name="local"/>, or the active one at its IP with port 9.</summary>
    public IceCandidate? TcpHostFor(IPEndPoint local, TcpCandidateType tcpType) =>
        _candidates.FirstOrDefault(c => c.Type == CandidateType.Host && c.TcpType == tcpType && c.Address.Equals(local));

    /// <summary>A STUN prober, TURN allocator or the ICE-TCP listeners started: the gathering waits for its answer (or the timeout).</summary>
    public void Started() => _pending++;

    /// <summary>Nothing was started: host candidates are all there is.</summary>
    public bool NothingPending => _pending == 0;

    /// <summary>A prober or allocator answered or gave up; true when none is left.</summary>
    public bool Done() => --_pending <= 0;

    /// <summary>The gathering is over; false when it was already.</summary>
    public bool MarkComplete()
    {
        if (Complete) return false;
        Complete = true;
        return true;
    }

    /// <summary>More servers were started after the gathering was over: it is not complete again until they answer.</summary>
    public void Reopen() => Complete = false;

    /// <summary>A problem to tell the peer's owner and its sessions; false when it was told already.</summary>
    public bool AddProblem(string reason)
    {
        if (_problems.Contains(reason)) return false;
        _problems.Add(reason);
        return true;
    }

    public void Add(IEnumerable<IceCandidate> candidates) => _candidates.AddRange(candidates);

    /// <summary>A candidate that is no longer good (a relayed one whose allocation went): sessions opened from now on do not get it.</summary>
    public void Remove(IceCandidate candidate) => _candidates.Remove(candidate);

    /// <summary>The server-reflexive candidate a STUN server saw, added, unless it is a host address or known already (no NAT).</summary>
    public IReadOnlyList<IceCandidate> AddServerReflexive(IPEndPoint mapped, IPEndPoint server)
    {
        var added = ServerReflexive(mapped, server);
        _candidates.AddRange(added);
        return added;
    }

    /// <summary>The server-reflexive candidate of <paramref name="mapped"/> (RFC 8445 §5.1.1.2), not added; none when it is a host address or known already.</summary>
    public IReadOnlyList<IceCandidate> ServerReflexive(IPEndPoint mapped, IPEndPoint server)
    {
        if (_candidates.Any(c => c.Transport == CandidateTransport.Udp && c.Address.Equals(mapped))) return [];
        var hostBase = _candidates.FirstOrDefault(c => c.Type == CandidateType.Host && c.Transport == CandidateTransport.Udp && c.Address.AddressFamily == mapped.AddressFamily);
        if (hostBase is null) return [];
        int localPreference = CandidatePriority.LocalPreferenceOf(hostBase.Priority);
        return [new IceCandidate(CandidateFoundation.Compute(CandidateType.ServerReflexive, hostBase.Address.Address, server, CandidateTransport.Udp),
            1, CandidateTransport.Udp, CandidatePriority.Compute(CandidateType.ServerReflexive, localPreference, 1),
            mapped, CandidateType.ServerReflexive, hostBase.Address)];
    }

    /// <summary>
    /// The server-reflexive simultaneous-open candidate of the so port <paramref name="soBase"/>, whose mapping a STUN
    /// Binding over TCP from that port to <paramref name="server"/> saw as <paramref name="mapped"/> (RFC 6544 §5.2), added;
    /// none when the mapping is the port itself (no NAT), is known already, or the port has no so candidate.
    /// <para>
    /// Only simultaneous-open ones are offered. Through a NAT whose TCP mapping is endpoint-independent, the two peers'
    /// connects from their so ports to each other's mapping cross in the NATs (TCP hole punching: each outgoing SYN opens
    /// the way for the other's), which is the one way two hosts behind NATs that drop unsolicited SYNs reach each other
    /// over TCP. An active one would say nothing: its port is 9 (RFC 6544 §4.5) and each connection it opens gets a
    /// mapping of its own, which the remote learns as peer-reflexive from the check. A passive one would be reached
    /// only through a NAT that lets unsolicited SYNs in to a mapping a STUN connection made, which a NAT that filters
    /// does not; a port forwarded on purpose is RFC 6544 §5.3's NAT-assisted candidate, not this.
    /// </para>
    /// <para>
    /// Priority (RFC 6544 §4.2): the server-reflexive TCP type preference, below every direct UDP candidate's and above
    /// relayed ones, and the direction preference of a candidate behind a NAT, where so ranks first (6).
    /// </para>
    /// </summary>
    public IReadOnlyList<IceCandidate> AddTcpServerReflexive(IPEndPoint mapped, IPEndPoint soBase, IPEndPoint server)
    {
        if (mapped.Equals(soBase) || TcpHostFor(soBase, TcpCandidateType.SimultaneousOpen) is null
            || _candidates.Any(c => c.Transport == CandidateTransport.Tcp && c.TcpType == TcpCandidateType.SimultaneousOpen && c.Address.Equals(mapped)))
            return [];
        var srflx = new IceCandidate(
            CandidateFoundation.Compute(CandidateType.ServerReflexive, soBase.Address, server, CandidateTransport.Tcp) + "s",
            1, CandidateTransport.Tcp,
            CandidatePriority.Compute(CandidateType.ServerReflexive,
                CandidatePriority.LocalPreference(soBase.Address, InterfaceIndexOf(soBase.Address), TcpCandidateType.SimultaneousOpen, natted: true), 1, CandidateTransport.Tcp),
            mapped, CandidateType.ServerReflexive, soBase, TcpCandidateType.SimultaneousOpen);
        _candidates.Add(srflx);
        return [srflx];
    }

    /// <summary>
    /// The relayed candidate of an allocation on <paramref name="server"/> (RFC 8445 §5.1.1.2), not added. A replacement
    /// (the server dropped the old allocation) shares the old candidate's base IP and server, so §5.1.1.3 would give it
    /// the old foundation, and its pairs would wait (Frozen, §6.1.2.6) behind the old candidate's checks, which can only
    /// fail (~20 s): it gets its own.
    /// </summary>
    public IceCandidate Relayed(IPEndPoint relayed, IPEndPoint? mapped, IPEndPoint server, bool replacing)
    {
        string foundation = CandidateFoundation.ComputeRelayed(relayed.Address, server, CandidateTransport.Udp);
        if (replacing) foundation += $"r{++_relayReplacements}";
        return new IceCandidate(foundation,
            1, CandidateTransport.Udp, CandidatePriority.Compute(CandidateType.Relayed, CandidatePriority.LocalPreference(relayed.Address, 0), 1),
            relayed, CandidateType.Relayed, mapped);
    }

    /// <summary>The host candidate a datagram arrived on (the socket's own address, or when bound to "any" the one of the sender's family).</summary>
    public IceCandidate? HostFor(IPEndPoint local, IPEndPoint from)
    {
        IceCandidate? sameFamily = null;
        foreach (var c in _candidates)
        {
            if (c.Type != CandidateType.Host || c.Transport != CandidateTransport.Udp) continue;
            if (c.Address.Equals(local)) return c;
            if (c.Address.AddressFamily == from.AddressFamily && (sameFamily is null || IPAddress.IsLoopback(c.Address.Address) == IPAddress.IsLoopback(from.Address))) sameFamily = c;
        }
        return sameFamily;
    }

    /// <summary>What a session with <paramref name="policy"/> may offer of <paramref name="candidates"/>.</summary>
    public static IReadOnlyList<IceCandidate> Visible(IReadOnlyList<IceCandidate> candidates, CandidatePolicy policy) =>
        policy == CandidatePolicy.RelayOnly ? candidates.Where(c => c.Type == CandidateType.Relayed).ToList() : candidates;

    /// <summary>An address of an interface, with the interface's position in the system's list.</summary>
    public readonly record struct InterfaceAddress(IPAddress Address, int InterfaceIndex);

    public static IReadOnlyList<IceCandidate> HostCandidates(IPEndPoint bound, IEnumerable<InterfaceAddress>? interfaces = null)
    {
        IEnumerable<InterfaceAddress> addresses = IsAny(bound.Address)
            ? (interfaces ?? MachineAddresses()).Where(a => a.Address.AddressFamily == bound.AddressFamily && Usable(a.Address))
            : [new InterfaceAddress(bound.Address, 0)];
        return addresses
            .DistinctBy(a => a.Address)
            .Select(a => new IceCandidate(
                CandidateFoundation.Compute(CandidateType.Host, a.Address, null, CandidateTransport.Udp),
                1, CandidateTransport.Udp,
                CandidatePriority.Compute(CandidateType.Host, CandidatePriority.LocalPreference(a.Address, a.InterfaceIndex), 1),
                new IPEndPoint(a.Address, bound.Port), CandidateType.Host))
            .ToList();
    }

    /// <summary>The addresses of the interfaces that are up, in the system's order.</summary>
    public static IEnumerable<InterfaceAddress> MachineAddresses() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany((n, index) => n.GetIPProperties().UnicastAddresses.Select(u => new InterfaceAddress(u.Address, index)));

    private static bool IsAny(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);

    /// <summary>RFC 8445 §5.1.1.1: loopback addresses MUST NOT be candidates (a socket bound to one is another matter: a test).</summary>
    private static bool Usable(IPAddress address) =>
        !IPAddress.IsLoopback(address) && !address.IsIPv6LinkLocal && !address.IsIPv6Multicast
        && !(address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] == 169 && address.GetAddressBytes()[1] == 254);
}
