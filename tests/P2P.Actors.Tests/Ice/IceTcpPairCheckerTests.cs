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

/// <summary>The pair checker with TCP candidates beside UDP ones (RFC 6544): UDP stays preferred and is never held up by TCP pairs; a passive candidate sends no ordinary check.</summary>
public sealed class IceTcpPairCheckerTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly IPAddress Local = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress Remote = IPAddress.Parse("10.0.0.2");

    private static IceCandidate UdpHost(IPAddress address, int port) =>
        new(address.Equals(Local) ? "u1" : "u2", 1, CandidateTransport.Udp, CandidatePriority.Compute(CandidateType.Host, CandidatePriority.LocalPreference(address, 0), 1),
            new IPEndPoint(address, port), CandidateType.Host);

    private static IceCandidate[] TcpHosts(IPAddress address, int passivePort) =>
    [
        CandidateGatherer.TcpHost(new IPEndPoint(address, IceCandidate.ActiveTcpPort), TcpCandidateType.Active, 0),
        CandidateGatherer.TcpHost(new IPEndPoint(address, passivePort), TcpCandidateType.Passive, 0),
    ];

    [Fact]
    public void A_working_udp_pair_is_nominated_without_waiting_for_the_unanswered_tcp_pairs()
    {
        var settings = IceSettings.Default with { NominationWait = TimeSpan.FromSeconds(20) }; // waiting it out would show
        var local = IceCredentials.Generate();
        var remote = IceCredentials.Generate();
        var parent = CreateTestProbe();
        var seen = CreateTestProbe();
        var transport = Sys.ActorOf(Props.Create(() => new UdpOnlyRemote(remote, seen.Ref)));
        var checker = parent.ChildActorOf(PairChecker.Props(settings, "tcp", local, controlling: true, tieBreaker: 42, sessionTag: 7, transport));
        checker.Tell(new PairCheckerProtocol.SetRemoteCredentials(remote, TimeSpan.FromMilliseconds(5)), ActorRefs.NoSender);
        foreach (var c in TcpHosts(Local, 40001).Prepend(UdpHost(Local, 40000))) checker.Tell(new PairCheckerProtocol.AddLocalCandidate(c), ActorRefs.NoSender);
        // the remote's UDP candidate is server-reflexive, the lowest direct UDP kind: its pair still outranks the TCP host pairs
        var srflx = new IceCandidate("s2", 1, CandidateTransport.Udp, CandidatePriority.Compute(CandidateType.ServerReflexive, CandidatePriority.LocalPreference(Remote, 0), 1),
            new IPEndPoint(Remote, 50000), CandidateType.ServerReflexive, new IPEndPoint(IPAddress.Parse("192.168.1.2"), 50000));
        foreach (var c in TcpHosts(Remote, 50001).Prepend(srflx)) checker.Tell(new PairCheckerProtocol.AddRemoteCandidate(c), ActorRefs.NoSender);

        var selected = parent.FishForMessage<PairCheckerProtocol.PairSelected>(_ => true, TimeSpan.FromSeconds(5));
        Assert.Equal(CandidateTransport.Udp, selected.Pair.Local.Transport);

        checker.Tell(new PairCheckerProtocol.GetPairs(), TestActor);
        var pairs = ExpectMsg<PairCheckerProtocol.PairTable>().Pairs;
        // active pairs with passive and never active with active (RFC 6544 §6.2): one UDP pair, two TCP pairs
        Assert.Equal(3, pairs.Count);
        Assert.Equal(CandidateTransport.Udp, pairs[0].Local.Transport); // the highest priority
        Assert.Contains(pairs, p => p.Local.TcpType == TcpCandidateType.Active && p.Remote.TcpType == TcpCandidateType.Passive);
        Assert.Contains(pairs, p => p.Local.TcpType == TcpCandidateType.Passive && p.Remote.TcpType == TcpCandidateType.Active);
    }

    [Fact]
    public void A_passive_candidate_sends_no_ordinary_check_and_its_pair_fails_at_once()
    {
        var local = IceCredentials.Generate();
        var remote = IceCredentials.Generate();
        var parent = CreateTestProbe();
        var seen = CreateTestProbe();
        var transport = Sys.ActorOf(Props.Create(() => new UdpOnlyRemote(remote, seen.Ref)));
        var checker = parent.ChildActorOf(PairChecker.Props(IceSettings.Default, "passive", local, controlling: false, tieBreaker: 42, sessionTag: 7, transport));
        checker.Tell(new PairCheckerProtocol.SetRemoteCredentials(remote, TimeSpan.FromMilliseconds(5)), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.AddLocalCandidate(TcpHosts(Local, 40001)[1]), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.AddRemoteCandidate(TcpHosts(Remote, 50001)[0]), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.GatheringComplete(Local: true), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.GatheringComplete(Local: false), ActorRefs.NoSender);

        var failed = parent.FishForMessage<PairCheckerProtocol.ChecksFailed>(_ => true, TimeSpan.FromSeconds(5));
        Assert.Contains("all 1 candidate pairs failed", failed.Reason);
        seen.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // nothing was sent from the passive candidate
    }

    /// <summary>Answers checks on UDP pairs at once; tells <paramref name="seen"/> of every TCP check and leaves it unanswered (a network that drops TCP).</summary>
    private sealed class UdpOnlyRemote : ReceiveActor
    {
        public UdpOnlyRemote(IceCredentials remote, IActorRef seen)
        {
            var key = new StunIntegrityKey(Encoding.UTF8.GetBytes(remote.Pwd));
            var buffer = new byte[512];
            Receive<Transmit>(t =>
            {
                if (!StunMessage.TryParse(t.Payload.Span, out var request, out _) || request.Class != StunClass.Request) return;
                if (t.Local.Transport == CandidateTransport.Tcp)
                {
                    seen.Tell(t);
                    return;
                }
                int length = IceMessages.WriteBindingSuccess(buffer, request.TransactionId, t.Local.Address, key);
                Sender.Tell(new Inbound(t.Local, t.To, buffer.AsSpan(0, length).ToArray()));
            });
        }
    }
}
