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

namespace P2P.Actors.Tests.Interop;

/// <summary>
/// Our ICE agent against libnice (the original program's ICE library), through the C stand-in: descriptions are
/// exchanged as a user would paste them (libnice's text into us, ours in libnice's layout into it), in both roles,
/// with host candidates and relay-only through a real `p2p relay`; datagrams cross both ways.
/// </summary>
public sealed class LibniceIceTests : TestKit
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(40);
    private readonly ITestOutputHelper _output;

    public LibniceIceTests(ITestOutputHelper output) : base(string.Empty, output) => _output = output;

    public static TheoryData<bool, bool> Cases => new()
    {
        { true, false },   // libnice controlling (-s), host candidates
        { false, false },  // libnice controlled, host candidates
        { true, true },    // libnice controlling, relay-only through p2p relay
        { false, true },   // libnice controlled, relay-only
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Our_agent_connects_to_libnice_and_datagrams_cross_both_ways(bool libniceControlling, bool relayOnly)
    {
        var config = TurnClientSettingsTests.RepoHocon();
        IPEndPoint? relayServer = null;
        if (relayOnly)
        {
            var relaySettings = RelaySettings.From(config) with
            {
                Listen = [new IPEndPoint(IPAddress.Loopback, 0)],
                Users = new Dictionary<string, string> { ["u"] = "p" },
                AllowLoopback = true,
            };
            var relay = Sys.ActorOf(RelayServer.Props(relaySettings));
            relayServer = (await relay.Ask<RelayServerProtocol.Listening>(new RelayServerProtocol.AwaitListening(), Step)).Udp[0];
        }

        string[] args = relayOnly
            ? ["--relay-only", "--turn", "127.0.0.1", "--turn-port", relayServer!.Port.ToString(), "--turn-user", "u", "--turn-pass", "p", "--timeout", "60"]
            : ["--timeout", "60"];
        await using var nice = await NicePeer.StartAsync(libniceControlling ? ["-s", .. args] : args);
        try
        {
            var parent = CreateTestProbe();
            var peerSettings = new LocalPeerSettings("ours", new IPEndPoint(IPAddress.Loopback, 0), [],
                relayOnly ? [new TurnServer(relayServer!, new TurnCredentials("u", "p"))] : []);
            var peer = parent.ChildActorOf(LocalPeer.Props(peerSettings, IceSettings.From(config), StunSettings.From(config), TurnClientSettings.From(config)), "ours");
            parent.ExpectMsg<LocalPeerProtocol.PeerReady>(Step);

            var events = CreateTestProbe();
            peer.Tell(new LocalPeerProtocol.OpenSession("nice", Controlling: !libniceControlling, events.Ref, relayOnly ? CandidatePolicy.RelayOnly : CandidatePolicy.All));
            var session = events.ExpectMsg<SessionProtocol.Started>(Step).Session;

            // libnice's text, as pasted: m=/c= lines and TCP candidates included
            string theirs = await nice.ReadLocalDescriptionAsync(Step);
            Assert.True(IceDescription.TryParse(theirs, out var remote, out var error), error?.ToString());
            Assert.Contains(remote.Candidates, c => c.Transport == CandidateTransport.Tcp || relayOnly);
            session.Tell(new SessionProtocol.SetRemoteDescription(remote with { EndOfCandidates = true }));

            var ours = events.FishForMessage<SessionProtocol.LocalDescription>(_ => true, Step).Description;
            Assert.All(ours.Candidates, c => Assert.Equal(relayOnly ? CandidateType.Relayed : CandidateType.Host, c.Type));
            await nice.WriteRemoteDescriptionAsync(ours.Write(IceDescriptionFormat.Libnice));

            var connected = events.FishForMessage(m => m is SessionProtocol.Connected or SessionProtocol.Failed, Step);
            if (connected is SessionProtocol.Failed failed) Assert.Fail($"our session failed: {failed.Reason}");
            var pair = ((SessionProtocol.Connected)connected).Pair;
            Assert.Equal(relayOnly ? CandidateType.Relayed : CandidateType.Host, pair.Local.Type);
            await nice.WaitForLineAsync(l => l == "Connected", Step);

            session.Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes("hello from p2p")));
            Assert.Equal("Received: hello from p2p", await nice.WaitForLineAsync(l => l.StartsWith("Received: "), Step));

            await nice.WriteLineAsync("hello from libnice");
            var data = events.FishForMessage<SessionProtocol.DataReceived>(_ => true, Step);
            Assert.Equal("hello from libnice", Encoding.UTF8.GetString(data.Data.Span));
        }
        finally
        {
            _output.WriteLine(nice.Transcript);
        }
    }
}
