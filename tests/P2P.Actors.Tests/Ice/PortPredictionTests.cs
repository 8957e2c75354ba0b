using System.Net;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Transport.Virtual;
using P2P.Actors.Turn;
using P2P.Protocol.Ice;
using P2P.Protocol.Nat;
using P2P.Protocol.Stun;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>
/// Port prediction on the virtual network, in virtual time: alice behind a port-restricted cone (endpoint-independent
/// mapping, the "easy" side), bob behind a symmetric NAT (a new port per destination: the "hard" side), our relay as
/// STUN and TURN server. RFC 8445 ICE alone relays between them; with prediction the session moves to a direct pair.
/// The NAT reports that RFC 5780 discovery would find are handed to the sessions directly (the local one as
/// <see cref="SessionProtocol.LocalNatReport"/>, the remote's in the description), as the signaling would carry them.
/// </summary>
public sealed class PortPredictionTests : IceVirtualNetworkTestBase
{
    private readonly ITestOutputHelper _log;

    public PortPredictionTests(ITestOutputHelper output) : base(output) => _log = output;

    private static readonly PortPredictionSettings Limits = PortPredictionSettings.Default;

    private sealed record Pair(string Id, Side Alice, Side Bob, string NatA, string NatB, IPAddress PublicA, IPAddress PublicB);

    /// <summary>The relay, once per test.</summary>
    private async Task StartRelayHost()
    {
        Net.AddPublicHost("relay", RelayServerEndPoint.Address);
        await StartRelay("relay", RelayServerEndPoint, s => s with { UserQuota = 1000 }, RelayServerEndPoint); // many peers, one TURN user
    }

    /// <summary>Pair <paramref name="n"/>: alice-n behind nat-a-n (easy), bob-n behind nat-b-n (hard); each peer with its own limits.</summary>
    private Pair AddPair(int n, NatBehavior easy, NatBehavior hard, PortPredictionSettings? aliceLimits = null, PortPredictionSettings? bobLimits = null)
    {
        var publicA = Ip($"203.0.{1 + n / 200}.{1 + n % 200}");
        var publicB = Ip($"203.1.{1 + n / 200}.{1 + n % 200}");
        Net.AddNat($"nat-a-{n}", publicA, easy);
        Net.AddNat($"nat-b-{n}", publicB, hard);
        Net.AddPrivateHost($"alice-{n}", Ip("10.0.1.2"), $"nat-a-{n}");
        Net.AddPrivateHost($"bob-{n}", Ip("10.0.2.2"), $"nat-b-{n}");
        var alice = Peer($"alice-{n}", (aliceLimits ?? Limits) with { Seed = 1000 + n });
        var bob = Peer($"bob-{n}", (bobLimits ?? Limits) with { Seed = 2000 + n });
        return new Pair($"s{n}", alice, bob, $"nat-a-{n}", $"nat-b-{n}", publicA, publicB);
    }

    private Side Peer(string host, PortPredictionSettings limits)
    {
        var settings = new LocalPeerSettings(host, new IPEndPoint(IPAddress.Any, 5000), [RelayServerEndPoint],
            [new TurnServer(RelayServerEndPoint, new TurnCredentials(TurnUser, TurnPassword))]) { Sockets = Net.SocketsOf(host), PortPrediction = limits };
        var parent = CreateTestProbe();
        var peer = parent.ChildActorOf(LocalPeer.Props(settings, IceSettings.Default, StunSettings.Default, TurnClientSettings.Default), host);
        parent.ExpectMsg<LocalPeerProtocol.PeerReady>(Wait);
        return new Side(host, peer, host, parent);
    }

    private static NatReport EasyReport(IPAddress publicAddress, bool prediction = true) =>
        new(MappingBehavior.EndpointIndependent, FilteringBehavior.AddressAndPortDependent, PortAllocation.Preserving)
        { PublicAddress = publicAddress, PortPrediction = prediction };

    private static NatReport HardReport(IPAddress publicAddress, PortAllocation allocation = PortAllocation.Random, bool prediction = true) =>
        new(MappingBehavior.AddressAndPortDependent, FilteringBehavior.AddressAndPortDependent, allocation)
        { PublicAddress = publicAddress, PortPrediction = prediction, PortStep = allocation == PortAllocation.Sequential ? 1 : null };

