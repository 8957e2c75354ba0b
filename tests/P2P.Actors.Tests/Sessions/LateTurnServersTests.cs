using System.Net;
using System.Text;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Tests.Turn;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;
using P2P.Protocol.Turn;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sessions;

/// <summary>
/// TURN servers a peer learns after it started (a signaling server's joined message hands them out with time-limited
/// credentials): <see cref="LocalPeerProtocol.AddTurnServers"/>, against a real relay with a shared secret.
/// </summary>
public sealed class LateTurnServersTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private IActorRef StartPeer(string name)
    {
        var config = TurnClientSettingsTests.RepoHocon();
        var parent = CreateTestProbe();
        var settings = new LocalPeerSettings(name, new IPEndPoint(IPAddress.Loopback, 0), [], []);
        var peer = parent.ChildActorOf(LocalPeer.Props(settings, IceSettings.From(config), StunSettings.From(config), TurnClientSettings.From(config)), name);
        parent.ExpectMsg<LocalPeerProtocol.PeerReady>(Generous);
        return peer;
    }

    private async Task<LocalPeerProtocol.Candidates> Candidates(IActorRef peer) =>
        await peer.Ask<LocalPeerProtocol.Candidates>(new LocalPeerProtocol.GetCandidates(), Generous);

    [Fact]
    public async Task Turn_servers_added_after_gathering_completed_give_sessions_opened_later_a_relayed_candidate()
    {
        var config = TurnClientSettingsTests.RepoHocon();
        var relay = Sys.ActorOf(RelayServer.Props(RelaySettings.From(config) with
        {
            Listen = [new IPEndPoint(IPAddress.Loopback, 0)],
            AuthSecrets = ["fleet-secret"],
            AllowLoopback = true,
        }));
        var server = (await relay.Ask<RelayServerProtocol.Listening>(new RelayServerProtocol.AwaitListening(), Generous)).Udp[0];

        var a = StartPeer("alice");
        var b = StartPeer("bob");
        await AwaitAssertAsync(async () => Assert.True((await Candidates(a)).Complete), Generous);
        // a session opened before the servers came keeps what it had (it told its remote end-of-candidates)
        var earlyEvents = CreateTestProbe();
        a.Tell(new LocalPeerProtocol.OpenSession("early", Controlling: true, earlyEvents.Ref, CandidatePolicy.All));
        earlyEvents.FishForMessage<SessionProtocol.LocalDescription>(_ => true, Generous);

        long expiry = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        foreach (var (peer, user) in new[] { (a, "alice"), (b, "bob") })
        {
            var (username, password) = TurnRestCredentials.Mint(Encoding.UTF8.GetBytes("fleet-secret"), user, expiry);
            peer.Tell(new LocalPeerProtocol.AddTurnServers([new TurnServer(server, new TurnCredentials(username, password))]));
        }
        await AwaitAssertAsync(async () =>
        {
            var candidates = await Candidates(a);
            Assert.True(candidates.Complete);
            Assert.Contains(candidates.Local, c => c.Type == CandidateType.Relayed);
        }, Generous);
        var late = earlyEvents.ReceiveWhile<object>(TimeSpan.FromMilliseconds(300), m => m);
        Assert.DoesNotContain(late, m => m is SessionProtocol.LocalCandidate or SessionProtocol.LocalDescription); // no late candidate, no second end

        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        a.Tell(new LocalPeerProtocol.OpenSession("r/a", Controlling: true, link, CandidatePolicy.RelayOnly));
        b.Tell(new LocalPeerProtocol.OpenSession("r/b", Controlling: false, link, CandidatePolicy.RelayOnly));
        var (sessions, connected) = SessionEvents.AwaitConnected(events, 2, Generous);
        Assert.All(connected.Values, p => Assert.Equal(CandidateType.Relayed, p.Local.Type));
        var allocations = await relay.Ask<RelayServerProtocol.AllocationList>(new RelayServerProtocol.GetAllocations(), Generous);
        Assert.All(allocations.Allocations, e => Assert.StartsWith($"{expiry}:", e.User));
        sessions["r/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes("via the handed-out relay")));
        var data = events.FishForMessage<SessionProtocol.DataReceived>(_ => true, Generous);
        Assert.Equal("via the handed-out relay", Encoding.UTF8.GetString(data.Data.Span));
    }

    [Fact]
    public async Task Turn_servers_added_while_gathering_still_runs_are_waited_for()
    {
        var config = TurnClientSettingsTests.RepoHocon();
        var relay = Sys.ActorOf(RelayServer.Props(RelaySettings.From(config) with
        {
            Listen = [new IPEndPoint(IPAddress.Loopback, 0)],
            Users = new Dictionary<string, string> { ["u"] = "p" },
            AllowLoopback = true,
        }));
        var server = (await relay.Ask<RelayServerProtocol.Listening>(new RelayServerProtocol.AwaitListening(), Generous)).Udp[0];
        var a = StartPeer("carol");
        a.Tell(new LocalPeerProtocol.AddTurnServers([new TurnServer(server, new TurnCredentials("u", "p"))]));
        // the same server again is skipped, not a second allocation on one 5-tuple; over TCP it is another allocation
        a.Tell(new LocalPeerProtocol.AddTurnServers([new TurnServer(server, new TurnCredentials("u", "p")), new TurnServer(server, new TurnCredentials("u", "p"), TurnTransport.Tcp)]));
        var events = CreateTestProbe();
        a.Tell(new LocalPeerProtocol.OpenSession("s", Controlling: true, events.Ref, CandidatePolicy.RelayOnly));
        var description = events.FishForMessage<SessionProtocol.LocalDescription>(_ => true, Generous);
        Assert.Equal(2, description.Description.Candidates.Count(c => c.Type == CandidateType.Relayed));
        Assert.Equal(2, (await relay.Ask<RelayServerProtocol.AllocationList>(new RelayServerProtocol.GetAllocations(), Generous)).Allocations.Count);
    }
}
