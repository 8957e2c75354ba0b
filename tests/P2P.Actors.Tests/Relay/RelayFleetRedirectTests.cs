using System.Net;
using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Relay.Fleet;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// Relays of a fleet on the virtual network, their fleet view given by the test (as their <see cref="RelayFleet"/> would):
/// a full node's 300 Try Alternate followed by our TURN client (no loops), the quota counted across nodes, and a session
/// whose relay (a node it was redirected to) dies restarting onto a relay candidate from a live node.
/// </summary>
public sealed class RelayFleetRedirectTests(ITestOutputHelper output) : RealTimeVirtualNetworkTestBase("akka.loglevel = INFO", output, seed: 1717)
{
    private static readonly IPEndPoint A = IPEndPoint.Parse("198.51.100.1:3478"), B = IPEndPoint.Parse("198.51.100.2:3478"), D = IPEndPoint.Parse("198.51.100.4:3478");
    private static readonly TurnCredentials Alice = new("alice", "secret");
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private async Task<IActorRef> Relay(string host, IPEndPoint address, int maxAllocations = 100, int quota = 10)
    {
        Net.AddPublicHost(host, address.Address);
        var settings = new RelaySettings
        {
            Listen = [address], Realm = "vnet", Users = new Dictionary<string, string> { [Alice.Username] = Alice.Password },
            MaxAllocations = maxAllocations, UserQuota = quota,
        };
        var relay = Sys.ActorOf(RelayServer.Props(settings, Net.SocketsOf(host)), host);
        Assert.IsType<RelayServerProtocol.Listening>(await relay.Ask<object>(new RelayServerProtocol.AwaitListening(), Generous));
        return relay;
    }

    private static RelayFleetProtocol.ViewChanged View(params (string Node, IPEndPoint Udp, int Allocations, Dictionary<string, int>? Users)[] others) =>
        new(new RelayFleetView(others.ToDictionary(o => o.Node, o => new RelayNodeEntry([o.Udp.ToString()], [], [], o.Allocations, 10, false, o.Users ?? [])),
            new HashSet<string>()));

    private (IActorRef Peer, TestProbe Parent) Peer(string name, string address, IceSettings? ice = null)
    {
        Net.AddPublicHost(name, IPAddress.Parse(address));
        var settings = new LocalPeerSettings(name, new IPEndPoint(IPAddress.Any, 5000), [], [new TurnServer(A, Alice)]) { Sockets = Net.SocketsOf(name) };
        var parent = CreateTestProbe();
        var client = TurnClientSettings.Default with { AllocationCheckTimeout = TimeSpan.FromSeconds(1) };
        var peer = parent.ChildActorOf(LocalPeer.Props(settings, ice ?? IceSettings.Default, StunSettings.Default, client), name);
        parent.ExpectMsg<LocalPeerProtocol.PeerReady>(Generous);
        return (peer, parent);
    }

    private static async Task<IPEndPoint?> RelayCandidate(IActorRef peer) =>
        (await peer.Ask<LocalPeerProtocol.Candidates>(new LocalPeerProtocol.GetCandidates(), Generous)).Local
        .Where(c => c.Type == CandidateType.Relayed).Select(c => c.Address).SingleOrDefault();

    private async Task<IPEndPoint> AwaitRelayCandidate(IActorRef peer)
    {
        IPEndPoint? found = null;
        await AwaitConditionAsync(async () => (found = await RelayCandidate(peer)) is not null, Generous, TimeSpan.FromMilliseconds(20));
        return found!;
    }

    private static async Task<long> Redirected(IActorRef relay) =>
        (await relay.Ask<RelayServerProtocol.FleetStats>(RelayServerProtocol.GetFleetStats.Instance, Generous)).Redirected;

    [Fact]
    public async Task A_full_node_redirects_a_new_allocation_to_the_least_loaded_node_and_the_relay_candidate_comes_from_there()
    {
        var a = await Relay("relay-a", A, maxAllocations: 1);
        await Relay("relay-b", B);
        await Relay("relay-d", D);
        a.Tell(View(("b", B, 1, null), ("d", D, 5, null)));
        var (carol, _) = Peer("carol", "203.0.113.30");
        Assert.Equal(A.Address, (await AwaitRelayCandidate(carol)).Address); // A had room: A is now full

        var (alice, _) = Peer("alice", "203.0.113.10");
        Assert.Equal(B.Address, (await AwaitRelayCandidate(alice)).Address);
        Assert.Equal(1, await Redirected(a));
    }