    /// <summary>Opens the pair's sessions (alice controlling), the reports handed over as <see cref="Signaling"/> does it.</summary>
    /// <param name="aliceOff">Alice's p2p.ice.port-prediction is off: her description says so (PortPrediction false), whatever her report.</param>
    private void Open(Pair pair, TestProbe events, NatReport? alice, NatReport? bob, bool aliceOff = false)
    {
        var link = Sys.ActorOf(Signaling.Props(pair.Id + "/a", pair.Id + "/b", alice, bob, events.Ref, aliceOff));
        pair.Alice.Peer.Tell(new LocalPeerProtocol.OpenSession(pair.Id + "/a", true, link));
        pair.Bob.Peer.Tell(new LocalPeerProtocol.OpenSession(pair.Id + "/b", false, link));
    }

    /// <summary>What one pair of sessions came to.</summary>
    private sealed class Outcome
    {
        public Dictionary<string, IActorRef> Sessions { get; } = [];
        public Dictionary<string, SelectedPair> Pairs { get; } = [];
        public Dictionary<string, TimeSpan> FirstConnectedAt { get; } = [];
        public bool Direct(string id) => Pairs.TryGetValue(id + "/a", out var a) && !IsRelayed(a) && Pairs.TryGetValue(id + "/b", out var b) && !IsRelayed(b);
        public bool Connected(string id) => Pairs.ContainsKey(id + "/a") && Pairs.ContainsKey(id + "/b");
    }

