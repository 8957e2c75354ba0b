using System.Net;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Ice;

/// <summary>
/// RFC 7675 §5.1 consent checks of many sessions on the shared grid (p2p.ice.consent-grid), in virtual time. The
/// connections and their parent run on the calling thread, so each check is seen at the virtual instant its timer fired.
/// </summary>
public sealed class ConsentGridTests(ITestOutputHelper output) : TestKit("""
    akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
    """, output)
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    /// <summary>The sessions' parent: starts their connections, notes when each asks for a consent check and confirms it.</summary>
    private sealed class Sessions : UntypedActor
    {
        private readonly List<(IActorRef Connection, DateTimeOffset At)> _checks;

        public Sessions(IceSettings settings, int count, List<(IActorRef, DateTimeOffset)> checks)
        {
            _checks = checks;
            var local = new IceCandidate("1", 1, CandidateTransport.Udp, 1, new IPEndPoint(IPAddress.Loopback, 4000), CandidateType.Host);
            var remote = local with { Address = new IPEndPoint(IPAddress.Loopback, 5000) };
            for (int i = 0; i < count; i++)
                Context.ActorOf(Connection.Props(settings, $"s{i}", new SelectedPair(local, remote, 1, TimeSpan.FromMilliseconds(1)), Context.System.DeadLetters)
                    .WithDispatcher(CallingThreadDispatcher.Id));
        }

        protected override void OnReceive(object message)
        {
            if (message is ConnectionProtocol.GetInfo)
                foreach (var connection in Context.GetChildren()) connection.Forward(message);
            if (message is not PairCheckerProtocol.CheckConsent) return;
            _checks.Add((Sender, Context.System.Scheduler.Now));
            Sender.Tell(new PairCheckerProtocol.ConsentConfirmed(TimeSpan.FromMilliseconds(1)));
        }
    }

    [Fact]
    public void Every_sessions_consent_checks_fall_on_the_shared_grid_each_interval_within_0_8_to_1_2_of_the_period()
    {
        var settings = IceSettings.Default;
        Assert.Equal(TimeSpan.FromSeconds(1), settings.ConsentGrid);
        // virtual time starts at the wall clock: move it to a multiple of the step, so that every grid point is stepped on
        Scheduler.Advance(TimeSpan.FromTicks((Step.Ticks - Scheduler.Now.UtcTicks % Step.Ticks) % Step.Ticks));
        var checks = new List<(IActorRef Connection, DateTimeOffset At)>();
        var started = Scheduler.Now;
        var sessions = Sys.ActorOf(Props.Create(() => new Sessions(settings, 40, checks)).WithDispatcher(CallingThreadDispatcher.Id));
        // each connection has started (and set its first consent timer) once it answers
        sessions.Tell(new ConnectionProtocol.GetInfo(), TestActor);
        for (int i = 0; i < 40; i++) ExpectMsg<ConnectionProtocol.Info>();
        for (var t = TimeSpan.Zero; t < TimeSpan.FromSeconds(60); t += Step) Scheduler.Advance(Step);

        var perConnection = checks.GroupBy(c => c.Connection).ToList();
        Assert.Equal(40, perConnection.Count);
        var first = new List<TimeSpan>();
        var intervals = new List<TimeSpan>();
        foreach (var connection in perConnection)
        {
            var times = connection.Select(c => c.At).ToList();
            first.Add(times[0] - started);
            for (int i = 1; i < times.Count; i++) intervals.Add(times[i] - times[i - 1]);
            Assert.True(times.Count >= 10, $"{times.Count} checks in 60 s");
        }
        // RFC 7675 §5.1: each interval, the first after the connection started included, is 0.8-1.2 of 5 s
        Assert.All(first.Concat(intervals), i => Assert.InRange(i, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(6)));
        // ...still randomized: between two checks every grid point of that range is used (4, 5 and 6 s)
        Assert.Equal(Enumerable.Range(0, 3).Select(k => TimeSpan.FromSeconds(4 + k)), intervals.Distinct().Order());
        // ...and every check is due on the grid, so the 40 sessions' ~480 checks share at most 60 s / 1 s instants
        Assert.All(checks, c => Assert.Equal(0, c.At.UtcTicks % settings.ConsentGrid.Ticks));
        int instants = checks.Select(c => c.At).Distinct().Count();
        Assert.True(instants <= 60, $"{instants} instants");
    }
}
