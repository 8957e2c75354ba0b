using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Chat;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Chat;
using P2P.Actors.Tests.Support;
using P2P.Actors.Tests.Turn;
using P2P.Actors.Transport;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;
using P2P.Protocol.Stun;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>
/// ICE-TCP (RFC 6544) between two of our peers on 127.0.0.1 with real sockets. With UDP working the session stays on UDP;
/// with every UDP datagram dropped on arrival (<see cref="UdpDropped"/>) it connects over a TCP pair (active to passive),
/// and DTLS, SCTP, the chat, consent and an ICE restart run over it as they do over UDP.
/// </summary>
public sealed class IceTcpLoopbackTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _log = output;

    private IActorRef StartPeer(string name, IceSettings ice, bool dropUdp, IReadOnlyList<IPEndPoint>? stunServers = null, Akka.TestKit.TestProbe? parent = null)
    {
        var config = TurnClientSettingsTests.RepoHocon();
        parent ??= CreateTestProbe();
        var settings = new LocalPeerSettings(name, new IPEndPoint(IPAddress.Loopback, 0), stunServers ?? [], [])
        {
            Sockets = dropUdp ? new UdpDropped(RealUdpSockets.WithReceiveThreads, Sys) : RealUdpSockets.WithReceiveThreads,
        };
        var peer = parent.ChildActorOf(LocalPeer.Props(settings, ice, StunSettings.From(config), TurnClientSettings.From(config)), name);
        parent.ExpectMsg<LocalPeerProtocol.PeerReady>(Generous);
        return peer;
    }

    private static IceSettings Ice => IceSettings.From(TurnClientSettingsTests.RepoHocon());

    [Fact]
    public void A_peer_offers_passive_and_active_host_tcp_candidates_below_its_udp_one()
    {
        var peer = StartPeer("alice", Ice, dropUdp: false);
        var candidates = AwaitCandidates(peer);
        var udp = Assert.Single(candidates, c => c.Transport == CandidateTransport.Udp);
        var passive = Assert.Single(candidates, c => c.TcpType == TcpCandidateType.Passive);
        var active = Assert.Single(candidates, c => c.TcpType == TcpCandidateType.Active);
        var so = Assert.Single(candidates, c => c.TcpType == TcpCandidateType.SimultaneousOpen);
        Assert.Equal(IceCandidate.ActiveTcpPort, active.Address.Port);
        Assert.NotEqual(passive.Address.Port, so.Address.Port); // a port of its own, which listens and connects out
        Assert.True(passive.Priority > so.Priority, "RFC 6544 §4.2: simultaneous-open last for a host candidate");
        Assert.NotEqual(0, passive.Address.Port);
        Assert.True(active.Priority > passive.Priority, "RFC 6544 §4.2: active before passive for a host candidate");
        Assert.True(udp.Priority > active.Priority, "UDP stays preferred");
        Assert.Contains("tcptype passive", passive.ToSdpLine());
    }

    [Fact]
    public void With_tcp_off_a_peer_offers_udp_only()
    {
        var peer = StartPeer("alice", Ice with { Tcp = false }, dropUdp: false);
        Assert.All(AwaitCandidates(peer), c => Assert.Equal(CandidateTransport.Udp, c.Transport));
    }

    [Fact]
    public void With_tcp_simultaneous_open_off_a_peer_offers_passive_and_active_tcp_candidates_only()
    {
        var ice = IceSettings.From(Akka.Configuration.ConfigurationFactory.ParseString("p2p.ice.tcp-simultaneous-open = off")
            .WithFallback(TurnClientSettingsTests.RepoHocon()));
        Assert.False(ice.TcpConnections.SimultaneousOpen);
        var peer = StartPeer("alice", ice, dropUdp: false);
        var tcpTypes = AwaitCandidates(peer).Where(c => c.Transport == CandidateTransport.Tcp).Select(c => c.TcpType).Order();
        Assert.Equal([TcpCandidateType.Active, TcpCandidateType.Passive], tcpTypes);
    }

    [Fact]
    public void Behind_a_nat_the_mapping_of_its_so_port_seen_by_a_stun_server_over_tcp_is_offered_as_a_server_reflexive_so_candidate()
    {
        // a STUN server over TCP that answers as if a NAT (port preserved) stood before 127.0.0.1: 198.51.100.7:<port>
        var nat = IPAddress.Parse("198.51.100.7");
        using var stun = new TcpStunServer(from => new IPEndPoint(nat, from.Port));
        var peer = StartPeer("alice", Ice, dropUdp: false, [stun.EndPoint]);
        var candidates = AwaitCandidates(peer);
        foreach (var c in candidates) _log.WriteLine(c.ToSdpLine());
        var so = Assert.Single(candidates, c => c.Type == CandidateType.Host && c.TcpType == TcpCandidateType.SimultaneousOpen);
        var srflx = Assert.Single(candidates, c => c.Type == CandidateType.ServerReflexive && c.Transport == CandidateTransport.Tcp);
        // the Binding came from the so port itself (it shares the port with the so listener), so its mapping is the so port's
        Assert.Contains(so.Address, stun.Seen);
        Assert.Equal((new IPEndPoint(nat, so.Address.Port), so.Address, TcpCandidateType.SimultaneousOpen), (srflx.Address, srflx.Related, srflx.TcpType));
        Assert.EndsWith($"typ srflx raddr 127.0.0.1 rport {so.Address.Port} tcptype so", srflx.ToSdpLine());
        // RFC 6544 §4.2: the server-reflexive TCP type preference, below every UDP candidate; so first behind a NAT
        Assert.Equal(CandidatePriority.TcpServerReflexivePreference, (int)(srflx.Priority >> 24));
        Assert.Equal(6, CandidatePriority.LocalPreferenceOf(srflx.Priority) >> 13);
        Assert.All(candidates.Where(c => c.Transport == CandidateTransport.Udp), udp => Assert.True(udp.Priority > srflx.Priority));
        Assert.NotEqual(so.Foundation, srflx.Foundation);
        // only simultaneous-open ones: no active or passive server-reflexive candidate
        Assert.DoesNotContain(candidates, c => c.Type == CandidateType.ServerReflexive && c.TcpType is TcpCandidateType.Active or TcpCandidateType.Passive);
    }

    [Fact]
    public void A_stun_server_that_does_not_serve_tcp_means_no_server_reflexive_tcp_candidate_said_once_and_no_gathering_problem()
    {
        // answers Binding over UDP only: a TCP connect to its port is refused
        using var stun = new UdpStunServer();
        var parent = CreateTestProbe();
        List<IceCandidate> candidates = [];
        EventFilter.Info(contains: "no server-reflexive ICE-TCP candidate from STUN server").ExpectOne(Generous, () =>
        {
            var peer = StartPeer("alice", Ice, dropUdp: false, [stun.EndPoint], parent);
            candidates = AwaitCandidates(peer);
        });
        Assert.True(stun.Answered > 0, "the UDP prober asked the server");
        Assert.DoesNotContain(candidates, c => c.Type == CandidateType.ServerReflexive);
        Assert.Contains(candidates, c => c.Type == CandidateType.Host && c.TcpType == TcpCandidateType.SimultaneousOpen);
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // no GatheringProblem: nothing the user must hear about
    }

    [Fact]
    public void With_udp_working_the_session_takes_the_udp_pair()
    {
        var a = StartPeer("alice", Ice, dropUdp: false);
        var b = StartPeer("bob", Ice, dropUdp: false);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        a.Tell(new LocalPeerProtocol.OpenSession("u/a", true, link, Secure: true));
        b.Tell(new LocalPeerProtocol.OpenSession("u/b", false, link, Secure: true));
        var (_, pairs) = SessionEvents.AwaitConnected(events, 2, Generous);
        Assert.All(pairs.Values, p => Assert.Equal(CandidateTransport.Udp, p.Local.Transport));
        Assert.All(pairs.Values, p => Assert.DoesNotContain("TCP", p.ToString()));
    }

    [Fact]
    public void With_udp_dropped_a_secure_chat_connects_over_a_tcp_pair_and_survives_an_ice_restart()
    {
        // consent checked every ~500 ms and lost after 3 s without an answer, so that consent over TCP shows in seconds
        var quickConsent = Ice with { ConsentInterval = TimeSpan.FromMilliseconds(500), ConsentTimeout = TimeSpan.FromSeconds(3), ConsentGrid = TimeSpan.Zero };
        var a = StartPeer("alice", quickConsent, dropUdp: true);
        var b = StartPeer("bob", quickConsent, dropUdp: true);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        var atA = CreateTestProbe();
        var atB = CreateTestProbe();
        var chatA = Sys.ActorOf(ChatSession.Props(ChatSettings.Default, Sys.ActorOf(ChatSide.Props(link, atA.Ref))));
        var chatB = Sys.ActorOf(ChatSession.Props(ChatSettings.Default, Sys.ActorOf(ChatSide.Props(link, atB.Ref))));
        a.Tell(new LocalPeerProtocol.OpenSession("t/a", true, chatA, Secure: true));
        b.Tell(new LocalPeerProtocol.OpenSession("t/b", false, chatB, Secure: true));
        var (sessions, pairs) = SessionEvents.AwaitConnected(events, 2, Generous);
        foreach (var (id, pair) in pairs) _log.WriteLine($"{id}: {pair.Local} -> {pair.Remote}");
        Assert.All(pairs.Values, p => Assert.Equal(CandidateTransport.Tcp, p.Local.Transport));
        // one side connected from its active candidate to the other's passive one (RFC 6544 §6.2)
        Assert.Contains(pairs.Values, p => p.Local.TcpType == TcpCandidateType.Active);
        Assert.Contains(pairs.Values, p => p.Local.TcpType == TcpCandidateType.Passive);
        // the logs and the host console say which transport a session uses
        Assert.Contains(pairs.Values, p => p.ToString().EndsWith("(TCP, active)", StringComparison.Ordinal));

        chatA.Tell(new ChatProtocol.Say("hello bob, over TCP"));
        chatB.Tell(new ChatProtocol.Say("hello alice, over TCP"));
        Assert.Equal(["hello bob, over TCP"], ChatAssertions.AwaitLines(atB, 1, Generous).Received);
        Assert.Equal(["hello alice, over TCP"], ChatAssertions.AwaitLines(atA, 1, Generous).Received);

        // an ICE restart (as after lost consent): new credentials on both sides, checked again over the TCP connections
        sessions["t/a"].Tell(new ConnectionProtocol.ConsentLost("test: consent lost"));
        var restarted = new HashSet<string>();
        var reconnected = new Dictionary<string, SelectedPair>();
        ChatAssertions.AwaitSession(events, m =>
        {
            if (m is SessionProtocol.Restarted r) restarted.Add(r.SessionId);
            if (m is SessionProtocol.Connected c && restarted.Contains(c.SessionId)) reconnected[c.SessionId] = c.Pair;
            return reconnected.Count == 2;
        }, Generous);
        Assert.All(reconnected.Values, p => Assert.Equal(CandidateTransport.Tcp, p.Local.Transport));
        chatA.Tell(new ChatProtocol.Say("still here after the restart"));
        chatB.Tell(new ChatProtocol.Say("so am I"));
        Assert.Equal("still here after the restart", ChatAssertions.Await<ChatProtocol.MessageReceived>(atB, Generous).Text);
        Assert.Equal("so am I", ChatAssertions.Await<ChatProtocol.MessageReceived>(atA, Generous).Text);

        // consent (RFC 7675) is kept over the TCP pair: twice the consent timeout later, neither side lost it
        Thread.Sleep(TimeSpan.FromSeconds(6));
        while (events.HasMessages)
        {
            var m = events.ReceiveOne(TimeSpan.Zero);
            Assert.False(m is SessionProtocol.Disconnected or SessionProtocol.Failed, $"consent over TCP failed: {m}");
        }
        foreach (var id in new[] { "t/a", "t/b" })
        {
            sessions[id].Tell(new SessionProtocol.GetConnectionInfo(), TestActor);
            var info = ExpectMsg<ConnectionProtocol.Info>(Generous);
            Assert.Equal(CandidateTransport.Tcp, info.Pair.Local.Transport);
            Assert.NotNull(info.RoundTrip);
        }
    }

    [Fact]
    public void With_udp_dropped_and_only_simultaneous_open_candidates_signalled_a_secure_chat_connects_over_an_so_pair()
    {
        var a = StartPeer("alice", Ice, dropUdp: true);
        var b = StartPeer("bob", Ice, dropUdp: true);
        var events = CreateTestProbe();
        // the signaling withholds every active and passive TCP candidate: only so-so pairs can form (RFC 6544 §6.2)
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        var onlySo = Sys.ActorOf(Props.Create(() => new WithholdTcpTypes(link, new[] { TcpCandidateType.Active, TcpCandidateType.Passive })));
        var atA = CreateTestProbe();
        var atB = CreateTestProbe();
        var chatA = Sys.ActorOf(ChatSession.Props(ChatSettings.Default, Sys.ActorOf(ChatSide.Props(onlySo, atA.Ref))));
        var chatB = Sys.ActorOf(ChatSession.Props(ChatSettings.Default, Sys.ActorOf(ChatSide.Props(onlySo, atB.Ref))));
        a.Tell(new LocalPeerProtocol.OpenSession("so/a", true, chatA, Secure: true));
        b.Tell(new LocalPeerProtocol.OpenSession("so/b", false, chatB, Secure: true));
        var (_, pairs) = SessionEvents.AwaitConnected(events, 2, Generous);
        foreach (var (id, pair) in pairs) _log.WriteLine($"{id}: {pair}");
        Assert.All(pairs.Values, p => Assert.Equal((CandidateTransport.Tcp, TcpCandidateType.SimultaneousOpen, TcpCandidateType.SimultaneousOpen),
            (p.Local.Transport, p.Local.TcpType, p.Remote.TcpType)));
        Assert.All(pairs.Values, p => Assert.EndsWith("(TCP, so)", p.ToString(), StringComparison.Ordinal));
        // both sides' pairs are the two ends of one connection: each one's local port is the other's remote port
        Assert.Equal(pairs["so/a"].Local.Address, pairs["so/b"].Remote.Address);
        Assert.Equal(pairs["so/b"].Local.Address, pairs["so/a"].Remote.Address);

        chatA.Tell(new ChatProtocol.Say("hello bob, simultaneously open"));
        chatB.Tell(new ChatProtocol.Say("hello alice, simultaneously open"));
        Assert.Equal(["hello bob, simultaneously open"], ChatAssertions.AwaitLines(atB, 1, Generous).Received);
        Assert.Equal(["hello alice, simultaneously open"], ChatAssertions.AwaitLines(atA, 1, Generous).Received);
    }

    private List<IceCandidate> AwaitCandidates(IActorRef peer)
    {
        List<IceCandidate> candidates = [];
        AwaitAssert(() =>
        {
            peer.Tell(new LocalPeerProtocol.GetCandidates(), TestActor);
            var got = ExpectMsg<LocalPeerProtocol.Candidates>(Generous);
            Assert.True(got.Complete);
            candidates = got.Local.ToList();
        }, Generous, TimeSpan.FromMilliseconds(50));
        return candidates;
    }

    /// <summary>Signaling that never tells the other side of a TCP candidate of the given types (in a description or trickled); the rest goes on to <paramref name="link"/>.</summary>
    private sealed class WithholdTcpTypes : ReceiveActor
    {
        public WithholdTcpTypes(IActorRef link, IReadOnlyCollection<TcpCandidateType> withheld)
        {
            Receive<SessionProtocol.Started>(m => link.Forward(m.Description is null ? m
                : m with { Description = m.Description with { Candidates = m.Description.Candidates.Where(c => !withheld.Contains(c.TcpType)).ToList() } }));
            Receive<SessionProtocol.LocalCandidate>(m =>
            {
                if (!withheld.Contains(m.Candidate.TcpType)) link.Forward(m);
            });
            ReceiveAny(link.Forward);
        }
    }

    /// <summary>A STUN server over TCP on 127.0.0.1 (RFC 8489 §6.2.2) answering each Binding with the address <paramref name="map"/> gives the connection's source; it keeps the sources it saw.</summary>
    private sealed class TcpStunServer : IDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly System.Collections.Concurrent.ConcurrentBag<IPEndPoint> _seen = [];

        public TcpStunServer(Func<IPEndPoint, IPEndPoint> map)
        {
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    var from = (IPEndPoint)client.Client.RemoteEndPoint!;
                    _seen.Add(from);
                    var stream = client.GetStream();
                    var header = new byte[20];
                    await stream.ReadExactlyAsync(header, _stop.Token);
                    var request = new byte[20 + System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2))];
                    header.CopyTo(request, 0);
                    await stream.ReadExactlyAsync(request.AsMemory(20), _stop.Token);
                    await stream.WriteAsync(BindingAnswer(request, map(from)), _stop.Token);
                }
            });
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;
        public IReadOnlyCollection<IPEndPoint> Seen => _seen;

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }

    /// <summary>A STUN server over UDP only on 127.0.0.1, answering each Binding with the sender's address; no TCP listens on its port.</summary>
    private sealed class UdpStunServer : IDisposable
    {
        private readonly System.Net.Sockets.UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
        private readonly CancellationTokenSource _stop = new();
        private int _answered;

        public UdpStunServer() =>
            _ = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    var got = await _udp.ReceiveAsync(_stop.Token);
                    await _udp.SendAsync(BindingAnswer(got.Buffer, got.RemoteEndPoint), got.RemoteEndPoint, _stop.Token);
                    Interlocked.Increment(ref _answered);
                }
            });

        public IPEndPoint EndPoint => (IPEndPoint)_udp.Client.LocalEndPoint!;
        public int Answered => Volatile.Read(ref _answered);

        public void Dispose()
        {
            _stop.Cancel();
            _udp.Dispose();
        }
    }

    private static byte[] BindingAnswer(byte[] request, IPEndPoint mapped)
    {
        Assert.True(StunMessage.TryParse(request, out var msg, out _));
        var w = new StunMessageWriter(new byte[64], StunMethod.Binding, StunClass.SuccessResponse, msg.TransactionId);
        w.AddAddress(StunAttributeType.XorMappedAddress, StunAddress.From(mapped));
        return w.ToArray();
    }

    /// <summary>Real UDP sockets whose every received datagram is dropped before the peer sees it: a network that passes only TCP.</summary>
    private sealed class UdpDropped(IUdpSocketFactory inner, ActorSystem system) : IUdpSocketFactory
    {
        public Props Create(IPEndPoint bind, IActorRef handler, int socketBufferBytes = 0, IUdpRouter? router = null) =>
            inner.Create(bind, system.ActorOf(Props.Create(() => new DropReceived(handler))), socketBufferBytes, router);
    }

    private sealed class DropReceived : ReceiveActor
    {
        public DropReceived(IActorRef handler) =>
            ReceiveAny(m =>
            {
                if (m is not UdpSocketProtocol.Received) handler.Forward(m);
            });
    }
}
