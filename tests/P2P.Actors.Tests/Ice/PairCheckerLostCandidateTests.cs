using System.Net;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Tests.Ice;

/// <summary>
/// Pairs that share a foundation wait Frozen behind the one being checked (RFC 8445 §6.1.2.6, §6.1.4.2): when that
/// check fails, or its local candidate is lost (a relay's allocation gone with its TURN server), the next one is
/// checked, and a lost candidate is in no later ICE generation. In virtual time, on the calling thread.
/// </summary>
public sealed class PairCheckerLostCandidateTests : TestKit
{
    private readonly ITestOutputHelper _output;

    public PairCheckerLostCandidateTests(ITestOutputHelper output) : base("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        """, output) => _output = output;

    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);
    private static readonly IPAddress Relays = IPAddress.Parse("198.51.100.1");

    // two relayed candidates of one foundation (as two TURN servers on one IP address had before they got their own),
    // the first of higher priority, and one remote candidate that never answers
    private static readonly IceCandidate First = Relayed(40000, localPreference: 2), Second = Relayed(41000, localPreference: 1);
    private static readonly IceCandidate Remote = new("remote", 1, CandidateTransport.Udp,
        CandidatePriority.Compute(CandidateType.Relayed, 0, 1), new IPEndPoint(Relays, 42000), CandidateType.Relayed);

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private static IceCandidate Relayed(int port, int localPreference) =>
        new("same", 1, CandidateTransport.Udp, CandidatePriority.Compute(CandidateType.Relayed, localPreference, 1), new IPEndPoint(Relays, port), CandidateType.Relayed);

    private (IActorRef Checker, TestProbe Parent, TestProbe Transport) Start()
    {
        var parent = CreateTestProbe();
        var transport = CreateTestProbe();
        var props = PairChecker.Props(IceSettings.Default with { MaxCheckingSessions = 0 }, "lost", IceCredentials.Generate(), controlling: true, tieBreaker: 42, sessionTag: 7, transport.Ref);
        var checker = parent.ChildActorOf(props.WithDispatcher(CallingThreadDispatcher.Id));
        checker.Tell(new PairCheckerProtocol.AddLocalCandidate(First), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.AddLocalCandidate(Second), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.GatheringComplete(Local: true), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.SetRemoteDescription(new IceDescription(IceCredentials.Generate(), [Remote]) { EndOfCandidates = true }), ActorRefs.NoSender);
        return (checker, parent, transport);
    }

    /// <summary>Advances virtual time until a check leaves from <paramref name="from"/>; how long that took.</summary>
    private TimeSpan UntilCheckFrom(TestProbe transport, IceCandidate from, TimeSpan limit)
    {
        for (var elapsed = TimeSpan.Zero; elapsed <= limit; elapsed += Step)
        {
            if (Drain<Transmit>(transport).Any(t => t.Local.Address.Equals(from.Address))) return elapsed;
            Scheduler.Advance(Step);
        }
        throw new Xunit.Sdk.XunitException($"no check from {from.Address} within {limit.TotalSeconds:0} s");
    }

    [Fact]
    public void The_frozen_pair_of_a_foundation_is_checked_once_the_check_ahead_of_it_times_out()
    {
        var (_, _, transport) = Start();
        Assert.Contains(Drain<Transmit>(transport), t => t.Local.Address.Equals(First.Address));
        var total = IceSettings.Default.CheckRetransmission.TotalTimeout(reliable: false);
        var after = UntilCheckFrom(transport, Second, total + TimeSpan.FromSeconds(5));
        _output.WriteLine($"the frozen pair was checked {after.TotalSeconds:0.00} s after the first check (its transaction: {total.TotalSeconds:0.00} s)");
        Assert.InRange(after, total - Step, total + Step);
    }

    [Fact]
    public void A_lost_local_candidates_pairs_fail_at_once_the_frozen_pair_is_checked_and_a_restart_leaves_it_out()
    {
        var (checker, parent, transport) = Start();
        Assert.Contains(Drain<Transmit>(transport), t => t.Local.Address.Equals(First.Address));

        checker.Tell(new PairCheckerProtocol.RemoveLocalCandidate(First), ActorRefs.NoSender);
        Assert.True(UntilCheckFrom(transport, Second, TimeSpan.FromSeconds(1)) <= IceSettings.DefaultPacing);
        checker.Tell(new PairCheckerProtocol.GetPairs(), parent.Ref);
        var pairs = parent.FishForMessage<PairCheckerProtocol.PairTable>(_ => true).Pairs;
        Assert.Equal(CandidatePairState.Failed, Assert.Single(pairs, p => p.Local.Address.Equals(First.Address)).State);
        Assert.Equal(CandidatePairState.InProgress, Assert.Single(pairs, p => p.Local.Address.Equals(Second.Address)).State);

        checker.Tell(PairCheckerProtocol.Restart.Instance, ActorRefs.NoSender);
        var restarted = parent.FishForMessage<PairCheckerProtocol.Restarted>(_ => true);
        Assert.Equal([Second.Address], restarted.Candidates.Select(c => c.Address));
        checker.Tell(new PairCheckerProtocol.SetRemoteDescription(new IceDescription(IceCredentials.Generate(), [Remote]) { EndOfCandidates = true }), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.GetPairs(), parent.Ref);
        Assert.Equal([Second.Address], parent.FishForMessage<PairCheckerProtocol.PairTable>(_ => true).Pairs.Select(p => p.Local.Address));
    }

    private static List<T> Drain<T>(TestProbe probe)
    {
        var seen = new List<T>();
        while (probe.HasMessages)
            if (probe.ReceiveOne(TimeSpan.Zero) is T t) seen.Add(t);
        return seen;
    }
}
