using System.Net;
using System.Text;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Tests.Support;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Virtual;

/// <summary>
/// Relayed data on a peer's shared UDP socket: the TURN client binds a channel to each peer it sends to
/// (<c>p2p.turn-client.bind-channels</c>) and publishes its channels to the Peer, which then writes and reads the
/// ChannelData itself instead of handing every datagram to the allocator and back. With binding off, the same
/// session still works, all through the allocator (Send and Data indications).
/// </summary>
public sealed class RelayedChannelDataTests(ITestOutputHelper output) : RealTimeVirtualNetworkTestBase(Config, output, seed: 4012)
{
    private const string Config = "akka.loglevel = INFO";
    private static readonly IPEndPoint RelayAddress = IPEndPoint.Parse("198.51.100.1:3478");
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private const int Messages = 30;
    private readonly ITestOutputHelper _log = output;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Relayed_data_goes_as_channel_data_through_the_peer_once_a_channel_is_bound(bool bindChannels)
    {
        Net.AddPublicHost("relay", RelayAddress.Address);
        var relaySettings = new RelaySettings { Listen = [RelayAddress], Realm = "vnet", Users = new Dictionary<string, string> { ["alice"] = "secret" } };
        var relay = Sys.ActorOf(RelayServer.Props(relaySettings, Net.SocketsOf("relay")), "relay");
        Assert.IsType<RelayServerProtocol.Listening>(await relay.Ask<object>(new RelayServerProtocol.AwaitListening(), Generous));

        var turn = new TurnServer(RelayAddress, new TurnCredentials("alice", "secret"));
        var client = TurnClientSettings.Default with { BindChannels = bindChannels };
        var alice = StartPeer("alice", "203.0.113.10", turn, client);
        var bob = StartPeer("bob", "203.0.113.20", turn, client);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        alice.Tell(new PeerProtocol.OpenSession("r/a", true, link, CandidatePolicy.RelayOnly));
        bob.Tell(new PeerProtocol.OpenSession("r/b", false, link, CandidatePolicy.RelayOnly));
        var (sessions, pairs) = SessionEvents.AwaitConnected(events, 2, Generous);
        Assert.All(pairs.Values, p => Assert.Equal(CandidateType.Relayed, p.Local.Type));

        for (int i = 0; i < Messages; i++)
        {
            sessions["r/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes($"a{i}")));
            sessions["r/b"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes($"b{i}")));
        }
        var toBob = new List<string>();
        var toAlice = new List<string>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.Failed or SessionProtocol.Disconnected) throw new Xunit.Sdk.XunitException($"the session went down: {m}");
            if (m is SessionProtocol.DataReceived d) (d.SessionId == "r/b" ? toBob : toAlice).Add(Encoding.UTF8.GetString(d.Data.Span));
            return toBob.Count == Messages && toAlice.Count == Messages;
        }, Generous);
        Assert.Equal(Enumerable.Range(0, Messages).Select(i => $"a{i}"), toBob);
        Assert.Equal(Enumerable.Range(0, Messages).Select(i => $"b{i}"), toAlice);

        foreach (var peer in new[] { alice, bob })
        {
            var stats = await peer.Ask<PeerProtocol.Stats>(new PeerProtocol.GetStats(), Generous);
            _log.WriteLine($"{peer.Path.Name}: ChannelData sent {stats.ChannelDataSent}, received {stats.ChannelDataReceived}");
            if (bindChannels)
            {
                // the channels were bound during the checks: the data messages, at least, went as ChannelData both ways
                Assert.True(stats.ChannelDataSent >= Messages, $"{peer.Path.Name} wrote {stats.ChannelDataSent} ChannelData datagrams itself");
                Assert.True(stats.ChannelDataReceived >= Messages, $"{peer.Path.Name} read {stats.ChannelDataReceived} ChannelData datagrams itself");
            }
            else
            {
                Assert.Equal(0, stats.ChannelDataSent);
                Assert.Equal(0, stats.ChannelDataReceived);
            }
        }
    }

    private IActorRef StartPeer(string name, string address, TurnServer turn, TurnClientSettings client)
    {
        Net.AddPublicHost(name, IPAddress.Parse(address));
        var settings = new PeerSettings(name, new IPEndPoint(IPAddress.Any, 5000), [], [turn]) { Sockets = Net.SocketsOf(name) };
        var parent = CreateTestProbe();
        var peer = parent.ChildActorOf(Peer.Props(settings, IceSettings.Default, StunSettings.Default, client), name);
        parent.ExpectMsg<PeerProtocol.PeerReady>(Generous);
        return peer;
    }
}
