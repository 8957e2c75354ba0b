using System.Net;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Tests.Support;
using P2P.Actors.Transport;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// A relay sees only ciphertext: two peers talk relay-only through our TURN server on the virtual
/// network while every datagram the server receives (on its listening socket and on the relayed sockets of the
/// allocations) is copied to the test. The chat text and a known binary payload arrive at the other peer, and never
/// appear in what the relay saw, on a secure session; on a plain one the same tap sees them in clear, which shows the
/// tap sees what the relay forwards.
/// </summary>
public sealed class RelaySeesOnlyCiphertextTests(ITestOutputHelper output) : RealTimeVirtualNetworkTestBase(Config, output, seed: 8656)
{
    private const string Config = "akka.loglevel = INFO";
    private const string TurnUser = "alice", TurnPassword = "secret";
    private static readonly IPEndPoint RelayAddress = IPEndPoint.Parse("198.51.100.1:3478");
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private const string ChatLine = "meet me at the old mill at nine, bring the blue folder";
    private readonly ITestOutputHelper _log = output;

    [Fact]
    public async Task A_relay_between_secure_peers_sees_only_ciphertext()
    {
        var (seen, blob) = await TalkThroughTheRelayAsync(secure: true, "c");
        Assert.False(Contains(seen, Encoding.UTF8.GetBytes(ChatLine)), "the relay saw the chat line in clear");
        // not one 16-byte piece of the binary payload crossed the relay as it is
        for (int off = 0; off + 16 <= blob.Length; off += 16)
            Assert.False(Contains(seen, blob.AsSpan(off, 16).ToArray()), $"the relay saw bytes {off}..{off + 15} of the payload in clear");
    }

    [Fact]
    public async Task The_tap_on_the_relay_reads_a_plain_session_in_clear()
    {
        var (seen, blob) = await TalkThroughTheRelayAsync(secure: false, "p");
        Assert.True(Contains(seen, Encoding.UTF8.GetBytes(ChatLine)));
        Assert.True(Contains(seen, blob));
    }

    /// <summary>
    /// Alice and bob (public hosts, relay-only candidates) connect through the relay and send each other the chat line
    /// and a 4 KiB random payload; both must arrive. Returns every datagram the relay received meanwhile, and the payload.
    /// </summary>
    private async Task<(List<byte[]> Seen, byte[] Blob)> TalkThroughTheRelayAsync(bool secure, string id)
    {
        var tap = CreateTestProbe();
        var turn = new TurnServer(RelayAddress, new TurnCredentials(TurnUser, TurnPassword));
        await StartRelayAsync(RelayAddress, turn.Credentials, sockets => new TappedSockets(sockets, Sys, tap.Ref));
        var alice = StartPeer("alice", "203.0.113.10", turn: turn);
        var bob = StartPeer("bob", "203.0.113.20", turn: turn);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        alice.Tell(new LocalPeerProtocol.OpenSession($"{id}/a", true, link, CandidatePolicy.RelayOnly, Secure: secure));
        bob.Tell(new LocalPeerProtocol.OpenSession($"{id}/b", false, link, CandidatePolicy.RelayOnly, Secure: secure));
        var (sessions, pairs) = SessionEvents.AwaitConnected(events, 2, Generous);
        Assert.All(pairs.Values, p => Assert.Equal(CandidateType.Relayed, p.Local.Type)); // every datagram goes through the relay

        var blob = RandomNumberGenerator.GetBytes(4096);
        sessions[$"{id}/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes(ChatLine)));
        sessions[$"{id}/b"].Tell(new SessionProtocol.Send(blob));
        string? line = null;
        byte[]? got = null;
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.Failed or SessionProtocol.Disconnected) throw new Xunit.Sdk.XunitException($"the session went down: {m}");
            if (m is SessionProtocol.DataReceived { SessionId: var s } d && s == $"{id}/b") line = Encoding.UTF8.GetString(d.Data.Span);
            if (m is SessionProtocol.DataReceived { SessionId: var r } e && r == $"{id}/a") got = e.Data.ToArray();
            return line is not null && got is not null;
        }, Generous);
        Assert.Equal(ChatLine, line);
        Assert.Equal(blob, got);

        // what arrived has crossed the relay before its copy reached the tap: take everything copied so far
        var seen = new List<byte[]>();
        while (tap.HasMessages) seen.Add(((Seen)tap.ReceiveOne(TimeSpan.Zero)!).Payload);
        _log.WriteLine($"{(secure ? "secure" : "plain")}: the relay received {seen.Count} datagrams, {seen.Sum(s => s.Length)} bytes");
        Assert.NotEmpty(seen);
        return (seen, blob);
    }

    private static bool Contains(List<byte[]> datagrams, byte[] needle) => datagrams.Any(d => d.AsSpan().IndexOf(needle) >= 0);

    /// <summary>A copy of one datagram the relay received.</summary>
    private sealed record Seen(IPEndPoint From, byte[] Payload);

    /// <summary>The relay host's sockets, each with a <see cref="Tap"/> between it and the relay actor that handles it.</summary>
    private sealed class TappedSockets(IUdpSocketFactory inner, ActorSystem system, IActorRef observer) : IUdpSocketFactory
    {
        public Props Create(IPEndPoint bind, IActorRef handler, int socketBufferBytes = 0, IUdpRouter? router = null) =>
            inner.Create(bind, system.ActorOf(Props.Create(() => new Tap(handler, observer))), socketBufferBytes, router);
    }

    /// <summary>Passes everything on to the handler unchanged (sender kept), and a copy of each received datagram to the observer.</summary>
    private sealed class Tap : ReceiveActor
    {
        public Tap(IActorRef handler, IActorRef observer)
        {
            ReceiveAny(m =>
            {
                if (m is UdpSocketProtocol.Received r) observer.Tell(new Seen(r.From, r.Payload.ToArray()));
                handler.Forward(m);
            });
        }
    }
}
