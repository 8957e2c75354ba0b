using System.Net;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
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
    public async Task Our_peer_answers_their_offer_and_ordered_bulk_and_unordered_channels_work_both_ways(string stack)
    {
        var (them, session, events) = await AnswerTheirOfferAsync(stack);
        await using var disposeThem = them;
        try
        {
            await them.WriteAsync(new { type = "send", label = "chat", text = "hello from " + stack });
            var got = events.FishForMessage<SessionProtocol.ChannelMessage>(_ => true, Step);
            Assert.Equal("hello from " + stack, Encoding.UTF8.GetString(got.Data.Span));

            session.Tell(new SessionProtocol.SendOnChannel("chat", Encoding.UTF8.GetBytes("hello from p2p"), Binary: false));
            var message = await them.ReadAsync("message", Step);
            Assert.Equal("hello from p2p", message.GetProperty("text").GetString());

            await them.WriteAsync(new { type = "quiet" });
            await ExerciseAsync(stack, them, session, events);
        }
        finally
        {
            _log.WriteLine(them.Transcript);
        }
    }

    [Theory]
    [InlineData("wrtc")]
    [InlineData("werift")]
    public async Task Our_peer_offers_they_answer_and_ordered_bulk_and_unordered_channels_work_both_ways(string stack)
    {
        RequireIsolation();
        var host = StartHost();
        var them = await WebRtcNodePeer.StartAsync("--stack", stack, "--role", "answer", "--quiet");
        await using var disposeThem = them;
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
            await them.ReadAsync("open", e => Is(e, "open", "chat"), Step);

            await ExerciseAsync(stack, them, session, events);
        }
        finally
        {
            _log.WriteLine(them.Transcript);
        }
    }

    /// <summary>
    /// A data channel is closed by resetting its streams (RFC 8831 §6.7, RFC 6525). Channels opened by either side
    /// are closed from either side; each close must reach the other end (their <c>close</c> event, our
    /// <see cref="SessionProtocol.ChannelClosed"/>), and the channels not closed keep carrying messages both ways.
    /// </summary>
    [Theory]
    [InlineData("wrtc")]
    [InlineData("werift")]
    public async Task Closing_a_channel_on_either_side_closes_it_on_the_other_and_the_other_channels_keep_working(string stack)
    {
        var (them, session, events) = await AnswerTheirOfferAsync(stack);
        await using var disposeThem = them;
        try
        {
            // two more channels opened by us, two by them (all reliable and ordered, so any message check is exact)
            foreach (var label in new[] { "ours-1", "ours-2" })
            {
                session.Tell(new SessionProtocol.OpenChannel(label));
                await ExpectOpenedOnBothSidesAsync(them, events, label, remoteInitiated: false);
            }
            foreach (var label in new[] { "theirs-1", "theirs-2" })
            {
                await them.WriteAsync(new { type = "createChannel", label, ordered = true });
                await ExpectOpenedOnBothSidesAsync(them, events, label, remoteInitiated: true);
            }
            var open = new List<string> { "chat", "ours-1", "ours-2", "theirs-1", "theirs-2" };
            int round = 0;
            async Task AllOpenStillCarryAsync()
            {
                round++;
                foreach (var label in open) await CarriesBothWaysAsync(them, session, events, label, $"round {round}");
            }
            await AllOpenStillCarryAsync();

            // our close: their close event fires (they never called close on it), ours reports it closed
            foreach (var label in new[] { "ours-1", "theirs-1" })
            {
                session.Tell(new SessionProtocol.CloseChannel(label));
                events.FishForMessage<SessionProtocol.ChannelClosed>(c => c.Label == label, Step);
                await them.ReadAsync("channelClosed", e => Is(e, "channelClosed", label), Step);
                open.Remove(label);
                await AllOpenStillCarryAsync();
            }

            // their close: our channel reports closed
            foreach (var label in new[] { "ours-2", "theirs-2" })
            {
                await them.WriteAsync(new { type = "closeChannel", label });
                events.FishForMessage<SessionProtocol.ChannelClosed>(c => c.Label == label, Step);
                await them.ReadAsync("channelClosed", e => Is(e, "channelClosed", label), Step);
                open.Remove(label);
                await AllOpenStillCarryAsync();
            }

            // the closed labels are gone on our side: sending on one is refused
            foreach (var label in new[] { "ours-1", "theirs-1", "ours-2", "theirs-2" })
            {
                session.Tell(new SessionProtocol.SendOnChannel(label, Encoding.UTF8.GetBytes("after close"), Binary: false));
                var refused = events.FishForMessage<SessionProtocol.ChannelError>(e => e.Label == label, Step);
                Assert.Contains("no channel labelled", refused.Reason);
            }
        }
        finally
        {
            _log.WriteLine(them.Transcript);
        }
    }

    /// <summary>An event of their peer of this type about this channel.</summary>
    private static bool Is(JsonElement e, string type, string label) =>
        e.TryGetProperty("type", out var t) && t.ValueEquals(type) && e.TryGetProperty("label", out var l) && l.ValueEquals(label);

    private IActorRef StartHost()
    {
        var host = Sys.ActorOf(PeerHost.Props());
        host.Tell(new PeerHostProtocol.AddPeer(new LocalPeerSettings("ours", new IPEndPoint(IPAddress.Loopback, 0), [], [])));
        ExpectMsg<PeerHostProtocol.PeerAdded>(Step);
        return host;
    }

    /// <summary>They offer (with a "chat" channel), our peer answers; returns once "chat" is open on both sides.</summary>
    private async Task<(WebRtcNodePeer Them, IActorRef Session, Akka.TestKit.TestProbe Events)> AnswerTheirOfferAsync(string stack)
    {
        RequireIsolation();
        var host = StartHost();
        var them = await WebRtcNodePeer.StartAsync("--stack", stack, "--role", "offer", "--label", "chat");
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
            await them.ReadAsync("open", e => Is(e, "open", "chat"), Step);
            return (them, session, events);
        }
        catch
        {
            _log.WriteLine(them.Transcript);
            await them.DisposeAsync();
            throw;
        }
    }

    private static async Task<SessionProtocol.ChannelOpened> ExpectOpenedOnBothSidesAsync(WebRtcNodePeer them, Akka.TestKit.TestProbe events, string label, bool remoteInitiated)
    {
        var opened = events.FishForMessage(m => m is SessionProtocol.ChannelOpened o && o.Label == label || m is SessionProtocol.ChannelError e && e.Label == label, Step);
        if (opened is SessionProtocol.ChannelError ce) Assert.Fail($"{label}: {ce.Reason}");
        var ours = (SessionProtocol.ChannelOpened)opened;
        Assert.Equal(remoteInitiated, ours.RemoteInitiated);
        await them.ReadAsync("open", e => Is(e, "open", label), Step);
        return ours;
    }

    /// <summary>One text message each way on a reliable channel, each seen by the other side exactly as sent.</summary>
    private static async Task CarriesBothWaysAsync(WebRtcNodePeer them, IActorRef session, Akka.TestKit.TestProbe events, string label, string tag)
    {
        string toThem = $"to them on {label}, {tag}", toUs = $"to us on {label}, {tag}";
        session.Tell(new SessionProtocol.SendOnChannel(label, Encoding.UTF8.GetBytes(toThem), Binary: false));
        await them.ReadAsync("message", e => Is(e, "message", label) && e.TryGetProperty("text", out var t) && t.ValueEquals(toThem), Step);
        await them.WriteAsync(new { type = "send", label, text = toUs });
        events.FishForMessage<SessionProtocol.ChannelMessage>(m => m.Label == label && Encoding.UTF8.GetString(m.Data.Span) == toUs, Step);
    }

    /// <summary>
    /// On the open "chat" channel: 1,000 numbered messages each way, each arriving once and in order; 10 MiB of
    /// binary messages each way with the same SHA-256 on arrival; then an unordered channel without retransmissions
    /// opened by each side, its options seen by the other side, carrying data both ways.
    /// </summary>
    private static async Task ExerciseAsync(string stack, WebRtcNodePeer them, IActorRef session, Akka.TestKit.TestProbe events)
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

        // 1,000 numbered text messages from them: every one arrives exactly once, in order
        await them.WriteAsync(new { type = "sendMany", label = "chat", count = 1000, prefix = "from them " });
        var texts = new List<string>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.ChannelMessage c && c.Label == "chat")
            {
                Assert.False(c.Binary, "a text message arrived as binary");
                texts.Add(Encoding.UTF8.GetString(c.Data.Span));
            }
            return texts.Count >= 1000;
        }, Step);
        await them.ReadAsync("sendManyDone", Step);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"from them {i}"), texts);

        // 10 MiB to them in 640 binary messages of 16 KiB, hashed on their side in arrival order
        const int bulk = 10 << 20;
        await them.WriteAsync(new { type = "reset", label = "chat" });
        await them.ReadAsync("reset", Step);
        await them.WriteAsync(new { type = "expect", label = "chat", bytes = bulk });
        var payload = new byte[bulk];
        new Random(4).NextBytes(payload);
        for (int at = 0; at < bulk; at += 16 * 1024)
            session.Tell(new SessionProtocol.SendOnChannel("chat", payload.AsMemory(at, 16 * 1024).ToArray(), Binary: true));
        var arrived = await them.ReadAsync("expectDone", Step);
        Assert.Equal(bulk, arrived.GetProperty("bytes").GetInt32());
        Assert.Equal(bulk / (16 * 1024), arrived.GetProperty("messages").GetInt32());
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(payload)), arrived.GetProperty("sha256").GetString(), ignoreCase: true);

        // 10 MiB back in 1,280 binary messages of 8 KiB, in order, with the same SHA-256
        await them.WriteAsync(new { type = "bulk", label = "chat", bytes = bulk, chunk = 8 * 1024 });
        var received = new MemoryStream();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.ChannelMessage c && c.Label == "chat") received.Write(c.Data.Span);
            return received.Length >= bulk;
        }, Step);
        var done = await them.ReadAsync("bulkDone", Step);
        Assert.Equal(bulk, received.Length);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(received.ToArray())), done.GetProperty("sha256").GetString(), ignoreCase: true);

        // an unordered channel without retransmissions opened by us: they see those options, data crosses both ways
        session.Tell(new SessionProtocol.OpenChannel("fast", Ordered: false, MaxRetransmits: 0));
        var fast = await them.ReadAsync("open", e => Is(e, "open", "fast"), Step);
        Assert.False(fast.GetProperty("ordered").GetBoolean());
        Assert.Equal(0, fast.GetProperty("maxRetransmits").GetInt32());
        events.FishForMessage<SessionProtocol.ChannelOpened>(o => o.Label == "fast", Step);
        await UnreliableBothWaysAsync(them, session, events, "fast");

        // the same opened by them: our side sees its options (werift announces it as ordered: see README, quirks)
        await them.WriteAsync(new { type = "createChannel", label = "rt", ordered = false, maxRetransmits = 0 });
        var rt = await ExpectOpenedOnBothSidesAsync(them, events, "rt", remoteInitiated: true);
        Assert.Equal(0, rt.MaxRetransmits);
        Assert.Null(rt.MaxLifetime);
        if (stack != "werift") Assert.False(rt.Ordered);
        await UnreliableBothWaysAsync(them, session, events, "rt");
    }

    /// <summary>
    /// 100 numbered messages each way on a channel without retransmissions. Such a channel may lose a datagram even on
    /// loopback, so this asks for most (not all) of them, each at most once and none made up; a channel that does not
    /// carry data fails it.
    /// </summary>
    private static async Task UnreliableBothWaysAsync(WebRtcNodePeer them, IActorRef session, Akka.TestKit.TestProbe events, string label)
    {
        const int n = 100, most = n / 2;
        var quiet = TimeSpan.FromSeconds(1); // no news for this long after the last send: what was lost stays lost

        await them.WriteAsync(new { type = "reset", label });
        await them.ReadAsync("reset", Step);
        for (int i = 0; i < n; i++) session.Tell(new SessionProtocol.SendOnChannel(label, Encoding.UTF8.GetBytes($"{label} to them {i}"), Binary: false));
        int theirs = -1;
        var sinceChange = System.Diagnostics.Stopwatch.StartNew();
        while (sinceChange.Elapsed < quiet)
        {
            await them.WriteAsync(new { type = "count", label });
            int now = (await them.ReadAsync("count", e => Is(e, "count", label), Step)).GetProperty("messages").GetInt32();
            if (now != theirs) { theirs = now; sinceChange.Restart(); }
            if (theirs >= n) break;
            await Task.Delay(20);
        }
        Assert.InRange(theirs, most, n);

        await them.WriteAsync(new { type = "sendMany", label, count = n, prefix = $"{label} to us " });
        await them.ReadAsync("sendManyDone", e => Is(e, "sendManyDone", label), Step);
        var expected = Enumerable.Range(0, n).Select(i => $"{label} to us {i}").ToHashSet();
        var seen = new HashSet<string>();
        var overall = System.Diagnostics.Stopwatch.StartNew();
        while (seen.Count < n && overall.Elapsed < Step && events.ReceiveOne(quiet) is { } message)
        {
            if (message is not SessionProtocol.ChannelMessage m || m.Label != label) continue;
            string text = Encoding.UTF8.GetString(m.Data.Span);
            Assert.Contains(text, expected);
            Assert.True(seen.Add(text), $"{text} arrived twice");
        }
        Assert.InRange(seen.Count, most, n);
    }
}
