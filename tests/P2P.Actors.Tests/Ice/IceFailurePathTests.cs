using System.Net;
using System.Text;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Sessions;
using P2P.Actors.Transport.Virtual;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>The ICE engine's failure paths on the virtual network, each with its expected outcome and reason, in virtual time.</summary>
public sealed class IceFailurePathTests : IceVirtualNetworkTestBase
{
    private readonly ITestOutputHelper _log;

    public IceFailurePathTests(ITestOutputHelper output) : base(output) => _log = output;

    [Fact]
    public async Task A_silent_stun_server_does_not_hold_gathering_or_the_session()
    {
        await BuildAsync(null, null, turn: false, stun: false);
        // a second pair of peers whose STUN server is an address where nobody answers
        Net.AddPublicHost("carol", Ip("203.0.113.30"));
        Net.AddPublicHost("dave", Ip("203.0.113.40"));
        var silent = Ep("198.51.100.99:3478");
        Side Start(string name) => StartPeer(name, name, [silent], []);
        var carol = Start("carol");
        var dave = Start("dave");
        var events = OpenSessions(carol, dave, "s");
        TimeSpan? gathered = null;
        var (sessions, pairs, elapsed) = ConnectWatching(events, "s", m =>
        {
            if (m is SessionProtocol.LocalDescription d && d.SessionId == "s/a") gathered ??= Elapsed;
        });
        // host candidates connect at once; gathering ends separately, when its timeout gives up on the silent server
        if (gathered is null)
            RunUntil(events, m => m is SessionProtocol.LocalDescription d && d.SessionId == "s/a" && (gathered = Elapsed) is not null, TimeSpan.FromSeconds(40));
        Assert.NotNull(gathered);
        Assert.InRange(gathered!.Value, TimeSpan.FromSeconds(4.9), TimeSpan.FromSeconds(5.5)); // the gathering timeout, not the 39.5 s STUN timeout
        Assert.Equal(CandidateType.Host, pairs["s/a"].Local.Type);
        ExchangeData(events, sessions, "s");
    }

