using System.Net;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Tests.Support;
using P2P.Actors.Tests.Turn;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>Two peers in one process with real UDP sockets on 127.0.0.1: directly, and relay-only through a real relay.</summary>
public sealed class IceLoopbackTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private (IActorRef A, IActorRef B) StartPeers(TestProbe parent, IReadOnlyList<TurnServer> turn)
    {
        var config = TurnClientSettingsTests.RepoHocon();
        var ice = IceSettings.From(config);
        IActorRef Start(string name)
        {
            var settings = new PeerSettings(name, new IPEndPoint(IPAddress.Loopback, 0), [], turn);
            return parent.ChildActorOf(Peer.Props(settings, ice, StunSettings.From(config), TurnClientSettings.From(config)), name);
        }
        var a = Start("alice");
        var b = Start("bob");
        parent.ExpectMsg<PeerProtocol.PeerReady>(Generous);
        parent.ExpectMsg<PeerProtocol.PeerReady>(Generous);
        return (a, b);
    }

    private static void Open(IActorRef a, IActorRef b, IActorRef link, string id, CandidatePolicy? policy = null)
    {
        a.Tell(new PeerProtocol.OpenSession(id + "/a", Controlling: true, link, policy));
        b.Tell(new PeerProtocol.OpenSession(id + "/b", Controlling: false, link, policy));
    }

    [Fact]
    public void Two_peers_connect_directly_over_host_candidates_and_exchange_data()
    {
        var parent = CreateTestProbe();
        var (a, b) = StartPeers(parent, []);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        Open(a, b, link, "s1");

        var sessions = new Dictionary<string, IActorRef>();
        var connected = new Dictionary<string, SelectedPair>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.Started s) sessions[s.SessionId] = s.Session;
            if (m is SessionProtocol.Failed f) throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}");
            if (m is SessionProtocol.Connected c) connected[c.SessionId] = c.Pair;
            return connected.Count == 2;
        }, Generous);
        Assert.All(connected.Values, p => Assert.Equal(CandidateType.Host, p.Local.Type));
        Assert.All(connected.Values, p => Assert.Equal(CandidateType.Host, p.Remote.Type));
        Assert.Equal(connected["s1/a"].Local.Address, connected["s1/b"].Remote.Address);

        sessions["s1/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes("hello bob")));
        sessions["s1/b"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes("hello alice")));
        var received = new Dictionary<string, string>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.DataReceived d) received[d.SessionId] = Encoding.UTF8.GetString(d.Data.Span);
            return received.Count == 2;
        }, Generous);
        Assert.Equal("hello bob", received["s1/b"]);
        Assert.Equal("hello alice", received["s1/a"]);
    }

    [Fact]
    public async Task Relay_only_sessions_connect_through_a_real_relay()
    {
        var config = TurnClientSettingsTests.RepoHocon();
        var relaySettings = RelaySettings.From(config) with
        {
            Listen = [new IPEndPoint(IPAddress.Loopback, 0)],
            Users = new Dictionary<string, string> { ["u"] = "p" },
            AllowLoopback = true,
        };
        var relay = Sys.ActorOf(RelayServer.Props(relaySettings));
        var listening = await relay.Ask<RelayServerProtocol.Listening>(new RelayServerProtocol.AwaitListening(), Generous);
        var server = listening.Udp[0];

        var parent = CreateTestProbe();
        var (a, b) = StartPeers(parent, [new TurnServer(server, new TurnCredentials("u", "p"))]);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        Open(a, b, link, "r1", CandidatePolicy.RelayOnly);

        var sessions = new Dictionary<string, IActorRef>();
        var connected = new Dictionary<string, SelectedPair>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.Started s) sessions[s.SessionId] = s.Session;
            if (m is SessionProtocol.Failed f) throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}");
            if (m is SessionProtocol.Connected c) connected[c.SessionId] = c.Pair;
            return connected.Count == 2;
        }, Generous);
        Assert.All(connected.Values, p => Assert.Equal(CandidateType.Relayed, p.Local.Type));
        Assert.All(connected.Values, p => Assert.Equal(CandidateType.Relayed, p.Remote.Type));

        sessions["r1/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes("via relay")));
        var data = events.FishForMessage<SessionProtocol.DataReceived>(_ => true, Generous);
        Assert.Equal("r1/b", data.SessionId);
        Assert.Equal("via relay", Encoding.UTF8.GetString(data.Data.Span));
    }
}
