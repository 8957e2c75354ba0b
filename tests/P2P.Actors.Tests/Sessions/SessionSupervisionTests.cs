using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Supervision;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sessions;

/// <summary>
/// A crashed child restarts without dropping the session: a secure session on the virtual network
/// (real time: DTLS runs on the wall clock) whose agent, connection, DTLS transport or SCTP association throws keeps
/// going. Consent is checked every 200 ms and lost after 4 s here, so an agent rebuilt without its pairs would drop the
/// session within the test; a restarted connection, DTLS transport or association would lose their state at once.
/// </summary>
public sealed class SessionSupervisionTests(ITestOutputHelper output) : RealTimeVirtualNetworkTestBase(Config, output, seed: 2119)
{
    private const string Config = "akka.loglevel = INFO";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private static readonly IceSettings QuickConsent = IceSettings.Default with
    {
        ConsentInterval = TimeSpan.FromMilliseconds(200),
        ConsentTimeout = TimeSpan.FromSeconds(4), // not 2: a loaded CI machine once stalled a healthy session that long
    };

    [Theory]
    [InlineData(FaultTarget.Agent, "ice")]
    [InlineData(FaultTarget.Connection, "connection")]
    [InlineData(FaultTarget.Dtls, "dtls")]
    [InlineData(FaultTarget.Sctp, "sctp")]
    public async Task A_child_of_a_secure_session_that_throws_is_resumed_and_the_session_goes_on(FaultTarget child, string name)
    {
        var (events, sessions) = Connect(QuickConsent, "h");
        Exchange(events, sessions, "before");

        EventFilter.Warning(contains: "injected by the test").ExpectOne(Generous, () =>
            sessions["h/a"].Tell(new InjectFault("injected by the test", child)));
        // two consent timeouts on: the session neither went down nor restarted ICE, and data flows both ways
        events.ReceiveWhile(TimeSpan.FromSeconds(8), m => m is SessionProtocol.Failed or SessionProtocol.Disconnected or SessionProtocol.Restarted
            ? throw new Xunit.Sdk.XunitException($"the session did not survive the fault: {m}")
            : m);
        Exchange(events, sessions, "after");

        var faults = await sessions["h/a"].Ask<SessionProtocol.Faults>(new SessionProtocol.GetFaults(), Generous);
        var fault = Assert.Single(faults.Entries);
        Assert.Equal(name, fault.Child);
        Assert.Equal("injected by the test", fault.Reason);
        Assert.Equal("resumed", fault.Action);
        Assert.Equal(1, faults.Total);
        Assert.Empty((await sessions["h/b"].Ask<SessionProtocol.Faults>(new SessionProtocol.GetFaults(), Generous)).Entries);
    }

    [Fact]
    public async Task A_child_that_keeps_throwing_is_stopped_and_the_session_fails_saying_why()
    {
        var (events, sessions) = Connect(QuickConsent with { ChildFaultsPerMinute = 2 }, "k");
        for (int i = 1; i <= 3; i++) sessions["k/a"].Tell(new InjectFault($"fault {i}", FaultTarget.Connection));

        var failed = events.FishForMessage<SessionProtocol.Failed>(f => f.SessionId == "k/a", Generous);
        Assert.Contains("connection failed 3 times within a minute (last: fault 3)", failed.Reason);
        var faults = await sessions["k/a"].Ask<SessionProtocol.Faults>(new SessionProtocol.GetFaults(), Generous);
        Assert.Equal(["resumed", "resumed", "stopped"], faults.Entries.Select(f => f.Action));
    }

    [Fact]
    public async Task A_session_that_throws_is_resumed_by_its_peer_and_goes_on()
    {
        var (events, sessions) = Connect(QuickConsent, "s");
        Exchange(events, sessions, "before");

        EventFilter.Warning(contains: "the session threw (injected into the session)").ExpectOne(Generous, () =>
            sessions["s/a"].Tell(new InjectFault("injected into the session")));
        events.ReceiveWhile(TimeSpan.FromSeconds(8), m => m is SessionProtocol.Failed or SessionProtocol.Disconnected or SessionProtocol.Restarted or SessionProtocol.Started
            ? throw new Xunit.Sdk.XunitException($"the session did not survive its own fault: {m}")
            : m);
        Exchange(events, sessions, "after");
        var peer = await Sys.ActorSelection(sessions["s/a"].Path.Parent).ResolveOne(Generous);   // alice
        var stats = await peer.Ask<LocalPeerProtocol.Stats>(new LocalPeerProtocol.GetStats(), Generous);
        Assert.Equal(1, stats.SessionFaultsResumed);
    }

    [Fact]
    public void A_session_that_keeps_throwing_is_stopped_by_its_peer_and_its_owner_told_why()
    {
        var (events, sessions) = Connect(QuickConsent with { ChildFaultsPerMinute = 2 }, "t");
        Watch(sessions["t/a"]);
        for (int i = 1; i <= 3; i++) sessions["t/a"].Tell(new InjectFault($"fault {i}"));

        var failed = events.FishForMessage<SessionProtocol.Failed>(f => f.SessionId == "t/a", Generous);
        Assert.Equal("the session failed 3 times within a minute (last: fault 3)", failed.Reason);
        ExpectTerminated(sessions["t/a"], Generous);
    }

    [Fact]
    public void The_fault_budget_comes_from_akka_hocon()
    {
        var hocon = P2P.Actors.Tests.Turn.TurnClientSettingsTests.RepoHocon();
        Assert.Equal(IceSettings.Default.ChildFaultsPerMinute, IceSettings.From(hocon).ChildFaultsPerMinute);
        var changed = Akka.Configuration.ConfigurationFactory.ParseString("p2p.ice.session-child-faults-per-minute = 3").WithFallback(hocon);
        Assert.Equal(3, IceSettings.From(changed).ChildFaultsPerMinute);
    }

    private (TestProbe Events, Dictionary<string, IActorRef> Sessions) Connect(IceSettings ice, string id)
    {
        var alice = StartPeer("alice", "203.0.113.10", ice);
        var bob = StartPeer("bob", "203.0.113.20", ice);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        alice.Tell(new LocalPeerProtocol.OpenSession($"{id}/a", true, link, Secure: true));
        bob.Tell(new LocalPeerProtocol.OpenSession($"{id}/b", false, link, Secure: true));
        var (sessions, _) = SessionEvents.AwaitConnected(events, 2, Generous);
        return (events, sessions);
    }

    private static void Exchange(TestProbe events, Dictionary<string, IActorRef> sessions, string when)
    {
        var ids = sessions.Keys.Order().ToArray();
        var received = SessionEvents.Exchange(events, sessions, ids.ToDictionary(s => s, s => $"{when} from {s}"), Generous);
        Assert.Equal($"{when} from {ids[1]}", received[ids[0]]);
        Assert.Equal($"{when} from {ids[0]}", received[ids[1]]);
    }
}
