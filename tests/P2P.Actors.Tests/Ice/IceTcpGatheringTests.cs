using System.Net;
using P2P.Actors.Ice;
using P2P.Protocol.Ice;
using Xunit;

namespace P2P.Actors.Tests.Ice;

/// <summary>The host TCP candidates a peer gathers (RFC 6544 §4), and that they never stand in for its UDP socket.</summary>
public sealed class IceTcpGatheringTests
{
    private static readonly IPEndPoint Bound = new(IPAddress.Parse("192.168.1.10"), 5000);
    private static readonly IPEndPoint Listening = new(IPAddress.Parse("192.168.1.10"), 41000);
    private static readonly IPEndPoint Stun = new(IPAddress.Parse("198.51.100.1"), 3478);

    [Fact]
    public void Each_listener_gives_a_passive_candidate_and_an_active_one_at_port_9_with_foundations_of_their_own()
    {
        var gathering = new CandidateGatherer();
        var udp = Assert.Single(gathering.AddHosts(Bound));
        var tcp = gathering.AddTcpHosts([Listening]);
        var passive = Assert.Single(tcp, c => c.TcpType == TcpCandidateType.Passive);
        var active = Assert.Single(tcp, c => c.TcpType == TcpCandidateType.Active);
        Assert.Equal(Listening, passive.Address);
        Assert.Equal(new IPEndPoint(Listening.Address, IceCandidate.ActiveTcpPort), active.Address);
        Assert.All(tcp, c => Assert.Equal((CandidateTransport.Tcp, CandidateType.Host), (c.Transport, c.Type)));
        Assert.Equal(3, new[] { udp.Foundation, passive.Foundation, active.Foundation }.Distinct().Count());
        Assert.All(tcp, c => Assert.True(IceGrammar.IsIceChars(c.Foundation, 1, IceCandidate.MaxFoundationLength)));
        Assert.All(tcp, c => Assert.True(c.Priority < udp.Priority));
        Assert.Same(passive, gathering.TcpHostFor(Listening, TcpCandidateType.Passive));
        Assert.Same(active, gathering.TcpHostFor(active.Address, TcpCandidateType.Active));
        Assert.Null(gathering.TcpHostFor(Listening, TcpCandidateType.Active));
    }

    [Fact]
    public void A_simultaneous_open_port_gives_an_so_candidate_with_its_own_foundation_ranked_below_active_and_passive_that_pairs_only_with_so()
    {
        var gathering = new CandidateGatherer();
        var udp = Assert.Single(gathering.AddHosts(Bound));
        var soPort = new IPEndPoint(Listening.Address, 41001);
        var tcp = gathering.AddTcpHosts([Listening], [soPort]);
        var passive = Assert.Single(tcp, c => c.TcpType == TcpCandidateType.Passive);
        var active = Assert.Single(tcp, c => c.TcpType == TcpCandidateType.Active);
        var so = Assert.Single(tcp, c => c.TcpType == TcpCandidateType.SimultaneousOpen);
        Assert.Equal((soPort, CandidateTransport.Tcp, CandidateType.Host), (so.Address, so.Transport, so.Type));
        Assert.Contains(" tcptype so", so.ToSdpLine());
        // RFC 6544 §4.4: a foundation of its own, so that its pairs do not wait (Frozen) behind active or passive ones
        Assert.Equal(4, new[] { udp.Foundation, passive.Foundation, active.Foundation, so.Foundation }.Distinct().Count());
        // RFC 6544 §4.2, a host candidate: direction preference active 6 > passive 4 > so 2; every TCP one below UDP
        Assert.True(active.Priority > passive.Priority && passive.Priority > so.Priority, $"{active.Priority} {passive.Priority} {so.Priority}");
        Assert.Equal(2, CandidatePriority.LocalPreferenceOf(so.Priority) >> 13);
        Assert.True(so.Priority < udp.Priority);
        Assert.Same(so, gathering.TcpHostFor(soPort, TcpCandidateType.SimultaneousOpen));
        Assert.Null(gathering.TcpHostFor(soPort, TcpCandidateType.Passive));

        // RFC 6544 §6.2: so pairs with so only, and never with a UDP candidate
        var remote = new CandidateGatherer();
        remote.AddHosts(new IPEndPoint(IPAddress.Parse("192.168.1.20"), 5000));
        var theirs = remote.AddTcpHosts([new IPEndPoint(IPAddress.Parse("192.168.1.20"), 42000)], [new IPEndPoint(IPAddress.Parse("192.168.1.20"), 42001)]);
        Assert.Equal([TcpCandidateType.SimultaneousOpen],
            remote.Candidates.Where(r => CheckList.CanPair(so, r)).Select(r => r.TcpType));
        Assert.Equal([so], gathering.Candidates.Where(l => CheckList.CanPair(l, theirs.Single(t => t.TcpType == TcpCandidateType.SimultaneousOpen))));
    }