    /// <summary>Runs until <paramref name="done"/> holds for what the events said, or <paramref name="limit"/> of virtual time passed.</summary>
    private Outcome Run(TestProbe events, Func<Outcome, bool> done, TimeSpan limit, TimeSpan? step = null)
    {
        var outcome = new Outcome();
        var start = Elapsed;
        RunUntil(events, m =>
        {
            switch (m)
            {
                case SessionProtocol.Started s: outcome.Sessions[s.SessionId] = s.Session; break;
                case SessionProtocol.Failed f: throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}");
                case SessionProtocol.Connected c:
                    outcome.Pairs[c.SessionId] = c.Pair;
                    outcome.FirstConnectedAt.TryAdd(c.SessionId, Elapsed - start);
                    break;
            }
            return done(outcome);
        }, limit, step, failAtLimit: false);
        return outcome;
    }

    private static PortPredictionProtocol.Stats StatsOf(IActorRef session) =>
        session.Ask<PortPredictionProtocol.Stats>(new PortPredictionProtocol.GetStats(), Wait).GetAwaiter().GetResult();

    private void SendBothWays(TestProbe events, Outcome outcome, string id)
    {
        outcome.Sessions[id + "/a"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes("from a")));
        outcome.Sessions[id + "/b"].Tell(new SessionProtocol.Send(Encoding.UTF8.GetBytes("from b")));
        var got = new Dictionary<string, string>();
        RunUntil(events, m =>
        {
            if (m is SessionProtocol.DataReceived d) got[d.SessionId] = Encoding.UTF8.GetString(d.Data.Span);
            return got.Count == 2;
        }, TimeSpan.FromSeconds(5));
        _log.WriteLine(string.Join(" / ", got.Select(g => $"{g.Key}={g.Value}")));
        Assert.Equal("from a", got[id + "/b"]);
        Assert.Equal("from b", got[id + "/a"]);
    }

    // ---- the tests --------------------------------------------------------------------------------------------

    [Fact]
    public async Task Without_prediction_port_restricted_cone_and_random_symmetric_relay_and_no_prediction_packet_is_sent()
    {
        await StartRelayHost();
        var pair = AddPair(0, NatBehavior.PortRestrictedCone, NatBehavior.Symmetric);
        var events = CreateTestProbe();
        // the hard side says it takes no part (p2p.ice.port-prediction = off there)
        Open(pair, events, EasyReport(pair.PublicA), HardReport(pair.PublicB, prediction: false));

        var outcome = Run(events, o => o.Connected(pair.Id), TimeSpan.FromSeconds(30));
        Run(events, _ => false, TimeSpan.FromSeconds(3)); // time a prediction would have had

        Assert.True(outcome.Connected(pair.Id));
        Assert.True(IsRelayed(outcome.Pairs[pair.Id + "/a"]) && IsRelayed(outcome.Pairs[pair.Id + "/b"]), "ICE alone relays here");
        var easy = StatsOf(outcome.Sessions[pair.Id + "/a"]);
        var hard = StatsOf(outcome.Sessions[pair.Id + "/b"]);
        Assert.Equal((PredictionRole.None, 0L), (easy.Role, easy.PacketsSent));
        Assert.Contains("does not take part", easy.Outcome);
        Assert.Equal((PredictionRole.None, 0), (hard.Role, hard.SocketsOpened));
        Assert.Contains("off here", hard.Outcome);
        // no extra mappings on the hard side's NAT: one per destination of its one socket (STUN/TURN server, alice's candidates)
        Assert.InRange((await Net.GetMappingsAsync(pair.NatB)).Entries.Count, 1, 8);
    }

    [Fact]
    public async Task Prediction_off_in_the_local_settings_sends_nothing_even_when_the_local_report_says_on()
    {
        await StartRelayHost();
        var pair = AddPair(0, NatBehavior.PortRestrictedCone, NatBehavior.Symmetric, aliceLimits: Limits with { Enabled = false });
        var events = CreateTestProbe();
        Open(pair, events, EasyReport(pair.PublicA), HardReport(pair.PublicB), aliceOff: true);

        var outcome = Run(events, o => o.Connected(pair.Id), TimeSpan.FromSeconds(30));
        Run(events, _ => false, TimeSpan.FromSeconds(3));

        Assert.True(IsRelayed(outcome.Pairs[pair.Id + "/a"]));
        Assert.Equal(0L, StatsOf(outcome.Sessions[pair.Id + "/a"]).PacketsSent);
        Assert.Equal(0, StatsOf(outcome.Sessions[pair.Id + "/b"]).SocketsOpened);
        Assert.InRange((await Net.GetMappingsAsync(pair.NatB)).Entries.Count, 1, 8);
    }

    [Fact]
    public async Task With_prediction_port_restricted_cone_and_random_symmetric_go_direct_and_data_crosses()
    {
        await StartRelayHost();
        var pair = AddPair(0, NatBehavior.PortRestrictedCone, NatBehavior.Symmetric);
        var events = CreateTestProbe();
        Open(pair, events, EasyReport(pair.PublicA), HardReport(pair.PublicB));

        var outcome = Run(events, o => o.Direct(pair.Id), Limits.MaxDuration + TimeSpan.FromSeconds(5));

        Assert.True(outcome.Direct(pair.Id), $"selected: {string.Join("; ", outcome.Pairs.Select(p => $"{p.Key} {p.Value}"))}");
        var toBob = outcome.Pairs[pair.Id + "/a"];
        Assert.Equal(pair.PublicB, toBob.Remote.Address.Address); // alice reaches bob's NAT on a predicted port
        Assert.Equal(CandidateType.PeerReflexive, toBob.Remote.Type);
        Assert.True(PortPrediction.IsFound(outcome.Pairs[pair.Id + "/b"].Local)); // bob sends from the socket the probe met
        SendBothWays(events, outcome, pair.Id);

        var easy = StatsOf(outcome.Sessions[pair.Id + "/a"]);
        var hard = StatsOf(outcome.Sessions[pair.Id + "/b"]);
        _log.WriteLine($"easy: {easy}");
        _log.WriteLine($"hard: {hard}");
        Assert.True(easy.Succeeded && hard.Succeeded);
        Assert.InRange(easy.PacketsSent, 1, Limits.MaxProbes);
        Assert.InRange(hard.SocketsOpened, 1, Limits.Sockets);
        Assert.Equal(1, hard.SocketsOpen); // the met one carries the pair; every other one is closed
    }

    [Fact]
    public async Task Over_many_seeds_prediction_goes_direct_at_least_nine_times_in_ten()
    {
        const int runs = 40;
        await StartRelayHost();
        var pairs = Enumerable.Range(0, runs).Select(n => AddPair(n, NatBehavior.PortRestrictedCone, NatBehavior.Symmetric)).ToList();
        var events = CreateTestProbe();
        foreach (var pair in pairs) Open(pair, events, EasyReport(pair.PublicA), HardReport(pair.PublicB));

        var outcome = Run(events, o => pairs.All(p => o.Direct(p.Id)), Limits.MaxDuration + TimeSpan.FromSeconds(5), step: TimeSpan.FromMilliseconds(20));

        var direct = pairs.Where(p => outcome.Direct(p.Id)).ToList();
        foreach (var p in pairs.Where(p => !outcome.Direct(p.Id)))
            _log.WriteLine($"{p.Id}: {string.Join("; ", outcome.Pairs.Where(kv => kv.Key.StartsWith(p.Id + "/")).Select(kv => $"{kv.Key} {kv.Value}"))}; " +
                           $"easy {StatsOf(outcome.Sessions[p.Id + "/a"])}; hard {StatsOf(outcome.Sessions[p.Id + "/b"])}");
        var easy = direct.Select(p => StatsOf(outcome.Sessions[p.Id + "/a"])).ToList();
        var hard = direct.Select(p => StatsOf(outcome.Sessions[p.Id + "/b"])).ToList();
        double rate = (double)direct.Count / runs;
        _log.WriteLine($"direct in {direct.Count}/{runs} ({rate:P0}); per success: {easy.Average(s => s.PacketsSent):0} probes, " +
                         $"{hard.Average(s => s.SocketsOpened):0} sockets, {easy.Where(s => s.After is not null).Average(s => s.After!.Value.TotalMilliseconds):0} ms (virtual)");
        Assert.True(rate >= 0.9, $"direct in only {direct.Count} of {runs}");
        Assert.All(pairs, p => Assert.True(outcome.Connected(p.Id), $"{p.Id} did not connect at all"));
        Assert.All(hard, s => Assert.Equal(1, s.SocketsOpen));
    }

    [Fact]
    public async Task A_sequential_symmetric_nat_is_met_with_few_probes()
    {
        await StartRelayHost();
        var pair = AddPair(0, NatBehavior.PortRestrictedCone, NatBehavior.SymmetricSequential);
        var events = CreateTestProbe();
        Open(pair, events, EasyReport(pair.PublicA), HardReport(pair.PublicB, PortAllocation.Sequential));

        var outcome = Run(events, o => o.Direct(pair.Id), Limits.MaxDuration + TimeSpan.FromSeconds(5));

        Assert.True(outcome.Direct(pair.Id));
        var easy = StatsOf(outcome.Sessions[pair.Id + "/a"]);
        var hard = StatsOf(outcome.Sessions[pair.Id + "/b"]);
        _log.WriteLine($"easy: {easy}");
        _log.WriteLine($"hard: {hard}");
        Assert.Equal(PredictionMethod.Sequential, easy.Method);
        Assert.InRange(easy.PacketsSent, 1, 2 * Limits.SequentialWindow); // against ~250 for random ports
        Assert.InRange(hard.SocketsOpened, 1, Limits.SequentialSockets);
    }

    [Fact]
    public async Task A_failed_prediction_at_full_rate_closes_its_sockets_and_leaves_the_relayed_connect_time_unchanged()
    {
        await StartRelayHost();
        // pair 0: no prediction; pair 1: a whole prediction that cannot meet: bob's report names an address where
        // nothing answers (a NAT that drops everything), so alice's probes go there, and bob's 256 sockets wait in vain
        var off = AddPair(0, NatBehavior.PortRestrictedCone, NatBehavior.Symmetric);
        var failing = Limits with { MaxDuration = TimeSpan.FromSeconds(2) };
        var tried = AddPair(1, NatBehavior.PortRestrictedCone, NatBehavior.Symmetric, failing, failing);
        var eventsOff = CreateTestProbe();
        Open(off, eventsOff, null, null);
        var withoutPrediction = Run(eventsOff, o => o.Connected(off.Id), TimeSpan.FromSeconds(30));
        var eventsTried = CreateTestProbe();
        Open(tried, eventsTried, EasyReport(tried.PublicA), HardReport(Ip("203.9.9.9")));
        var withPrediction = Run(eventsTried, o => o.Connected(tried.Id), TimeSpan.FromSeconds(30));
        Run(eventsTried, _ => false, failing.MaxDuration + TimeSpan.FromSeconds(1)); // the try runs out

        Assert.True(IsRelayed(withoutPrediction.Pairs[off.Id + "/a"]) && IsRelayed(withPrediction.Pairs[tried.Id + "/a"]));
        var before = withoutPrediction.FirstConnectedAt.Values.Max();
        var after = withPrediction.FirstConnectedAt.Values.Max();
        _log.WriteLine($"relayed connect: {before.TotalMilliseconds} ms without prediction, {after.TotalMilliseconds} ms with a failing one (virtual)");
        Assert.True((after - before).Duration() <= TimeSpan.FromMilliseconds(30), $"{before.TotalMilliseconds} ms without, {after.TotalMilliseconds} ms with");
        var easy = StatsOf(withPrediction.Sessions[tried.Id + "/a"]);
        var hard = StatsOf(withPrediction.Sessions[tried.Id + "/b"]);
        _log.WriteLine($"easy: {easy}");
        _log.WriteLine($"hard: {hard}");
        Assert.False(easy.Succeeded || hard.Succeeded);
        Assert.InRange(easy.PacketsSent, 400, 2 * failing.PacketsPerSecond + 10); // 250 a second for 2 s
        Assert.Equal(failing.Sockets, hard.SocketsOpened);
        Assert.Equal(0, hard.SocketsOpen);
        Assert.Contains("no mapping met after 256 sockets", hard.Outcome);
        Assert.Contains("not met within 2 s", easy.Outcome);
        // and the relayed session still carries data
        SendBothWays(eventsTried, withPrediction, tried.Id);
    }

    [Fact]
    public async Task The_hard_side_opens_sockets_within_its_rate_never_holds_more_than_its_limit_and_closes_them_after_success()
    {
        await StartRelayHost();
        var limits = Limits with { Sockets = 100, PacketsPerSecond = 50, MaxProbes = 4000, MaxDuration = TimeSpan.FromSeconds(60) };
        var pair = AddPair(0, NatBehavior.PortRestrictedCone, NatBehavior.Symmetric, limits, limits);
        var events = CreateTestProbe();
        Open(pair, events, EasyReport(pair.PublicA), HardReport(pair.PublicB));

        int most = 0;
        var opened = new List<(TimeSpan At, int Opened)>();
        var outcome = Run(events, o =>
        {
            if (o.Sessions.TryGetValue(pair.Id + "/b", out var bob))
            {
                var stats = StatsOf(bob);
                most = Math.Max(most, stats.SocketsOpen);
                opened.Add((Elapsed, stats.SocketsOpened));
            }
            return o.Direct(pair.Id);
        }, limits.MaxDuration + TimeSpan.FromSeconds(5), step: TimeSpan.FromMilliseconds(50));

        Assert.True(outcome.Direct(pair.Id));
        var hard = StatsOf(outcome.Sessions[pair.Id + "/b"]);
        Assert.InRange(most, 1, 100);
        Assert.InRange(hard.SocketsOpened, 1, 100);
        Assert.Equal(1, hard.SocketsOpen);
        // 50 sockets a second at most (each sends one request), plus one batch
        foreach (var (at, count) in opened)
        {
            int later = opened.Where(o => o.At <= at + TimeSpan.FromSeconds(1)).Max(o => o.Opened);
            Assert.True(later - count <= 50 + 1, $"{later - count} sockets opened within the second from {at.TotalMilliseconds} ms");
        }
        // the hard NAT holds what the sockets opened (each one mapping toward alice), never more than the limit plus the peer's own
        Assert.InRange((await Net.GetMappingsAsync(pair.NatB)).Entries.Count, hard.SocketsOpened, hard.SocketsOpened + 8);
    }

    /// <summary>
    /// Signaling for the tests: the product's <see cref="LocalSignaling"/>, but each session is told its own NAT report
    /// (<see cref="SessionProtocol.LocalNatReport"/>, as discovery would) and its description goes out with the report
    /// it announces (a=x-p2p-nat).
    /// </summary>
    private sealed class Signaling : ReceiveActor
    {
        public Signaling(string a, string b, NatReport? reportA, NatReport? reportB, IActorRef observer, bool aOff)
        {
            var signaling = Context.ActorOf(LocalSignaling.Props(a, b, observer), "local");
            Receive<SessionProtocol.Started>(m =>
            {
                var report = m.SessionId == a ? reportA : reportB;
                if (report is not null) m.Session.Tell(new SessionProtocol.LocalNatReport(report));
                var announced = m.SessionId == a && aOff && report is not null ? report with { PortPrediction = false } : report;
                signaling.Forward(m with { Description = m.Description! with { Nat = announced } });
            });
            ReceiveAny(signaling.Forward);
        }

        public static Props Props(string a, string b, NatReport? reportA, NatReport? reportB, IActorRef observer, bool aOff) =>
            Akka.Actor.Props.Create(() => new Signaling(a, b, reportA, reportB, observer, aOff));
    }
}

