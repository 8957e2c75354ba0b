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
/// How a check's transaction ends when the remote never answers, in virtual time: over UDP it is retransmitted
/// (RFC 8489 §6.2.1, with the check RTO of RFC 8445 §14.3); over a TCP pair, a reliable transport, it is sent once
/// and times out (RFC 8489 §6.2.2, RFC 6544 §7.1) after p2p.ice.check-tcp-timeout.
/// </summary>
public sealed class PairCheckerRetransmissionTests : TestKit
{
    private readonly ITestOutputHelper _output;

    public PairCheckerRetransmissionTests(ITestOutputHelper output) : base("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        """, output) => _output = output;

    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);
    private static readonly IPAddress Local = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress Remote = IPAddress.Parse("10.0.0.2");

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    [Fact]
    public void A_check_on_a_tcp_pair_to_a_silent_remote_is_sent_once_and_fails_after_the_tcp_timeout()
    {
        var settings = IceSettings.Default;
        var local = CandidateGatherer.TcpHost(new IPEndPoint(Local, IceCandidate.ActiveTcpPort), TcpCandidateType.Active, 0);
        var remote = CandidateGatherer.TcpHost(new IPEndPoint(Remote, 50001), TcpCandidateType.Passive, 0);
        var (sent, failedAt) = CheckSilentRemote(settings, local, remote);
        Assert.Equal(1, sent);
        Assert.Equal(settings.CheckRetransmission.TcpTimeout, failedAt);
    }

    [Fact]
    public void A_check_on_a_udp_pair_to_a_silent_remote_is_retransmitted_rc_times_before_it_fails()
    {
        var settings = IceSettings.Default;
        var local = Udp(Local, 40000, "u1");
        var remote = Udp(Remote, 50000, "u2");
        var (sent, failedAt) = CheckSilentRemote(settings, local, remote);
        Assert.Equal(settings.CheckRetransmission.Rc, sent);
        Assert.Equal(settings.CheckRetransmission.TotalTimeout(reliable: false), failedAt);
    }

    [Fact]
    public void The_tcp_check_timeout_comes_from_akka_hocon_and_a_tcp_check_fails_when_a_udp_one_would()
    {
        var hocon = P2P.Actors.Tests.Turn.TurnClientSettingsTests.RepoHocon();
        var schedule = IceSettings.From(hocon).CheckRetransmission;
        Assert.Equal(schedule.TotalTimeout(reliable: false), schedule.TotalTimeout(reliable: true));
        var changed = Akka.Configuration.ConfigurationFactory.ParseString("p2p.ice.check-tcp-timeout = 5s").WithFallback(hocon);
        Assert.Equal(TimeSpan.FromSeconds(5), IceSettings.From(changed).CheckRetransmission.TcpTimeout);
    }

    private static IceCandidate Udp(IPAddress address, int port, string foundation) =>
        new(foundation, 1, CandidateTransport.Udp, CandidatePriority.Compute(CandidateType.Host, CandidatePriority.LocalPreference(address, 0), 1),
            new IPEndPoint(address, port), CandidateType.Host);

    /// <summary>
    /// One pair, a remote that never answers: how many checks went out, and how long after the first the checker said
    /// all pairs failed. The checker and the probes run on the calling thread, so each step of virtual time is seen whole.
    /// </summary>
    private (int Sent, TimeSpan FailedAt) CheckSilentRemote(IceSettings settings, IceCandidate local, IceCandidate remote)
    {
        var parent = CreateTestProbe();
        var transport = CreateTestProbe();
        var props = PairChecker.Props(settings with { MaxCheckingSessions = 0 }, "silent", IceCredentials.Generate(), controlling: true, tieBreaker: 42, sessionTag: 7, transport.Ref);
        var checker = parent.ChildActorOf(props.WithDispatcher(CallingThreadDispatcher.Id));
        checker.Tell(new PairCheckerProtocol.AddLocalCandidate(local), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.SetRemoteDescription(new IceDescription(IceCredentials.Generate(), [remote]) { EndOfCandidates = true }), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.GatheringComplete(Local: true), ActorRefs.NoSender);
        int sent = Drain<Transmit>(transport).Count;
        Assert.Equal(1, sent);
        var elapsed = TimeSpan.Zero;
        var limit = TimeSpan.FromSeconds(60);
        while (elapsed < limit)
        {
            Scheduler.Advance(Step);
            elapsed += Step;
            sent += Drain<Transmit>(transport).Count;
            if (Drain<PairCheckerProtocol.ChecksFailed>(parent).FirstOrDefault() is { } failed)
            {
                _output.WriteLine($"{sent} checks sent, failed after {elapsed.TotalSeconds:0.00} s: {failed.Reason}");
                return (sent, elapsed);
            }
        }
        throw new Xunit.Sdk.XunitException($"no ChecksFailed within {limit.TotalSeconds:0} s; {sent} checks sent");
    }

    private static List<T> Drain<T>(TestProbe probe)
    {
        var seen = new List<T>();
        while (probe.HasMessages)
            if (probe.ReceiveOne(TimeSpan.Zero) is T t) seen.Add(t);
        return seen;
    }
}
