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