    [Fact]
    public async Task Candidates_and_end_of_candidates_that_overtake_the_description_still_connect()
    {
        // signaling may hand over the trickled candidates and end-of-candidates before the description (seen with a
        // room whose messages arrived while the session was starting); with both sides done gathering, the checker
        // must wait for the credentials instead of finding "no candidate pairs"
        var (a, b) = await BuildAsync(null, null, turn: false);
        var events = CreateTestProbe();
        a.Peer.Tell(new LocalPeerProtocol.OpenSession("late/a", true, events.Ref));
        b.Peer.Tell(new LocalPeerProtocol.OpenSession("late/b", false, events.Ref));
        var sessions = new Dictionary<string, IActorRef>();
        var descriptions = new Dictionary<string, IceDescription>();
        var waiting = new List<(string To, object Message)>();
        var ended = new HashSet<string>();
        var connected = new HashSet<string>();
        string Other(string id) => id == "late/a" ? "late/b" : "late/a";
        void To(string id, object message)
        {
            if (sessions.TryGetValue(id, out var session)) session.Tell(message);
            else waiting.Add((id, message));
        }
        RunUntil(events, m =>
        {
            switch (m)
            {
                case SessionProtocol.Started s:
                    sessions[s.SessionId] = s.Session;
                    descriptions[s.SessionId] = s.Description!;
                    foreach (var w in waiting.Where(w => w.To == s.SessionId).ToList())
                    {
                        s.Session.Tell(w.Message);
                        waiting.Remove(w);
                    }
                    break;
                case SessionProtocol.LocalCandidate c:
                    To(Other(c.SessionId), new SessionProtocol.AddRemoteCandidate(c.Candidate));
                    break;
                case SessionProtocol.LocalDescription d:
                    To(Other(d.SessionId), new SessionProtocol.RemoteEndOfCandidates());
                    // the descriptions only once both sides have gathered everything and told the other so
                    if (ended.Add(d.SessionId) && ended.Count == 2)
                        foreach (var (id, description) in descriptions) To(Other(id), new SessionProtocol.SetRemoteDescription(description));
                    break;
                case SessionProtocol.Failed f:
                    throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}");
                case SessionProtocol.Connected c:
                    connected.Add(c.SessionId);
                    break;
            }
            return connected.Count == 2;
        }, TimeSpan.FromSeconds(30));
        Assert.Equal(2, ended.Count); // the order this test is about did happen
    }

    /// <summary>Runs until a session fails (a session connecting fails the test) and returns its reason.</summary>
    private string RunUntilFailed(Akka.TestKit.TestProbe events, TimeSpan limit)
    {
        string? reason = null;
        RunUntil(events, m =>
        {
            if (m is SessionProtocol.Connected c) throw new Xunit.Sdk.XunitException($"{c.SessionId} connected unexpectedly over {c.Pair}");
            if (m is SessionProtocol.Failed f) reason = f.Reason;
            return reason is not null;
        }, limit, step: TimeSpan.FromMilliseconds(100));
        _log.WriteLine(reason);
        return reason!;
    }

    [Fact]
    public async Task Wrong_turn_password_fails_the_session_with_401_only_when_no_other_path_exists()
    {
        var (a, b) = await BuildAsync("Symmetric", "Symmetric", wrongTurnPassword: true);
        var events = OpenSessions(a, b, "w");
        var reason = RunUntilFailed(events, TimeSpan.FromSeconds(90));
        Assert.Contains("candidate pairs failed", reason);
        Assert.Contains("401", reason);
        Assert.Contains("TURN server 198.51.100.1:3478", reason);
    }

    [Fact]
    public async Task Every_pair_failing_before_the_connect_timeout_says_so_and_when()
    {
        // symmetric NATs on both sides and no relay: every pair runs out of check retransmissions (~20 s, RFC 8445
        // §14.3) long before the 40 s the user asked to wait; the reason must say why it gave up early
        var ice = IceSettings.Default with { ConnectTimeout = TimeSpan.FromSeconds(40) };
        var (a, b) = await BuildAsync("Symmetric", "Symmetric", ice, turn: false);
        var events = OpenSessions(a, b, "e");
        var reason = RunUntilFailed(events, TimeSpan.FromSeconds(60));
        Assert.True(Elapsed < TimeSpan.FromSeconds(30), $"failed only after {Elapsed}");
        Assert.Matches(@"^all \d+ candidate pairs failed after (19|2\d) s, before the 40 s connect timeout", reason);
    }

    [Fact]
    public async Task Wrong_turn_password_does_not_matter_when_a_direct_path_exists()
    {
        var (a, b) = await BuildAsync("FullCone", "PortRestrictedCone", wrongTurnPassword: true);
        var events = OpenSessions(a, b, "d");
        var (sessions, pairs, _) = Connect(events, "d");
        Assert.False(IsRelayed(pairs["d/a"]));
        ExchangeData(events, sessions, "d");
    }

    [Fact]
    public async Task Allocation_quota_486_on_one_side_still_connects_through_the_other_sides_relay()
    {
        var (a, b) = await BuildAsync("Symmetric", "Symmetric", relay: s => s with { UserQuota = 1 });
        var events = OpenSessions(a, b, "q");
        var (sessions, pairs, _) = ConnectWatching(events, "q", _ => { });
        Assert.True(IsRelayed(pairs["q/a"]));
        ExchangeData(events, sessions, "q");
        var relays = new[] { pairs["q/a"], pairs["q/b"] }.Count(p => p.Local.Type == CandidateType.Relayed);
        Assert.Equal(1, relays); // only one side could allocate
    }

    [Fact]
    public async Task Thirty_percent_loss_both_ways_still_connects()
    {
        var (a, b) = await BuildAsync("PortRestrictedCone", "FullCone");
        // every packet between the two crosses alice's link once, either way: 30 % loss in each direction
        // (setting it on bob's link as well would make it 51 %)
        Net.SetLink("alice", new LinkConditions { Loss = 0.3 });
        var events = OpenSessions(a, b, "l");
        var (_, pairs, elapsed) = Connect(events, "l", TimeSpan.FromSeconds(60));
        _log.WriteLine($"connected after {elapsed.TotalSeconds} s virtual over {pairs["l/a"]}");
    }

    [Fact]
    public async Task Both_sides_controlling_resolve_the_role_conflict_with_487()
    {
        var (a, b) = await BuildAsync(null, "FullCone");
        var events = OpenSessions(a, b, "c", aControlling: true, bControlling: true);
        var (sessions, pairs, _) = Connect(events, "c");
        ExchangeData(events, sessions, "c");
        var statsA = await sessions["c/a"].Ask<PairCheckerProtocol.Stats>(new PairCheckerProtocol.GetStats(), Wait);
        var statsB = await sessions["c/b"].Ask<PairCheckerProtocol.Stats>(new PairCheckerProtocol.GetStats(), Wait);
        Assert.True(statsA.RoleConflicts + statsB.RoleConflicts > 0, "a 487 role conflict was seen and resolved");
    }

    [Fact]
    public async Task Consent_lost_gives_disconnected_then_an_ice_restart_reconnects_when_the_path_returns()
    {
        var (a, b) = await BuildAsync("FullCone", "FullCone", turn: false);
        var events = OpenSessions(a, b, "r");
        var (sessions, first, _) = Connect(events, "r");

        Net.Cut("nat-bob");
        string? disconnected = null;
        RunUntil(events, m =>
        {
            if (m is SessionProtocol.Disconnected d) disconnected = d.Reason;
            return disconnected is not null;
        }, TimeSpan.FromSeconds(60), step: TimeSpan.FromMilliseconds(100));
        Assert.Contains("consent lost", disconnected);

        Net.Cut("nat-bob", false);
        var restarted = new HashSet<string>();
        var connected = new HashSet<string>();
        RunUntil(events, m =>
        {
            if (m is SessionProtocol.Restarted r) restarted.Add(r.SessionId);
            if (m is SessionProtocol.Connected c) connected.Add(c.SessionId);
            if (m is SessionProtocol.Failed f) throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}");
            return connected.Count == 2;
        }, TimeSpan.FromSeconds(60));
        Assert.Equal(2, restarted.Count);
        ExchangeData(events, sessions, "r");
    }

    [Fact]
    public async Task An_idle_session_keeps_its_nat_mappings_alive_with_consent_checks()
    {
        var (a, b) = await BuildAsync("PortRestrictedCone", "PortRestrictedCone", turn: false, nat: n => n with { MappingTimeout = TimeSpan.FromSeconds(20) });
        var events = OpenSessions(a, b, "i");
        var (sessions, _, _) = Connect(events, "i");
        // five idle minutes: consent checks every ~5 s refresh the 20 s mappings
        RunUntil(events, m => m is SessionProtocol.Disconnected d ? throw new Xunit.Sdk.XunitException(d.Reason) : false,
            TimeSpan.FromMinutes(5), step: TimeSpan.FromMilliseconds(500), failAtLimit: false);
        ExchangeData(events, sessions, "i");
    }

    [Fact]
    public async Task A_pair_checker_that_throws_is_restarted_and_the_session_continues()
    {
        var (a, b) = await BuildAsync(null, "FullCone", turn: false);
        var events = OpenSessions(a, b, "f");
        var (sessions, _, _) = Connect(events, "f");
        EventFilter.Exception<P2P.Actors.Supervision.InjectedFaultException>().ExpectOne(() => sessions["f/a"].Tell(new P2P.Actors.Supervision.InjectFault("injected by the test", P2P.Actors.Supervision.FaultTarget.PairChecker)));
        // a minute on: consent keeps passing on the restored pair, and data flows
        RunUntil(events, m => m is SessionProtocol.Disconnected d ? throw new Xunit.Sdk.XunitException(d.Reason) : false,
            TimeSpan.FromSeconds(60), step: TimeSpan.FromMilliseconds(200), failAtLimit: false);
        ExchangeData(events, sessions, "f");
    }

    [Fact]
    public async Task Udp_blocked_without_a_turn_server_fails_saying_udp_seems_blocked()
    {
        var (a, b) = await BuildAsync("FullCone", "FullCone", turn: false, beforePeers: () => Net.BlockUdp("nat-alice"));
        var events = OpenSessions(a, b, "u");
        string? reason = null;
        RunUntil(events, m =>
        {
            if (m is SessionProtocol.Failed f && f.SessionId == "u/a") reason = f.Reason;
            return reason is not null;
        }, TimeSpan.FromSeconds(90), step: TimeSpan.FromMilliseconds(100));
        _log.WriteLine(reason);
        Assert.Contains("UDP seems blocked", reason);
    }

    [Fact]
    public async Task Turn_server_gone_after_allocation_leaves_the_direct_path_in_use()
    {
        var (a, b) = await BuildAsync("FullCone", "PortRestrictedCone");
        var events = OpenSessions(a, b, "g");
        var (sessions, pairs, _) = Connect(events, "g");
        Assert.False(IsRelayed(pairs["g/a"]));

        Net.Cut("relay");
        // past the allocation's refresh (60 s before its 600 s lifetime) and the refresh's own timeout
        RunUntil(events, m => m is SessionProtocol.Disconnected d ? throw new Xunit.Sdk.XunitException(d.Reason) : false,
            TimeSpan.FromMinutes(11), step: TimeSpan.FromSeconds(1), failAtLimit: false);
        var lost = a.Parent.FishForMessage<LocalPeerProtocol.GatheringProblem>(p => p.Reason.Contains("Refresh"), Wait);
        Assert.Contains("198.51.100.1:3478", lost.Reason); // the allocation's refresh went unanswered
        var stats = await a.Peer.Ask<LocalPeerProtocol.Stats>(new LocalPeerProtocol.GetStats(), Wait);
        Assert.Equal(1, stats.Sessions);
        ExchangeData(events, sessions, "g");
    }
}
