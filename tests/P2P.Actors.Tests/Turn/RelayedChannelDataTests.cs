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
/// Relayed data on a peer's shared UDP socket: the TURN client binds a channel to each peer it sends to
/// (<c>p2p.turn-client.bind-channels</c>) and publishes its channels to the LocalPeer, which then writes and reads the
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
        var turn = new TurnServer(RelayAddress, new TurnCredentials("alice", "secret"));
        await StartRelayAsync(RelayAddress, turn.Credentials);
        var client = TurnClientSettings.Default with { BindChannels = bindChannels };
        var alice = StartPeer("alice", "203.0.113.10", turn: turn, client: client);
        var bob = StartPeer("bob", "203.0.113.20", turn: turn, client: client);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        alice.Tell(new LocalPeerProtocol.OpenSession("r/a", true, link, CandidatePolicy.RelayOnly));
        bob.Tell(new LocalPeerProtocol.OpenSession("r/b", false, link, CandidatePolicy.RelayOnly));
        var (sessions, pairs) = SessionEvents.AwaitConnected(events, 2, Generous);
        Assert.All(pairs.Values, p => Assert.Equal(CandidateType.Relayed, p.Local.Type));

        // a first round: more datagrams than BindChannelAfter, so that the allocators ask for their channels
        Exchange(events, sessions, "first");
        if (bindChannels)   // the bindings' answers may still be on their way on a loaded machine
            await AwaitConditionAsync(async () => (await StatsOf(alice, bob)).All(s => s.ChannelsInUse == 1), Generous, TimeSpan.FromMilliseconds(20));
        var before = await StatsOf(alice, bob);
        Exchange(events, sessions, "second");
        var after = await StatsOf(alice, bob);

        for (int p = 0; p < 2; p++)
        {
            long sent = after[p].ChannelDataSent - before[p].ChannelDataSent, received = after[p].ChannelDataReceived - before[p].ChannelDataReceived;
            _log.WriteLine($"peer {p}: second round ChannelData sent {sent}, received {received} (in all {after[p].ChannelDataSent}, {after[p].ChannelDataReceived})");
            if (bindChannels)
            {
                // every datagram of the second round went as ChannelData, written and read by the LocalPeer itself
                Assert.True(sent >= Messages, $"peer {p} wrote {sent} ChannelData datagrams itself in the second round");
                Assert.True(received >= Messages, $"peer {p} read {received} ChannelData datagrams itself in the second round");
            }
            else
            {
                Assert.Equal(0, after[p].ChannelsInUse);
                Assert.Equal(0, after[p].ChannelDataSent);
                Assert.Equal(0, after[p].ChannelDataReceived);
            }
        }
    }

    private static async Task<LocalPeerProtocol.Stats[]> StatsOf(params IActorRef[] peers) =>
        await Task.WhenAll(peers.Select(p => p.Ask<LocalPeerProtocol.Stats>(new LocalPeerProtocol.GetStats(), Generous)));

    /// <summary>Messages numbered a0.. and b0.. both ways; each side gets the other's, all of them, in order.</summary>
    private static void Exchange(Akka.TestKit.TestProbe events, Dictionary<string, IActorRef> sessions, string round)
    {
        for (int i = 0; i < Messages; i++)
        {
            sessions["r/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes($"{round} a{i}")));
            sessions["r/b"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes($"{round} b{i}")));
        }
        var toBob = new List<string>();
        var toAlice = new List<string>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.Failed or SessionProtocol.Disconnected) throw new Xunit.Sdk.XunitException($"the session went down: {m}");
            if (m is SessionProtocol.DataReceived d) (d.SessionId == "r/b" ? toBob : toAlice).Add(Encoding.UTF8.GetString(d.Data.Span));
            return toBob.Count == Messages && toAlice.Count == Messages;
        }, Generous);
        Assert.Equal(Enumerable.Range(0, Messages).Select(i => $"{round} a{i}"), toBob);
        Assert.Equal(Enumerable.Range(0, Messages).Select(i => $"{round} b{i}"), toAlice);
    }
}
