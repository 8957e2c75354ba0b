using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Protocol.Ice;
using P2P.Protocol.Stun;
using Xunit;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Tests.Ice;

/// <summary>The ICE agent's data in one place (<see cref="IceAgentState"/>), owned by the pair checker, which a restarted checker rebuilds from.</summary>
public sealed class IceAgentStateTests : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private static IceCandidate Host(string foundation, int port) =>
        new(foundation, 1, CandidateTransport.Udp, CandidatePriority.Compute(CandidateType.Host, 65535, 1), new IPEndPoint(IPAddress.Loopback, port), CandidateType.Host);

    [Fact]
    public void The_remote_credentials_are_set_once_and_candidates_kept_in_order()
    {
        var state = new IceAgentState(IceCredentials.Generate(), controlling: true, tieBreaker: 1, sessionTag: 2);
        var first = IceCredentials.Generate();
        Assert.True(state.SetRemote(first, TimeSpan.FromMilliseconds(20)));
        Assert.False(state.SetRemote(IceCredentials.Generate(), null)); // an ICE restart makes a new agent, with a new state
        Assert.Equal((first, TimeSpan.FromMilliseconds(20)), (state.Remote, state.RemotePacing));
        state.AddRemote(Host("a", 1));
        state.AddRemote(Host("b", 2));
        Assert.Equal(["a", "b"], state.RemoteCandidates.Select(c => c.Foundation));
    }

    [Fact]
    public void A_checker_restarted_before_any_pair_worked_rebuilds_its_pairs_from_the_state_and_checks_them_afresh()
    {
        var state = new IceAgentState(IceCredentials.Generate(), controlling: true, tieBreaker: 42, sessionTag: 7);
        var transport = CreateTestProbe();
        var parent = Sys.ActorOf(Props.Create(() => new Restarting(PairChecker.Props(IceSettings.Default, "rebuild", state, transport.Ref))));
        parent.Tell("child", TestActor);
        var checker = ExpectMsg<IActorRef>(Wait);
        var local = Host("1", 43000);
        var remote = Host("2", 43001) with { Foundation = "2" };
        checker.Tell(new PairCheckerProtocol.SetRemoteCredentials(IceCredentials.Generate()), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.AddLocalCandidate(local), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.AddRemoteCandidate(remote), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.GatheringComplete(Local: true), ActorRefs.NoSender);
        var before = FirstCheck(transport);
        Assert.Equal(remote.Address, before.To);

        checker.Tell(new P2P.Actors.Supervision.InjectFault("injected by the test"), ActorRefs.NoSender);
        // the new checker has the agent's data without anyone feeding it again: its pair, and a new check on it
        var after = transport.FishForMessage<Transmit>(t => TransactionOf(t) != TransactionOf(before), Wait);
        Assert.Equal(remote.Address, after.To);
        checker.Tell(new PairCheckerProtocol.GetPairs(), TestActor);
        var pair = Assert.Single(ExpectMsg<PairCheckerProtocol.PairTable>(Wait).Pairs);
        Assert.Equal((local.Address, remote.Address), (pair.Local.Address, pair.Remote.Address));
        Assert.Equal([local], state.LocalCandidates);
        Assert.True(state.LocalGatheringDone);
        Assert.Null(state.Selected);
    }

    /// <summary>Restarts its one child when it throws, as the IceAgent does its checker; tells who asks "child" which it is.</summary>
    private sealed class Restarting : ReceiveActor
    {
        public Restarting(Props child)
        {
            var made = Context.ActorOf(child, "checks");
            Receive<string>(_ => Sender.Tell(made));
            ReceiveAny(_ => { });
        }

        protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Restart);
    }

    private static Transmit FirstCheck(Akka.TestKit.TestProbe transport) => transport.FishForMessage<Transmit>(_ => true, Wait);

    private static TransactionId TransactionOf(Transmit t)
    {
        Assert.True(StunMessage.TryParse(t.Payload.Span, out var msg, out _));
        return msg.TransactionId;
    }
}
