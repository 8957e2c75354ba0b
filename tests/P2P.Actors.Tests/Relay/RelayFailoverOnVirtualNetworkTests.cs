using System.Net;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// Two relays on one machine (one IP, two ports, as a fleet of two on one host), both peers allocated on both, a
/// relay-only session: the relay under the selected pair dies, and the restarted session comes back over the other one.
/// </summary>
public sealed class RelayFailoverOnVirtualNetworkTests(ITestOutputHelper output) : RealTimeVirtualNetworkTestBase("akka.loglevel = INFO", output, seed: 1718)
{
    private static readonly IPEndPoint One = IPEndPoint.Parse("198.51.100.1:3478"), Two = IPEndPoint.Parse("198.51.100.1:3479");
    private static readonly TurnCredentials Alice = new("alice", "secret");
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private async Task<IActorRef> Relay(string name, IPEndPoint address, int minPort)
    {
        var settings = new RelaySettings
        {
            Listen = [address], Realm = "vnet", Users = new Dictionary<string, string> { [Alice.Username] = Alice.Password },
            MinPort = minPort, MaxPort = minPort + 999,
        };
        var relay = Sys.ActorOf(RelayServer.Props(settings, Net.SocketsOf("relays")), name);
        Assert.IsType<RelayServerProtocol.Listening>(await relay.Ask<object>(new RelayServerProtocol.AwaitListening(), Generous));
        return relay;
    }

    private IActorRef Peer(string name, string address, IceSettings ice)
    {
        Net.AddPublicHost(name, IPAddress.Parse(address));
        var settings = new LocalPeerSettings(name, new IPEndPoint(IPAddress.Any, 5000), [], [new TurnServer(One, Alice), new TurnServer(Two, Alice)])
        {
            Sockets = Net.SocketsOf(name),
        };
        var parent = CreateTestProbe();
        var client = TurnClientSettings.Default with { AllocationCheckTimeout = TimeSpan.FromSeconds(1) };
        var peer = parent.ChildActorOf(LocalPeer.Props(settings, ice, StunSettings.Default, client), name);
        parent.ExpectMsg<LocalPeerProtocol.PeerReady>(Generous);
        return peer;
    }

    private async Task AwaitRelayCandidates(IActorRef peer, int count) =>
        await AwaitConditionAsync(async () =>
            (await peer.Ask<LocalPeerProtocol.Candidates>(new LocalPeerProtocol.GetCandidates(), Generous)).Local.Count(c => c.Type == CandidateType.Relayed) == count,
            Generous, TimeSpan.FromMilliseconds(20));

    [Fact]
    public async Task A_relay_only_session_whose_relay_dies_comes_back_over_the_other_relay_both_peers_hold()
    {
        var quickConsent = IceSettings.Default with
        {
            ConsentInterval = TimeSpan.FromMilliseconds(500), ConsentTimeout = TimeSpan.FromSeconds(3), ConsentGrid = TimeSpan.Zero,
        };
        Net.AddPublicHost("relays", One.Address);
        var relays = new Dictionary<int, IActorRef> { [40000] = await Relay("relay-1", One, 40000), [41000] = await Relay("relay-2", Two, 41000) };
        var alice = Peer("alice", "203.0.113.10", quickConsent);
        var bob = Peer("bob", "203.0.113.20", quickConsent);
        await AwaitRelayCandidates(alice, 2);
        await AwaitRelayCandidates(bob, 2);

        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        alice.Tell(new LocalPeerProtocol.OpenSession("s/a", true, link, CandidatePolicy.RelayOnly));
        bob.Tell(new LocalPeerProtocol.OpenSession("s/b", false, link, CandidatePolicy.RelayOnly));
        var (sessions, pairs) = SessionEvents.AwaitConnected(events, 2, Generous);
        int dead = pairs["s/a"].Local.Address.Port / 1000 * 1000;
        Sys.Log.Info($"alice's selected pair {pairs["s/a"]}: the relay of ports {dead}+ dies");

        Sys.Stop(relays[dead]);
        var killedAt = DateTimeOffset.UtcNow;

        // consent (3 s), the allocation check (1 s) and the restart's checks: well within one connect timeout
        var (_, again) = SessionEvents.AwaitConnected(events, 2, TimeSpan.FromSeconds(20));
        Sys.Log.Info($"reconnected {(DateTimeOffset.UtcNow - killedAt).TotalSeconds:0.0} s after the relay died: {again["s/a"]}");
        Assert.NotEqual(dead, again["s/a"].Local.Address.Port / 1000 * 1000);
        Assert.NotEqual(dead, again["s/b"].Local.Address.Port / 1000 * 1000);
        var received = SessionEvents.Exchange(events, sessions, new Dictionary<string, string> { ["s/a"] = "after the relay died", ["s/b"] = "back" }, Generous);
        Assert.Equal("after the relay died", received["s/b"]);
        Assert.Equal("back", received["s/a"]);
    }
}
