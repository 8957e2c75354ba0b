using System.Net;
using System.Text;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// A TURN server that forgets a peer's allocation behind its back (a restart, or coturn closing an allocation whose
/// relayed send failed): the peer's next request for it is answered 437, the TURN client allocates again, and each
/// session gets the new relay candidate, trickled to its remote, and connects through it.
/// </summary>
public sealed class RelayDroppedAllocationTests(ITestOutputHelper output) : RealTimeVirtualNetworkTestBase(Config, output, seed: 4013)
{
    private const string Config = "akka.loglevel = INFO";
    private static readonly IPEndPoint RelayAddress = IPEndPoint.Parse("198.51.100.1:3478");
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_relay_allocation_the_server_forgot_is_made_again_and_the_sessions_connect_over_the_new_relay_candidate()
    {
        var turn = new TurnServer(RelayAddress, new TurnCredentials("alice", "secret"));
        var relay = await StartRelayAsync(RelayAddress, turn.Credentials);
        var alice = StartPeer("alice", "203.0.113.10", turn: turn);
        var bob = StartPeer("bob", "203.0.113.20", turn: turn);
        await AwaitAllocations(relay, 2);
        await AwaitConditionAsync(async () => (await RelayCandidates(alice)).Count == 1, Generous, TimeSpan.FromMilliseconds(20));
        var oldRelayed = (await RelayCandidates(alice)).Single();

        // the relay forgets alice's allocation; alice's client is not told (as with coturn, or a relay restart)
        var allocations = await relay.Ask<RelayServerProtocol.AllocationList>(new RelayServerProtocol.GetAllocations(), Generous);
        var alices = allocations.Allocations.Single(a => a.FiveTuple.Client.Address.Equals(IPAddress.Parse("203.0.113.10")));
        Sys.Stop(alices.Allocation);
        await AwaitAllocations(relay, 1);

        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        alice.Tell(new LocalPeerProtocol.OpenSession("r/a", true, link, CandidatePolicy.RelayOnly));
        bob.Tell(new LocalPeerProtocol.OpenSession("r/b", false, link, CandidatePolicy.RelayOnly));
        var (sessions, pairs) = SessionEvents.AwaitConnected(events, 2, Generous);

        var newRelayed = (await RelayCandidates(alice)).Single();
        Assert.NotEqual(oldRelayed, newRelayed);
        Assert.Equal(CandidateType.Relayed, pairs["r/a"].Local.Type);
        Assert.Equal(newRelayed, pairs["r/a"].Local.Address);
        Assert.Equal(newRelayed, pairs["r/b"].Remote.Address); // bob got it trickled, after his first candidates
        var received = SessionEvents.Exchange(events, sessions, new Dictionary<string, string> { ["r/a"] = "to bob", ["r/b"] = "to alice" }, Generous);
        Assert.Equal("to bob", received["r/b"]);
        Assert.Equal("to alice", received["r/a"]);
        Assert.Equal(2, (await relay.Ask<RelayServerProtocol.AllocationList>(new RelayServerProtocol.GetAllocations(), Generous)).Allocations.Count);
    }

    private static async Task<List<IPEndPoint>> RelayCandidates(IActorRef peer) =>
        (await peer.Ask<LocalPeerProtocol.Candidates>(new LocalPeerProtocol.GetCandidates(), Generous)).Local
        .Where(c => c.Type == CandidateType.Relayed).Select(c => c.Address).ToList();

    private async Task AwaitAllocations(IActorRef relay, int count) =>
        await AwaitConditionAsync(async () =>
            (await relay.Ask<RelayServerProtocol.AllocationList>(new RelayServerProtocol.GetAllocations(), Generous)).Allocations.Count == count,
            Generous, TimeSpan.FromMilliseconds(20));
}
