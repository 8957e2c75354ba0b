using System.Net;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sessions;

/// <summary>Secure sessions: DTLS 1.2 over the selected ICE pair, fingerprints from the descriptions checked, on 127.0.0.1.</summary>
public sealed class SecureSessionTests : TestKit
{
    private readonly ITestOutputHelper _log;

    public SecureSessionTests(ITestOutputHelper output) : base(string.Empty, output) => _log = output;

    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private IActorRef StartHost()
    {
        var host = Sys.ActorOf(PeerHost.Props());
        foreach (var name in new[] { "alice", "bob" })
        {
            host.Tell(new PeerHostProtocol.AddPeer(new LocalPeerSettings(name, new IPEndPoint(IPAddress.Loopback, 0), [], [])));
            ExpectMsg<PeerHostProtocol.PeerAdded>(Generous);
        }
        return host;
    }

    [Fact]
    public void Secure_sessions_connect_over_dtls_and_carry_data_both_ways()
    {
        var host = StartHost();
        var events = CreateTestProbe();
        var (sessions, connected) = ConnectPair(host, events, "d");
        Assert.All(connected.Values, c => Assert.NotNull(c.RemoteFingerprint));
        Assert.NotEqual(connected["d/a"].RemoteFingerprint, connected["d/b"].RemoteFingerprint);

        // 200 messages each way and a 64 KiB payload in 1 KiB pieces, every byte accounted for
        var payload = RandomNumberGenerator.GetBytes(64 * 1024);
        for (int i = 0; i < 200; i++)
        {
            sessions["d/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes($"a{i}")));
            sessions["d/b"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes($"b{i}")));
        }
        for (int off = 0; off < payload.Length; off += 1024) sessions["d/a"].Tell(new SessionProtocol.Send(payload.AsMemory(off, 1024).ToArray()));
        var atA = new HashSet<string>();
        var atB = new HashSet<string>();
        var bulk = new MemoryStream();
        events.FishForMessage(m =>
        {
            if (m is not SessionProtocol.DataReceived d) return false;
            if (d.SessionId == "d/a") atA.Add(Encoding.UTF8.GetString(d.Data.Span));
            else if (d.Data.Length == 1024) bulk.Write(d.Data.Span);
            else atB.Add(Encoding.UTF8.GetString(d.Data.Span));
            return atA.Count == 200 && atB.Count == 200 && bulk.Length == payload.Length;
        }, Generous);
        Assert.Contains("b199", atA);
        Assert.Contains("a199", atB);
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(bulk.ToArray()));