    [Fact]
    public void The_mapping_of_an_so_port_is_a_server_reflexive_so_candidate_between_udp_and_relayed_whose_checks_go_from_its_base()
    {
        var gathering = new CandidateGatherer();
        var udp = Assert.Single(gathering.AddHosts(Bound));
        var soPort = new IPEndPoint(Listening.Address, 41001);
        var tcp = gathering.AddTcpHosts([Listening], [soPort]);
        var so = Assert.Single(tcp, c => c.TcpType == TcpCandidateType.SimultaneousOpen);
        var udpSrflx = Assert.Single(gathering.AddServerReflexive(new IPEndPoint(IPAddress.Parse("203.0.113.5"), 5000), Stun));
        var relayed = gathering.Relayed(new IPEndPoint(IPAddress.Parse("198.51.100.9"), 50000), null, Stun, replacing: false);
        var mapped = new IPEndPoint(IPAddress.Parse("203.0.113.5"), 41001);

        var srflx = Assert.Single(gathering.AddTcpServerReflexive(mapped, soPort, Stun));
        Assert.Equal((CandidateType.ServerReflexive, CandidateTransport.Tcp, TcpCandidateType.SimultaneousOpen, mapped, soPort),
            (srflx.Type, srflx.Transport, srflx.TcpType, srflx.Address, srflx.Related));
        Assert.Equal($"a=candidate:{srflx.Foundation} 1 TCP {srflx.Priority} 203.0.113.5 41001 typ srflx raddr 192.168.1.10 rport 41001 tcptype so", srflx.ToSdpLine());
        Assert.Contains(srflx, gathering.Candidates);
        // RFC 6544 §4.2: UDP stays preferred, a direct TCP path beats the relay; behind a NAT so ranks first (6)
        Assert.True(udp.Priority > udpSrflx.Priority && udpSrflx.Priority > srflx.Priority && srflx.Priority > relayed.Priority,
            $"{udp.Priority} {udpSrflx.Priority} {srflx.Priority} {relayed.Priority}");
        Assert.Equal(6, CandidatePriority.LocalPreferenceOf(srflx.Priority) >> 13);
        Assert.Equal(6, tcp.Select(c => c.Foundation).Append(udp.Foundation).Append(udpSrflx.Foundation).Append(srflx.Foundation).Distinct().Count());

        // the same mapping again, the port's own address (no NAT) or a port that is no so candidate: nothing
        Assert.Empty(gathering.AddTcpServerReflexive(mapped, soPort, new IPEndPoint(IPAddress.Parse("198.51.100.2"), 3478)));
        Assert.Empty(gathering.AddTcpServerReflexive(soPort, soPort, Stun));
        Assert.Empty(gathering.AddTcpServerReflexive(new IPEndPoint(mapped.Address, 41000), Listening, Stun));

        // paired with a remote so candidate, it forms no pair of its own: checks go from its base, the so port, to the
        // remote (RFC 8445 §6.1.2.4), and the remote's checks to it arrive there
        var checks = new CheckList(controlling: true);
        var remoteSrflx = new IceCandidate("theirs", 1, CandidateTransport.Tcp, srflx.Priority, new IPEndPoint(IPAddress.Parse("198.51.100.20"), 42001),
            CandidateType.ServerReflexive, new IPEndPoint(IPAddress.Parse("10.0.0.2"), 42001), TcpCandidateType.SimultaneousOpen);
        checks.AddRemote(remoteSrflx);
        Assert.Empty(checks.AddLocal(srflx));
        var pair = Assert.Single(checks.AddLocals(gathering.Candidates));
        Assert.Equal((so, remoteSrflx), (pair.Local, pair.Remote));
    }

    [Fact]
    public void A_udp_datagram_and_a_stun_mapping_are_never_taken_for_a_tcp_candidate()
    {
        var gathering = new CandidateGatherer();
        gathering.AddHosts(new IPEndPoint(IPAddress.Any, 5000)); // every interface: none here but the listener's may match
        gathering.AddTcpHosts([Listening]);
        // a datagram to the UDP socket from an IPv4 sender belongs to a UDP host candidate or to none
        var host = gathering.HostFor(new IPEndPoint(IPAddress.Any, 5000), new IPEndPoint(IPAddress.Parse("203.0.113.9"), 7000));
        Assert.True(host is null || host.Transport == CandidateTransport.Udp, $"{host}");
        // a STUN server reporting the listener's own address is no reason to skip a server-reflexive UDP candidate of the UDP socket
        var hostsOnly = new CandidateGatherer();
        hostsOnly.AddHosts(Bound);
        hostsOnly.AddTcpHosts([new IPEndPoint(IPAddress.Parse("203.0.113.5"), 40000)]);
        var srflx = Assert.Single(hostsOnly.AddServerReflexive(new IPEndPoint(IPAddress.Parse("203.0.113.5"), 40000), Stun));
        Assert.Equal(CandidateTransport.Udp, srflx.Transport);
        Assert.Equal(Bound, srflx.Related);
    }
}
