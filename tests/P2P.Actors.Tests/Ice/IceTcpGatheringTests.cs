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
        Assert.Same(passive, gathering.TcpHostFor(Listening, active: false));
        Assert.Same(active, gathering.TcpHostFor(active.Address, active: true));
        Assert.Null(gathering.TcpHostFor(Listening, active: true));
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