        // the timeline says when each step was reached, in order
        foreach (var session in sessions.Values)
        {
            session.Tell(new SessionProtocol.GetTimeline(), TestActor);
            var t = ExpectMsg<SessionProtocol.Timeline>(Generous);
            Assert.True(t.Started > 0 && t.FirstLocalCandidate >= t.Started, $"candidate {t.FirstLocalCandidate} before start {t.Started}");
            Assert.True(t.DataPath >= t.FirstLocalCandidate, "a valid pair before the first candidate");
            Assert.True(t.IceConnected >= t.DataPath, "ICE selected before the connection began");
            Assert.True(t.DtlsConnected >= t.DataPath, "DTLS before the connection began");
            Assert.True(t.Associated >= t.DtlsConnected, "SCTP before DTLS");
        }
        // the controlling side's DTLS began on its first valid pair, while its nomination waited for Ta (RFC 8445 §8.1.1)
        sessions["d/a"].Tell(new SessionProtocol.GetTimeline(), TestActor);
        var controlling = ExpectMsg<SessionProtocol.Timeline>(Generous);
        Assert.True(controlling.DataPath < controlling.IceConnected, "the controlling side began only at the selection");
    }

    [Fact]
    public void On_real_sockets_a_secure_sessions_datagrams_go_between_socket_and_dtls_without_the_peer_and_connection_actors()
    {
        // the datagram contract's direct paths: the DTLS layer writes onto the peer's socket, and the socket's receive
        // thread hands DTLS datagrams to the session's DTLS, so the peer actor sees none of them after the handshake
        var host = StartHost();
        var events = CreateTestProbe();
        var (sessions, _) = ConnectPair(host, events, "x");
        host.Tell(new PeerHostProtocol.GetPeers(), TestActor);
        var peers = ExpectMsg<PeerHostProtocol.Peers>(Generous).List.ToDictionary(p => p.Name, p => p.Peer);
        var before = peers.ToDictionary(p => p.Key, p => StatsOf(p.Value).RoutedDirectly);

        const int count = 100;
        for (int i = 0; i < count; i++) sessions["x/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes($"line {i}")));
        var got = new List<string>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.DataReceived d && d.SessionId == "x/b") got.Add(Encoding.UTF8.GetString(d.Data.Span));
            return got.Count == count;
        }, Generous);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"line {i}"), got);

        // every line went to bob's DTLS straight from the socket (more datagrams than lines: SACKs came back to alice too)
        Assert.True(StatsOf(peers["bob"]).RoutedDirectly - before["bob"] >= count, $"bob's socket routed {StatsOf(peers["bob"]).RoutedDirectly - before["bob"]} directly");
        Assert.True(StatsOf(peers["alice"]).RoutedDirectly > before["alice"], "alice received no SACK directly");
        // and the connection still counts what it carried, by either path
        sessions["x/a"].Tell(new SessionProtocol.GetConnectionInfo(), TestActor);
        var info = ExpectMsg<ConnectionProtocol.Info>(Generous);
        Assert.True(info.PacketsSent >= count && info.BytesSent > count * 10, $"alice's connection counted {info.PacketsSent} packets, {info.BytesSent} bytes");
    }

    /// <summary>A secure session "<paramref name="prefix"/>/a" of alice (controlling) with "<paramref name="prefix"/>/b" of bob, connected.</summary>
    private (Dictionary<string, IActorRef> Sessions, Dictionary<string, SessionProtocol.Connected> Connected) ConnectPair(IActorRef host, Akka.TestKit.TestProbe events, string prefix)
    {
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        host.Tell(new PeerHostProtocol.OpenSession("alice", $"{prefix}/a", true, link, Secure: true));
        host.Tell(new PeerHostProtocol.OpenSession("bob", $"{prefix}/b", false, link, Secure: true));
        var sessions = new Dictionary<string, IActorRef>();
        var connected = new Dictionary<string, SessionProtocol.Connected>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.Started s) sessions[s.SessionId] = s.Session;
            if (m is SessionProtocol.Failed f) throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}");
            if (m is SessionProtocol.Connected c) connected[c.SessionId] = c;
            return connected.Count == 2;
        }, Generous);
        return (sessions, connected);
    }

    private LocalPeerProtocol.Stats StatsOf(IActorRef peer)
    {
        peer.Tell(new LocalPeerProtocol.GetStats(), TestActor);
        return ExpectMsg<LocalPeerProtocol.Stats>(Generous);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Sessions_between_the_same_two_sockets_each_carry_only_their_own_data(bool secure)
    {
        // one socket per peer, so every session has the same address pair: only the session tag in each datagram
        // (SessionMux) tells the receiving peer which session a DTLS record or a plain datagram belongs to
        const int count = 8;
        var host = StartHost();
        var events = CreateTestProbe();
        var sessions = new Dictionary<string, IActorRef>();
        for (int i = 0; i < count; i++)
        {
            var link = Sys.ActorOf(SessionLink.Props(events.Ref));
            host.Tell(new PeerHostProtocol.OpenSession("alice", $"m{i}/a", true, link, Secure: secure));
            host.Tell(new PeerHostProtocol.OpenSession("bob", $"m{i}/b", false, link, Secure: secure));
        }
        int connected = 0;
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.Started s) sessions[s.SessionId] = s.Session;
            if (m is SessionProtocol.Failed f) throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}");
            if (m is SessionProtocol.Connected) connected++;
            return connected == 2 * count;
        }, Generous);

        for (int round = 0; round < 20; round++)
            foreach (var (id, session) in sessions) session.Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes($"{round} from {id}")));
        var got = sessions.Keys.ToDictionary(id => id, _ => new List<string>());
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.DataReceived d) got[d.SessionId].Add(Encoding.UTF8.GetString(d.Data.Span));
            return got.Values.Sum(g => g.Count) == 20 * 2 * count;
        }, Generous);
        foreach (var (id, lines) in got)
        {
            string from = id.EndsWith("/a", StringComparison.Ordinal) ? id[..^2] + "/b" : id[..^2] + "/a";
            Assert.Equal(Enumerable.Range(0, 20).Select(r => $"{r} from {from}"), secure ? lines : lines.Order(StringComparer.Ordinal).OrderBy(l => int.Parse(l.Split(' ')[0])));
        }
    }

    [Fact]
    public void A_fingerprint_that_does_not_match_refuses_the_session()
    {
        var host = StartHost();
        var events = CreateTestProbe();
        var tamper = Sys.ActorOf(Props.Create(() => new FingerprintForger(events.Ref)));
        host.Tell(new PeerHostProtocol.OpenSession("alice", "x/a", true, tamper, Secure: true));
        host.Tell(new PeerHostProtocol.OpenSession("bob", "x/b", false, tamper, Secure: true));
        // alice was given a forged fingerprint for bob: she refuses with the reason, bob hears her alert
        var failures = new Dictionary<string, string>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.Failed f) failures[f.SessionId] = f.Reason;
            if (m is SessionProtocol.Connected c) throw new Xunit.Sdk.XunitException($"{c.SessionId} connected despite the forged fingerprint");
            return failures.Count == 2;
        }, Generous);
        _log.WriteLine(string.Join("\n", failures.Values));
        Assert.Contains("fingerprint", failures["x/a"]);
        Assert.Contains("does not match", failures["x/a"]);
        Assert.Contains("certificate", failures["x/b"]);
    }

    [Fact]
    public void A_plain_peer_is_refused_with_a_sentence_that_says_plain_would_connect()
    {
        var host = StartHost();
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        host.Tell(new PeerHostProtocol.OpenSession("alice", "p/a", true, link, Secure: true));
        host.Tell(new PeerHostProtocol.OpenSession("bob", "p/b", false, link, Secure: false));
        var failed = events.FishForMessage<SessionProtocol.Failed>(f => f.SessionId == "p/a", Generous);
        Assert.Contains("looks like the original plain program", failed.Reason);
        Assert.Contains("--plain", failed.Reason);
    }

    /// <summary>Signaling by a man in the middle who swaps bob's fingerprint for another certificate's.</summary>
    private sealed class FingerprintForger : ReceiveActor
    {
        public FingerprintForger(IActorRef observer)
        {
            var link = Context.ActorOf(SessionLink.Props(observer));
            var forged = P2P.Actors.Dtls.DtlsCertificate.Generate().Fingerprint.Hex;
            Receive<SessionProtocol.Started>(m =>
            {
                var description = m.SessionId.EndsWith("/b", StringComparison.Ordinal) ? m.Description! with { Fingerprint = forged } : m.Description;
                link.Forward(m with { Description = description });
            });
            ReceiveAny(m => link.Forward(m));
        }
    }

    [Fact]
    public void Data_channels_open_by_label_carry_ordered_and_unreliable_messages_and_close_on_both_sides()
    {
        var host = StartHost();
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        host.Tell(new PeerHostProtocol.OpenSession("alice", "c/a", true, link, Secure: true));
        host.Tell(new PeerHostProtocol.OpenSession("bob", "c/b", false, link, Secure: true));
        var (sessions, _) = SessionEvents.AwaitConnected(events, 2, Generous);

        // bob (the DTLS server side) opens "chat"; alice opens an unordered channel without retransmissions
        sessions["c/b"].Tell(new SessionProtocol.OpenChannel("chat"));
        sessions["c/a"].Tell(new SessionProtocol.OpenChannel("telemetry", Ordered: false, MaxRetransmits: 0));
        var opened = new List<SessionProtocol.ChannelOpened>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.ChannelError e) throw new Xunit.Sdk.XunitException($"{e.SessionId} {e.Label}: {e.Reason}");
            if (m is SessionProtocol.ChannelOpened o) opened.Add(o);
            return opened.Count == 4;
        }, Generous);
        Assert.Contains(opened, o => o.SessionId == "c/a" && o.Label == "chat" && o.RemoteInitiated && o.Ordered);
        Assert.Contains(opened, o => o.SessionId == "c/b" && o.Label == "telemetry" && !o.Ordered && o.MaxRetransmits == 0);

        for (int i = 0; i < 1000; i++) sessions["c/a"].Tell(new SessionProtocol.SendOnChannel("chat", Encoding.UTF8.GetBytes($"line {i}"), Binary: false));
        // without retransmissions a datagram lost to a full socket buffer (a loaded machine) stays lost: send a few
        for (int i = 0; i < 20; i++) sessions["c/a"].Tell(new SessionProtocol.SendOnChannel("telemetry", new byte[] { 1, 2, 3 }));
        var lines = new List<string>();
        bool telemetry = false;
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.ChannelMessage c && c.SessionId == "c/b")
            {
                if (c.Label == "chat") lines.Add(Encoding.UTF8.GetString(c.Data.Span));
                else if (c.Label == "telemetry") telemetry = true;
            }
            return lines.Count == 1000 && telemetry;
        }, Generous);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"line {i}"), lines); // in order, once

        sessions["c/b"].Tell(new SessionProtocol.CloseChannel("chat"));
        var closed = new HashSet<string>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.ChannelClosed c && c.Label == "chat") closed.Add(c.SessionId);
            return closed.Count == 2;
        }, Generous);
    }
}
