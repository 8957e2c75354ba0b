using System.Diagnostics;
using System.Net;
using System.Text;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Protocol.Ice;
using P2P.Protocol.Stun;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Tests.Ice;

/// <summary>Pacing of checks (RFC 8445 §14.2) with the real scheduler, whose 10 ms tick is coarser than Ta (5 ms).</summary>
public sealed class PairCheckerPacingTests : TestKit
{
    private static readonly TimeSpan Ta = TimeSpan.FromMilliseconds(5);
    private readonly ITestOutputHelper _output;

    /// <summary>
    /// The scheduler ticks every 100 ms here, ten times its default: a check that waited for the scheduler would come
    /// 100-200 ms after the one before it, one that the pacing wake-up sends comes about Ta (5 ms) after it. A busy
    /// machine delays the latter by milliseconds, never by the tenths of a second that tell the two apart.
    /// </summary>
    private const string CoarseTick = "akka.scheduler.tick-duration = 100ms";

    private static readonly TimeSpan SchedulerTick = TimeSpan.FromMilliseconds(100);

    public PairCheckerPacingTests(ITestOutputHelper output) : base(CoarseTick, output) => _output = output;

    [Fact]
    public void The_nomination_goes_once_Ta_has_passed_not_at_the_schedulers_next_tick()
    {
        GapBeforeNomination(0); // warm-up: the first actors and messages of a test process are slow
        var gaps = Enumerable.Range(1, 7).Select(GapBeforeNomination).Order().ToList();
        _output.WriteLine($"first check to nomination: {string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds:0.0} ms"))}");
        // pacing holds: not sooner than Ta after the check before it (as seen by the remote, give or take a delivery)
        var tolerance = TimeSpan.FromMilliseconds(1);
        Assert.All(gaps, g => Assert.True(g >= Ta - tolerance, $"the nomination went {g.TotalMilliseconds:0.0} ms after the check, before Ta"));
        // and it does not wait for the scheduler's tick (a timer of Ta fires a whole tick or two after it was set); the
        // median of seven absorbs a busy machine. How soon after Ta it goes is a figure for bench/, not for this test.
        Assert.True(gaps[3] < SchedulerTick / 2, $"the nomination waited {gaps[3].TotalMilliseconds:0.0} ms (median), as if for the scheduler's {SchedulerTick.TotalMilliseconds:0} ms tick");
    }

    [Fact]
    public void A_valid_pair_is_reported_before_the_nomination_selects_it()
    {
        // RFC 8445 §8.1.1: data can go on any valid pair without nomination; the session starts DTLS on it
        var local = IceCredentials.Generate();
        var remote = IceCredentials.Generate();
        var localCandidate = new IceCandidate("1", 1, CandidateTransport.Udp, CandidatePriority.Compute(CandidateType.Host, 65535, 1),
            new IPEndPoint(IPAddress.Loopback, 42000), CandidateType.Host);
        var remoteCandidate = localCandidate with { Foundation = "2", Address = new IPEndPoint(IPAddress.Loopback, 42001) };
        var parent = CreateTestProbe();
        var transport = Sys.ActorOf(Props.Create(() => new AnsweringRemote(remote, CreateTestProbe().Ref, true)));
        var checker = parent.ChildActorOf(PairChecker.Props(IceSettings.Default, "valid", local, controlling: true, tieBreaker: 42, sessionTag: 7, transport));
        checker.Tell(new PairCheckerProtocol.SetRemoteCredentials(remote, Ta), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.AddLocalCandidate(localCandidate), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.AddRemoteCandidate(remoteCandidate), ActorRefs.NoSender);

        var valid = parent.ExpectMsg<PairCheckerProtocol.PairValid>(TimeSpan.FromSeconds(5));
        Assert.Equal(remoteCandidate.Address, valid.Pair.Remote.Address);
        var selected = parent.FishForMessage<PairCheckerProtocol.PairSelected>(_ => true, TimeSpan.FromSeconds(5));
        Assert.Equal(valid.Pair.Remote.Address, selected.Pair.Remote.Address);
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // reported once: no second PairValid after the selection
    }

    /// <summary>One controlling checker, one pair, a remote that answers at once: the time from its first check to the nomination.</summary>
    private TimeSpan GapBeforeNomination(int run)
    {
        var local = IceCredentials.Generate();
        var remote = IceCredentials.Generate();
        var localCandidate = new IceCandidate("1", 1, CandidateTransport.Udp, CandidatePriority.Compute(CandidateType.Host, 65535, 1),
            new IPEndPoint(IPAddress.Loopback, 40000 + run), CandidateType.Host);
        var remoteCandidate = localCandidate with { Foundation = "2", Address = new IPEndPoint(IPAddress.Loopback, 41000 + run) };
        var probe = CreateTestProbe();
        var transport = Sys.ActorOf(Props.Create(() => new AnsweringRemote(remote, probe.Ref)));
        var checker = Sys.ActorOf(PairChecker.Props(IceSettings.Default, $"pace-{run}", local, controlling: true, tieBreaker: 42, sessionTag: 7, transport));
        checker.Tell(new PairCheckerProtocol.SetRemoteCredentials(remote, Ta), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.AddLocalCandidate(localCandidate), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.AddRemoteCandidate(remoteCandidate), ActorRefs.NoSender);
        var gap = probe.ExpectMsg<Gap>(TimeSpan.FromSeconds(5)).Value;
        Sys.Stop(checker);
        Sys.Stop(transport);
        return gap;
    }

    private sealed record Gap(TimeSpan Value);

    /// <summary>Answers the first check with a success at once (and the nomination when asked); tells the probe how long after it the USE-CANDIDATE check came.</summary>
    private sealed class AnsweringRemote : ReceiveActor
    {
        public AnsweringRemote(IceCredentials remote, IActorRef probe, bool answerNominations = false)
        {
            long firstAt = 0;
            var key = new StunIntegrityKey(Encoding.UTF8.GetBytes(remote.Pwd));
            var buffer = new byte[512];
            Receive<Transmit>(t =>
            {
                long now = Stopwatch.GetTimestamp();
                if (!StunMessage.TryParse(t.Payload.Span, out var request, out _) || request.Class != StunClass.Request) return;
                if (request.Has(StunAttributeType.UseCandidate))
                {
                    if (firstAt != 0) probe.Tell(new Gap(Stopwatch.GetElapsedTime(firstAt, now)));
                    firstAt = 0;
                    if (answerNominations) Answer(t, request.TransactionId);
                    return;
                }
                if (firstAt != 0) return; // only the first check is timed and answered
                firstAt = now;
                Answer(t, request.TransactionId);
            });

            void Answer(Transmit t, TransactionId id)
            {
                int length = IceMessages.WriteBindingSuccess(buffer, id, t.Local.Address, key);
                Sender.Tell(new Inbound(t.Local, t.To, buffer.AsSpan(0, length).ToArray()));
            }
        }
    }
}
