using System.Net;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Tests.Support;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Interop;

/// <summary>
/// Our peer against libwebrtc (@roamhq/wrtc) and werift. These stacks must only ever run in a loopback-only
/// network namespace, and our sockets must be in the same one: test.sh runs this class inside
/// tests/interop/webrtc/run-isolated.sh (trait Category=WebRtcIsolated), and the peers it starts share it.
/// </summary>
[Trait("Category", "WebRtcIsolated")]
public sealed class OurPeerWithWebRtcStacksTests : TestKit
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _log;

    public OurPeerWithWebRtcStacksTests(ITestOutputHelper output) : base(string.Empty, output) => _log = output;

    private static void RequireIsolation() =>
        Assert.True(System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().All(n => n.NetworkInterfaceType == System.Net.NetworkInformation.NetworkInterfaceType.Loopback),
            "run this class inside tests/interop/webrtc/run-isolated.sh (test.sh does): WebRTC stacks may only run in a loopback-only namespace");

    // werift needs two things libwebrtc does not insist on: an agreed use_srtp profile even without media (else
    // "need srtpProfile" fails its peer connection after DTLS), and an SCTP INIT from us when it is ICE-controlled
    // (it picks its SCTP initiator by ICE role, not DTLS role). We now do both, as browsers do.
    [Theory]
    [InlineData("wrtc")]
    [InlineData("werift")]
    public async Task Our_peer_answers_their_offer_and_messages_cross_both_ways(string stack)
    {
        RequireIsolation();
        var host = Sys.ActorOf(PeerHost.Props(IceSettings.Default, StunSettings.Default, TurnClientSettings.Default));
        host.Tell(new PeerHostProtocol.AddPeer(new PeerSettings("ours", new IPEndPoint(IPAddress.Loopback, 0), [], [])));
        ExpectMsg<PeerHostProtocol.PeerAdded>(Step);

        await using var them = await WebRtcNodePeer.StartAsync("--stack", stack, "--role", "offer", "--label", "chat");
        try
        {
            var offer = await them.ReadAsync("description", Step);
            string offerSdp = offer.GetProperty("sdp").GetString()!;
            Assert.True(IceDescription.TryParse(offerSdp, skipHostNameCandidates: true, out var remote, out var error, out _), error?.ToString());
            Assert.True(WebRtcSdp.TryGetMid(offerSdp, out var mid));

            var events = CreateTestProbe();
            host.Tell(new PeerHostProtocol.OpenSession("ours", "w", Controlling: false, events.Ref, Secure: true));
            var session = events.ExpectMsg<SessionProtocol.Started>(Step).Session;
            session.Tell(new SessionProtocol.SetRemoteDescription(remote with { EndOfCandidates = true }));
            var ours = events.FishForMessage<SessionProtocol.LocalDescription>(_ => true, Step).Description;
            await them.WriteAsync(new { type = "description", sdpType = "answer", sdp = WebRtcSdp.Write(ours, mid) });

            var opened = events.FishForMessage(m => m is SessionProtocol.ChannelOpened or SessionProtocol.Failed, Step);
            if (opened is SessionProtocol.Failed f) Assert.Fail(f.Reason);
            Assert.Equal("chat", ((SessionProtocol.ChannelOpened)opened).Label);
            await them.ReadAsync("open", Step);

            await them.WriteAsync(new { type = "send", label = "chat", text = "hello from " + stack });
            var got = events.FishForMessage<SessionProtocol.ChannelMessage>(_ => true, Step);
            Assert.Equal("hello from " + stack, Encoding.UTF8.GetString(got.Data.Span));

            session.Tell(new SessionProtocol.SendOnChannel("chat", Encoding.UTF8.GetBytes("hello from p2p"), Binary: false));
            var message = await them.ReadAsync("message", Step);
            Assert.Equal("hello from p2p", message.GetProperty("text").GetString());

            await them.WriteAsync(new { type = "quiet" });
            await ExerciseAsync(them, session, events);
        }
        finally
        {
            _log.WriteLine(them.Transcript);
        }
    }

    [Theory]
    [InlineData("wrtc")]
    [InlineData("werift")]
    public async Task Our_peer_offers_they_answer_and_messages_bulk_and_an_unordered_channel_work(string stack)
    {
        RequireIsolation();
        var host = Sys.ActorOf(PeerHost.Props(IceSettings.Default, StunSettings.Default, TurnClientSettings.Default));
        host.Tell(new PeerHostProtocol.AddPeer(new PeerSettings("ours", new IPEndPoint(IPAddress.Loopback, 0), [], [])));
        ExpectMsg<PeerHostProtocol.PeerAdded>(Step);

        await using var them = await WebRtcNodePeer.StartAsync("--stack", stack, "--role", "answer", "--quiet");
        try
        {
            var events = CreateTestProbe();
            host.Tell(new PeerHostProtocol.OpenSession("ours", "o", Controlling: true, events.Ref, Secure: true));
            var session = events.ExpectMsg<SessionProtocol.Started>(Step).Session;
            var ours = events.FishForMessage<SessionProtocol.LocalDescription>(_ => true, Step).Description;
            await them.WriteAsync(new { type = "description", sdpType = "offer", sdp = WebRtcSdp.Write(ours) });

            var answer = await them.ReadAsync("description", Step);
            Assert.True(IceDescription.TryParse(answer.GetProperty("sdp").GetString()!, skipHostNameCandidates: true, out var remote, out var error, out _), error?.ToString());
            session.Tell(new SessionProtocol.SetRemoteDescription(remote with { EndOfCandidates = true }));

            session.Tell(new SessionProtocol.OpenChannel("chat"));
            var opened = events.FishForMessage(m => m is SessionProtocol.ChannelOpened or SessionProtocol.Failed or SessionProtocol.ChannelError, Step);
            if (opened is SessionProtocol.Failed f) Assert.Fail(f.Reason);
            if (opened is SessionProtocol.ChannelError ce) Assert.Fail(ce.Reason);
            await them.ReadAsync("open", Step);

            await ExerciseAsync(them, session, events);
        }
        finally
        {
            _log.WriteLine(them.Transcript);
        }
    }

    /// <summary>
    /// On the open "chat" channel: 1,000 messages to them (counted and hashed on their side in arrival order),
    /// 10 MiB back in 1,280 messages (in order, same SHA-256), and an unordered channel without retransmissions.
    /// </summary>
    private static async Task ExerciseAsync(WebRtcNodePeer them, IActorRef session, Akka.TestKit.TestProbe events)
    {
        // 1,000 messages to them, counted and hashed on their side in arrival order (from a clean count)
        // (wait for the answer: node reads stdin and the socket in one event loop, and an unanswered reset could be
        // handled after the first messages had already been counted)
        await them.WriteAsync(new { type = "reset", label = "chat" });
        await them.ReadAsync("reset", Step);
        var sent = new MemoryStream();
        for (int i = 0; i < 1000; i++)
        {
            var bytes = Encoding.UTF8.GetBytes($"message {i}");
            sent.Write(bytes);
            session.Tell(new SessionProtocol.SendOnChannel("chat", bytes, Binary: false));
        }
        JsonElement count = default;
        for (int attempt = 0; attempt < 300; attempt++) // up to 30 s: werift takes in only a few hundred messages a second
        {
            await them.WriteAsync(new { type = "count", label = "chat" });
            count = await them.ReadAsync("count", Step);
            if (count.GetProperty("messages").GetInt32() >= 1000) break;
            await Task.Delay(100);
        }
        if (count.GetProperty("messages").GetInt32() != 1000)
        {
            var stats = await new Akka.Actor.ActorSelection(session, "sctp").Ask<P2P.Actors.Sctp.SctpProtocol.Stats>(P2P.Actors.Sctp.SctpProtocol.GetStats.Instance, TimeSpan.FromSeconds(5));
            Assert.Fail($"they counted {count.GetProperty("messages").GetInt32()} of 1,000; our association: {stats}");
        }
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(sent.ToArray())), count.GetProperty("sha256").GetString(), ignoreCase: true);

        // 10 MiB back in 1,280 binary messages of 8 KiB, in order, with the same SHA-256
        const int bulk = 10 << 20;
        await them.WriteAsync(new { type = "bulk", label = "chat", bytes = bulk, chunk = 8 * 1024 });
        var received = new MemoryStream();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.ChannelMessage c && c.Label == "chat") received.Write(c.Data.Span);
            return received.Length >= bulk;
        }, Step);
        var done = await them.ReadAsync("bulkDone", Step);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(received.ToArray())), done.GetProperty("sha256").GetString(), ignoreCase: true);

        // an unordered channel without retransmissions opens on their side with those options and carries data
        session.Tell(new SessionProtocol.OpenChannel("fast", Ordered: false, MaxRetransmits: 0));
        var fast = await them.ReadAsync("open", e => e.GetProperty("label").GetString() == "fast", Step);
        Assert.False(fast.GetProperty("ordered").GetBoolean());
        Assert.Equal(0, fast.GetProperty("maxRetransmits").GetInt32());
        for (int i = 0; i < 100; i++) session.Tell(new SessionProtocol.SendOnChannel("fast", Encoding.UTF8.GetBytes($"tick {i}"), Binary: false));
        JsonElement fastCount = default;
        for (int attempt = 0; attempt < 300; attempt++) // up to 30 s: werift takes in only a few hundred messages a second
        {
            await them.WriteAsync(new { type = "count", label = "fast" });
            fastCount = await them.ReadAsync("count", Step);
            if (fastCount.GetProperty("messages").GetInt32() >= 100) break;
            await Task.Delay(100);
        }
        Assert.Equal(100, fastCount.GetProperty("messages").GetInt32()); // loopback loses nothing
    }
}