/// <summary>
/// The easy side's <see cref="PortPrediction"/> alone, between test probes (the LocalPeer that would put its probes on
/// the socket, the agent that shows its pair table), in virtual time: what it sends, where, and how fast.
/// </summary>
public sealed class PortPredictionProbeTests(ITestOutputHelper output) : P2P.Actors.Tests.Support.VirtualNetworkTestBase(output)
{
    private static readonly IPAddress Signalled = Ip("203.1.1.1");
    private static readonly IceCredentials Local = new("aliceufrag", "alicepassword0123456789");
    private static readonly IceCredentials Remote = new("bobufrag", "bobpassword012345678901");
    private const uint Tag = 0x11223344;

    private static readonly PortPredictionSettings Limits = PortPredictionSettings.Default with
    {
        PacketsPerSecond = 100, BatchInterval = TimeSpan.FromMilliseconds(20), MaxProbes = 1000, MaxDuration = TimeSpan.FromSeconds(30), Seed = 7,
    };

    private (IActorRef Prediction, TestProbe Peer, TestProbe Session) Start()
    {
        var peer = CreateTestProbe();
        var agent = CreateTestProbe();
        var session = CreateTestProbe();
        var decision = PredictionPlan.Decide(
            new NatReport(MappingBehavior.EndpointIndependent, FilteringBehavior.AddressAndPortDependent, PortAllocation.Preserving) { PublicAddress = Ip("203.0.1.1"), PortPrediction = true },
            new NatReport(MappingBehavior.AddressAndPortDependent, FilteringBehavior.AddressAndPortDependent, PortAllocation.Random) { PublicAddress = Signalled, PortPrediction = true });
        Assert.Equal(PredictionRole.Probe, decision.Role);
        var start = new PortPredictionProtocol.Start(Local, Remote, Controlling: true, TieBreaker: 42, SessionTag: Tag, HardPublicAddress: Signalled);
        var prediction = session.ChildActorOf(PortPrediction.Props(Limits, "t", decision, start, peer.Ref, agent.Ref, sockets: null, seed: 7));
        agent.ExpectMsg<PairCheckerProtocol.GetPairs>(Wait);
        // the pair table holds other addresses of the remote too (its host candidate, its relay): none may be probed
        IceCandidate Candidate(string address, CandidateType type) => new("1", 1, CandidateTransport.Udp, 100, Ep(address), type);
        var host = Candidate("10.0.1.2:5000", CandidateType.Host);
        agent.Reply(new PairCheckerProtocol.PairTable([
            new PairInfo(host, Candidate("10.0.2.2:5000", CandidateType.Host), 10, CandidatePairState.Failed, false, false, false),
            new PairInfo(host, Candidate("198.51.100.1:40000", CandidateType.Relayed), 5, CandidatePairState.Succeeded, true, false, false),
            new PairInfo(host, Candidate("203.1.1.1:33333", CandidateType.ServerReflexive), 8, CandidatePairState.Failed, false, false, false),
        ]));
        return (prediction, peer, session);
    }