    [Fact]
    public async Task A_redirect_back_to_a_server_already_asked_is_not_followed()
    {
        var a = await Relay("relay-a", A, maxAllocations: 1);
        var b = await Relay("relay-b", B, maxAllocations: 1);
        var (carol, _) = Peer("carol", "203.0.113.30");
        await AwaitRelayCandidate(carol); // fills A
        a.Tell(View(("b", B, 0, null)));
        b.Tell(View(("a", A, 0, null))); // a stale view: each thinks the other has room
        var filler = Peer("dave", "203.0.113.40");
        // dave: A is full, sends him to B, where he takes the last place (so B is full too)
        Assert.Equal(B.Address, (await AwaitRelayCandidate(filler.Peer)).Address);

        var (alice, parent) = Peer("alice", "203.0.113.10");
        var problem = parent.FishForMessage<LocalPeerProtocol.GatheringProblem>(p => p.Reason.Contains("300"), Generous);
        Assert.Contains($"TURN server {B} redirects to {A}", problem.Reason);
        Assert.Contains("already asked there (no redirect loops", problem.Reason);
        Assert.Null(await RelayCandidate(alice));
        Assert.Equal((2L, 1L), (await Redirected(a), await Redirected(b))); // dave and alice at A; alice alone at B, once
    }

    [Fact]
    public async Task The_user_quota_counts_the_users_allocations_on_the_other_nodes()
    {
        var a = await Relay("relay-a", A, quota: 2);
        a.Tell(View(("b", B, 2, new Dictionary<string, int> { [Alice.Username] = 2 })));
        var (alice, parent) = Peer("alice", "203.0.113.10");
        var problem = parent.FishForMessage<LocalPeerProtocol.GatheringProblem>(p => p.Reason.Contains("TURN"), Generous);
        Assert.Contains("486", problem.Reason);
        Assert.Null(await RelayCandidate(alice));

        a.Tell(View(("b", B, 1, new Dictionary<string, int> { [Alice.Username] = 1 }))); // one released there
        var (bob, _) = Peer("bob", "203.0.113.20");
        Assert.Equal(A.Address, (await AwaitRelayCandidate(bob)).Address);
    }

    [Fact]
    public async Task A_session_whose_redirected_relay_dies_restarts_onto_a_relay_candidate_from_a_live_node()
    {
        var quickConsent = IceSettings.Default with
        {
            ConsentInterval = TimeSpan.FromMilliseconds(500), ConsentTimeout = TimeSpan.FromSeconds(3), ConsentGrid = TimeSpan.Zero,
        };
        var a = await Relay("relay-a", A, maxAllocations: 1);
        var b = await Relay("relay-b", B);
        await Relay("relay-d", D);
        a.Tell(View(("b", B, 0, null), ("d", D, 1, null)));
        var (bob, _) = Peer("bob", "203.0.113.20", quickConsent);
        Assert.Equal(A.Address, (await AwaitRelayCandidate(bob)).Address);
        var (alice, _) = Peer("alice", "203.0.113.10", quickConsent);
        Assert.Equal(B.Address, (await AwaitRelayCandidate(alice)).Address);

        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        alice.Tell(new LocalPeerProtocol.OpenSession("s/a", true, link, CandidatePolicy.RelayOnly));
        bob.Tell(new LocalPeerProtocol.OpenSession("s/b", false, link, CandidatePolicy.RelayOnly));
        var (sessions, pairs) = SessionEvents.AwaitConnected(events, 2, Generous);
        Assert.Equal(B.Address, pairs["s/a"].Local.Address.Address);

        // B dies with alice's allocation; the fleet forgets it (its survivors remove its entry), D has room
        Sys.Stop(b);
        a.Tell(View(("d", D, 1, null)));

        var (_, again) = SessionEvents.AwaitConnected(events, 2, Generous);
        Assert.Equal(D.Address, again["s/a"].Local.Address.Address);
        Assert.Equal(D.Address, (await AwaitRelayCandidate(alice)).Address);
        var received = SessionEvents.Exchange(events, sessions, new Dictionary<string, string> { ["s/a"] = "after the relay died", ["s/b"] = "back" }, Generous);
        Assert.Equal("after the relay died", received["s/b"]);
        Assert.Equal("back", received["s/a"]);
    }
}
