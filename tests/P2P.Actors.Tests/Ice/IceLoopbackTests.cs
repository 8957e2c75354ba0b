using System.Net;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Tests.Turn;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>Two peers in one process with real UDP sockets on 127.0.0.1: directly, and relay-only through a real relay.</summary>
public sealed class IceLoopbackTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    /// <summary>Starts alice and bob on 127.0.0.1, each under a probe of its own (ChildActorOf expects the probe's next message to be the child's creation).</summary>
    private (IActorRef A, IActorRef B) StartPeers(IReadOnlyList<TurnServer> turn, IReadOnlyList<TurnServer>? turnB = null)
    {
        var config = TurnClientSettingsTests.RepoHocon();
        var ice = IceSettings.From(config);
        IActorRef Start(string name, IReadOnlyList<TurnServer> servers)
        {
            var parent = CreateTestProbe();
            var settings = new LocalPeerSettings(name, new IPEndPoint(IPAddress.Loopback, 0), [], servers);
            var peer = parent.ChildActorOf(LocalPeer.Props(settings, ice, StunSettings.From(config), TurnClientSettings.From(config)), name);
            parent.ExpectMsg<LocalPeerProtocol.PeerReady>(Generous);
            return peer;
        }
        return (Start("alice", turn), Start("bob", turnB ?? turn));
    }

    private static void Open(IActorRef a, IActorRef b, IActorRef link, string id, CandidatePolicy? policy = null)
    {
        a.Tell(new LocalPeerProtocol.OpenSession(id + "/a", Controlling: true, link, policy));
        b.Tell(new LocalPeerProtocol.OpenSession(id + "/b", Controlling: false, link, policy));
    }

    [Fact]
    public void Two_peers_connect_directly_over_host_candidates_and_exchange_data()
    {
        var (a, b) = StartPeers([]);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        Open(a, b, link, "s1");

        var (sessions, connected) = SessionEvents.AwaitConnected(events, 2, Generous);
        Assert.All(connected.Values, p => Assert.Equal(CandidateType.Host, p.Local.Type));
        Assert.All(connected.Values, p => Assert.Equal(CandidateType.Host, p.Remote.Type));
        Assert.Equal(connected["s1/a"].Local.Address, connected["s1/b"].Remote.Address);

        var received = SessionEvents.Exchange(events, sessions, new Dictionary<string, string> { ["s1/a"] = "hello bob", ["s1/b"] = "hello alice" }, Generous);
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

        var (a, b) = StartPeers([new TurnServer(server, new TurnCredentials("u", "p"))]);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        Open(a, b, link, "r1", CandidatePolicy.RelayOnly);

        var (sessions, connected) = SessionEvents.AwaitConnected(events, 2, Generous);
        Assert.All(connected.Values, p => Assert.Equal(CandidateType.Relayed, p.Local.Type));
        Assert.All(connected.Values, p => Assert.Equal(CandidateType.Relayed, p.Remote.Type));

        sessions["r1/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes("via relay")));
        var data = events.FishForMessage<SessionProtocol.DataReceived>(_ => true, Generous);
        Assert.Equal("r1/b", data.SessionId);
        Assert.Equal("via relay", Encoding.UTF8.GetString(data.Data.Span));
    }

    /// <summary>
    /// "UDP blocked" on one side: alice may use only a relayed candidate reached over TCP (RFC 8656 §3.1), bob uses
    /// his host candidate; the session connects through the relay, against our relay and against coturn.
    /// </summary>
    [Theory]
    [InlineData("p2p relay")]
    [InlineData("coturn")]
    public async Task A_side_that_reaches_turn_only_over_tcp_connects_through_the_relay(string server)
    {
        await using var coturn = server == "coturn" ? await CoturnServer.StartAsync() : null;
        IPEndPoint endPoint;
        TurnCredentials credentials;
        if (coturn is not null)
        {
            endPoint = coturn.EndPoint;
            credentials = new TurnCredentials(coturn.Username, coturn.Password);
        }
        else
        {
            var relaySettings = RelaySettings.From(TurnClientSettingsTests.RepoHocon()) with
            {
                Listen = [new IPEndPoint(IPAddress.Loopback, 0)],
                Users = new Dictionary<string, string> { ["u"] = "p" },
                AllowLoopback = true,
            };
            var relay = Sys.ActorOf(RelayServer.Props(relaySettings));
            var listening = await relay.Ask<RelayServerProtocol.Listening>(new RelayServerProtocol.AwaitListening(), Generous);
            endPoint = listening.Tcp[0];
            credentials = new TurnCredentials("u", "p");
        }

        var (a, b) = StartPeers([new TurnServer(endPoint, credentials, TurnTransport.Tcp)], []);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        a.Tell(new LocalPeerProtocol.OpenSession("t/a", Controlling: true, link, CandidatePolicy.RelayOnly));
        b.Tell(new LocalPeerProtocol.OpenSession("t/b", Controlling: false, link));

        var (sessions, connected) = SessionEvents.AwaitConnected(events, 2, Generous);
        Assert.Equal(CandidateType.Relayed, connected["t/a"].Local.Type);
        Assert.Equal(CandidateType.Host, connected["t/b"].Local.Type);

        var received = SessionEvents.Exchange(events, sessions, new Dictionary<string, string> { ["t/a"] = "over tcp to the relay", ["t/b"] = "and back" }, Generous);
        Assert.Equal("over tcp to the relay", received["t/b"]);
        Assert.Equal("and back", received["t/a"]);
    }
}