    /// <summary>Moves virtual time by <paramref name="duration"/> in 10 ms steps; the probes that went out, with when.</summary>
    private async Task<List<(TimeSpan At, IceTransportProtocol.Transmit Probe)>> Advance(IActorRef prediction, TestProbe peer, TimeSpan duration)
    {
        var sent = new List<(TimeSpan, IceTransportProtocol.Transmit)>();
        for (var t = TimeSpan.Zero; t < duration; t += TimeSpan.FromMilliseconds(10))
        {
            Scheduler.Advance(TimeSpan.FromMilliseconds(10));
            // the timer's tick is in the prediction's mailbox before this question: once answered, its probes are with the peer
            await prediction.Ask<PortPredictionProtocol.Stats>(new PortPredictionProtocol.GetStats(), Wait);
            while (peer.HasMessages) sent.Add((t, Assert.IsType<IceTransportProtocol.Transmit>(peer.ReceiveOne(TimeSpan.Zero))));
        }
        return sent;
    }

    [Fact]
    public async Task Probes_go_only_to_the_signalled_address_as_bare_ice_binding_requests_within_the_rate()
    {
        var (prediction, peer, _) = Start();

        var sent = await Advance(prediction, peer, TimeSpan.FromSeconds(3));

        Assert.InRange(sent.Count, 250, 302); // 100 a second for 3 s, give or take the first batch
        Assert.All(sent, s => Assert.Equal(Signalled, s.Probe.To.Address));
        Assert.Equal(sent.Count, sent.Select(s => s.Probe.To.Port).Distinct().Count()); // no port twice
        Assert.All(sent, s => Assert.Equal(Ep("10.0.1.2:5000"), s.Probe.Local.Address)); // from the peer's own socket
        foreach (var (at, _) in sent)
        {
            int inSecond = sent.Count(s => s.At >= at && s.At < at + TimeSpan.FromSeconds(1));
            Assert.True(inSecond <= 100 + 2, $"{inSecond} probes within the second from {at.TotalMilliseconds} ms");
        }
        using var key = new StunIntegrityKey(Encoding.UTF8.GetBytes(Remote.Pwd));
        foreach (var (_, probe) in sent.Take(20))
        {
            Assert.True(StunMessage.TryParse(probe.Payload.Span, out var msg, out _));
            Assert.Equal((StunMethod.Binding, StunClass.Request), (msg.Method, msg.Class));
            Assert.True(msg.TryGetString(StunAttributeType.Username, out var username));
            Assert.Equal("bobufrag:aliceufrag", username);
            Assert.Equal(StunError.None, msg.VerifyIntegrity(key));
            var types = new List<ushort>();
            foreach (var attribute in msg.Attributes) types.Add(attribute.Type);
            Assert.Equal(new ushort[] { (ushort)StunAttributeType.Username, (ushort)StunAttributeType.Priority, (ushort)StunAttributeType.IceControlling,
                (ushort)StunAttributeType.MessageIntegrity, (ushort)StunAttributeType.Fingerprint }.Order(), types.Order());
            Assert.True(PortPrediction.IsProbeAnswer(Answer(msg.TransactionId, key), Tag));
        }
    }

