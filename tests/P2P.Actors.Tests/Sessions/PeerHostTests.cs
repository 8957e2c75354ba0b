using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sessions;

/// <summary>/user/peers: many local peers in one process, sessions opened by peer name, clear refusals.</summary>
public sealed class PeerHostTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    private IActorRef StartHost() => Sys.ActorOf(PeerHost.Props(), "peers");

    private static LocalPeerSettings Local(string name, IPAddress? address = null) =>
        new(name, new IPEndPoint(address ?? IPAddress.Loopback, 0), [], []);

    [Fact]
    public async Task Peers_are_added_by_name_and_sessions_between_them_connect_over_ipv4_and_ipv6()
    {
        var host = StartHost();
        foreach (var (name, address) in new[] { ("alice", IPAddress.Loopback), ("bob", IPAddress.Loopback), ("carol", IPAddress.IPv6Loopback), ("dave", IPAddress.IPv6Loopback) })
        {
            host.Tell(new PeerHostProtocol.AddPeer(Local(name, address)));
            Assert.Equal(name, ExpectMsg<PeerHostProtocol.PeerAdded>(Generous).Name);
        }
        var peers = await host.Ask<PeerHostProtocol.Peers>(new PeerHostProtocol.GetPeers(), Generous);
        Assert.Equal(4, peers.List.Count);

        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        host.Tell(new PeerHostProtocol.OpenSession("alice", "v4/a", true, link));
        host.Tell(new PeerHostProtocol.OpenSession("bob", "v4/b", false, link));
        host.Tell(new PeerHostProtocol.OpenSession("carol", "v6/a", true, link));
        host.Tell(new PeerHostProtocol.OpenSession("dave", "v6/b", false, link));
        var (sessions, pairs) = SessionEvents.AwaitConnected(events, 4, Generous);
        Assert.Equal(AddressFamily.InterNetwork, pairs["v4/a"].Local.Address.AddressFamily);
        Assert.Equal(AddressFamily.InterNetworkV6, pairs["v6/a"].Local.Address.AddressFamily);
        Assert.Equal(CandidateType.Host, pairs["v6/b"].Remote.Type);

        sessions["v6/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes("over ::1")));
        var data = events.FishForMessage<SessionProtocol.DataReceived>(_ => true, Generous);
        Assert.Equal("v6/b", data.SessionId);
    }

    [Fact]
    public async Task A_duplicate_name_a_taken_port_and_an_unknown_peer_are_refused_with_a_sentence()
    {
        var host = StartHost();
        host.Tell(new PeerHostProtocol.AddPeer(Local("alice")));
        var alice = ExpectMsg<PeerHostProtocol.PeerAdded>(Generous);

        host.Tell(new PeerHostProtocol.AddPeer(Local("alice")));
        Assert.Contains("already exists", ExpectMsg<PeerHostProtocol.PeerNotAdded>(Generous).Reason);

        host.Tell(new PeerHostProtocol.AddPeer(new LocalPeerSettings("bob", alice.Local, [], [])));
        Assert.Contains("already in use", ExpectMsg<PeerHostProtocol.PeerNotAdded>(Generous).Reason);

        var owner = CreateTestProbe();
        host.Tell(new PeerHostProtocol.OpenSession("nobody", "x", true, owner.Ref));
        Assert.Contains("no local peer named 'nobody'", owner.ExpectMsg<PeerHostProtocol.SessionNotOpened>(Generous).Reason);

        // the same session name twice on one peer: the second is refused, the peer and the first session live on
        host.Tell(new PeerHostProtocol.OpenSession("alice", "s", true, owner.Ref));
        var first = owner.ExpectMsg<SessionProtocol.Started>(Generous);
        host.Tell(new PeerHostProtocol.OpenSession("alice", "s", true, owner.Ref));
        Assert.Contains("already has a session 's'", owner.FishForMessage<SessionProtocol.Failed>(_ => true, Generous).Reason);
        Watch(first.Session);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // a peer removed and added again at once: refused while the old one stops, never a crash of the host
        host.Tell(new PeerHostProtocol.RemovePeer("alice"));
        host.Tell(new PeerHostProtocol.AddPeer(Local("alice")));
        var answer = FishForMessage(m => m is PeerHostProtocol.PeerAdded or PeerHostProtocol.PeerNotAdded, Generous);
        if (answer is PeerHostProtocol.PeerNotAdded refused) Assert.Contains("still stopping", refused.Reason);
        var peers = await host.Ask<PeerHostProtocol.Peers>(new PeerHostProtocol.GetPeers(), Generous); // the host is alive
        Assert.Equal(answer is PeerHostProtocol.PeerAdded, peers.List.Any(p => p.Name == "alice"));
    }
}

public sealed class CandidateGathererTests
{
    private static readonly CandidateGatherer.InterfaceAddress[] Interfaces =
    [
        new(IPAddress.Loopback, 0),
        new(IPAddress.IPv6Loopback, 0),
        new(IPAddress.Parse("192.168.1.20"), 1),
        new(IPAddress.Parse("fe80::1"), 1),
        new(IPAddress.Parse("2001:db8::20"), 1),
        new(IPAddress.Parse("169.254.3.3"), 2),
        new(IPAddress.Parse("10.8.0.2"), 3),
    ];

    [Fact]
    public void Bound_to_any_gives_every_usable_address_of_the_family_but_loopback_and_link_local()
    {
        var v4 = CandidateGatherer.HostCandidates(new IPEndPoint(IPAddress.Any, 5000), Interfaces);
        Assert.Equal(["192.168.1.20:5000", "10.8.0.2:5000"], v4.Select(c => c.Address.ToString()));
        Assert.True(v4[0].Priority > v4[1].Priority); // earlier interface first

        var v6 = CandidateGatherer.HostCandidates(new IPEndPoint(IPAddress.IPv6Any, 5000), Interfaces);
        Assert.Equal("[2001:db8::20]:5000", Assert.Single(v6).Address.ToString());
        Assert.All(v4.Concat(v6), c => Assert.Equal(CandidateType.Host, c.Type));
        Assert.NotEqual(v4[0].Foundation, v4[1].Foundation);
    }

    [Fact]
    public void Bound_to_an_address_gives_just_that_address()
    {
        var only = CandidateGatherer.HostCandidates(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 7000), Interfaces);
        Assert.Equal("10.0.0.2:7000", Assert.Single(only).Address.ToString());
        // a socket bound to loopback on purpose (tests, one machine) keeps it
        Assert.Equal("127.0.0.1:7000", Assert.Single(CandidateGatherer.HostCandidates(new IPEndPoint(IPAddress.Loopback, 7000), Interfaces)).Address.ToString());
    }
}