    [Fact]
    public async Task The_first_answer_stops_the_probes()
    {
        var (prediction, peer, _) = Start();
        var sent = await Advance(prediction, peer, TimeSpan.FromMilliseconds(500));
        var answered = sent[10].Probe;
        var id = TransactionId.Read(answered.Payload.Span[8..20]);
        using var key = new StunIntegrityKey(Encoding.UTF8.GetBytes(Remote.Pwd));

        // an answer from another address, and one that is not signed with the remote's password, count for nothing
        prediction.Tell(new IceTransportProtocol.Inbound(answered.Local, Ep("198.51.100.66:" + answered.To.Port), Answer(id, key)));
        using var wrong = new StunIntegrityKey(Encoding.UTF8.GetBytes("not the password at all"));
        prediction.Tell(new IceTransportProtocol.Inbound(answered.Local, answered.To, Answer(id, wrong)));
        Assert.NotEmpty(await Advance(prediction, peer, TimeSpan.FromMilliseconds(200)));

        prediction.Tell(new IceTransportProtocol.Inbound(answered.Local, answered.To, Answer(id, key)));
        Assert.Empty(await Advance(prediction, peer, TimeSpan.FromSeconds(2)));
        var stats = await prediction.Ask<PortPredictionProtocol.Stats>(new PortPredictionProtocol.GetStats(), Wait);
        Assert.True(stats.Succeeded);
        Assert.InRange(stats.PacketsSent, 60, 80); // 100 a second for 0.7 s
        Assert.Contains($"a probe to {answered.To} was answered", stats.Outcome);
    }

    private static byte[] Answer(TransactionId id, StunIntegrityKey key)
    {
        var buffer = new byte[256];
        int length = IceMessages.WriteBindingSuccess(buffer, id, Ep("203.0.1.1:5000"), key);
        return buffer[..length];
    }
}
