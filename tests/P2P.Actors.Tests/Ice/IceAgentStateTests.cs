using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Protocol.Ice;
using P2P.Protocol.Stun;
using Xunit;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Tests.Ice;

/// <summary>The ICE agent's data in one place (<see cref="IceAgentState"/>), owned by the pair checker, which a restarted checker rebuilds from, as the checker does after an ICE restart.</summary>
public sealed class IceAgentStateTests : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private static IceCandidate Host(string foundation, int port) =>
        new(foundation, 1, CandidateTransport.Udp, CandidatePriority.Compute(CandidateType.Host, 65535, 1), new IPEndPoint(IPAddress.Loopback, port), CandidateType.Host);

    [Fact]
    public void The_remote_credentials_are_set_once_and_candidates_kept_in_order_and_paired_once_the_credentials_came()
    {
        var state = new IceAgentState(IceCredentials.Generate(), controlling: true, tieBreaker: 1, sessionTag: 2);
        Assert.Empty(state.AddLocal(Host("l", 3))); // no remote candidate yet
        Assert.Empty(state.AddRemote(Host("a", 1))); // no credentials yet: kept, not paired
        var first = IceCredentials.Generate();
        Assert.True(state.SetRemote(first, TimeSpan.FromMilliseconds(20)));
        Assert.Single(state.CheckList.Pairs); // the candidate that came before them, paired
        Assert.False(state.SetRemote(IceCredentials.Generate(), null)); // new ones come only with a new generation (Restart)
        Assert.Equal((first, TimeSpan.FromMilliseconds(20)), (state.Remote, state.RemotePacing));
        Assert.Single(state.AddRemote(Host("b", 2)));
        Assert.Equal(["a", "b"], state.RemoteCandidates.Select(c => c.Foundation));
        Assert.Equal(2, state.CheckList.Pairs.Count);
        state.Controlling = false; // the role is the check list's
        Assert.False(state.CheckList.Controlling);
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

    [Fact]
    public void A_checker_restarted_after_a_pair_became_valid_keeps_it_valid_and_nominates_it_without_checking_it_again()
    {
        var state = new IceAgentState(IceCredentials.Generate(), controlling: true, tieBreaker: 42, sessionTag: 7);
        var remoteCredentials = IceCredentials.Generate();
        var seen = CreateTestProbe();
        var transport = Sys.ActorOf(Props.Create(() => new AnswersAllButNominations(remoteCredentials, seen.Ref)));
        var parent = Sys.ActorOf(Props.Create(() => new Restarting(PairChecker.Props(IceSettings.Default, "valid", state, transport))));
        parent.Tell("child", TestActor);
        var checker = ExpectMsg<IActorRef>(Wait);
        checker.Tell(new PairCheckerProtocol.AddLocalCandidate(Host("1", 43300)), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.SetRemoteDescription(new IceDescription(remoteCredentials, [Host("2", 43301)])), ActorRefs.NoSender);
        // the check is answered, the nomination is not: the pair is valid and its nomination under way when the checker throws
        var before = new HashSet<TransactionId>();
        seen.FishForMessage<Transmit>(t =>
        {
            before.Add(TransactionOf(t));
            return IsNomination(t);
        }, Wait);

        checker.Tell(new P2P.Actors.Supervision.InjectFault("injected by the test"), ActorRefs.NoSender);
        var after = seen.FishForMessage<Transmit>(t => !before.Contains(TransactionOf(t)), Wait);
        Assert.True(IsNomination(after), "the restarted checker checked the valid pair again instead of nominating it");
        checker.Tell(new PairCheckerProtocol.GetPairs(), TestActor);
        Assert.True(Assert.Single(ExpectMsg<PairCheckerProtocol.PairTable>(Wait).Pairs).Valid);
    }

    /// <summary>A remote that answers ordinary checks and lets nominations (USE-CANDIDATE) go unanswered; tells <paramref name="seen"/> of every request.</summary>
    private sealed class AnswersAllButNominations : ReceiveActor
    {
        public AnswersAllButNominations(IceCredentials remote, IActorRef seen)
        {
            var key = new StunIntegrityKey(System.Text.Encoding.UTF8.GetBytes(remote.Pwd));
            var buffer = new byte[512];
            Receive<Transmit>(t =>
            {
                seen.Tell(t);
                if (IsNomination(t)) return;
                Assert.True(StunMessage.TryParse(t.Payload.Span, out var request, out _));
                int length = IceMessages.WriteBindingSuccess(buffer, request.TransactionId, t.Local.Address, key);
                Sender.Tell(new Inbound(t.Local, t.To, buffer.AsSpan(0, length).ToArray()));
            });
        }
    }

    private static bool IsNomination(Transmit t) =>
        StunMessage.TryParse(t.Payload.Span, out var msg, out _) && msg.Has(StunAttributeType.UseCandidate);

    [Fact]
    public void An_ice_restart_keeps_the_local_candidates_and_role_it_started_with_and_forgets_the_remote_generation()
    {
        var first = IceCredentials.Generate();
        var state = new IceAgentState(first, controlling: true, tieBreaker: 5, sessionTag: 9);
        var remote = IceCredentials.Generate();
        state.AddLocal(Host("l", 1));
        state.LocalGatheringDone = true;
        state.SetRemote(remote, TimeSpan.FromMilliseconds(20));
        state.AddRemote(Host("r", 2));
        Assert.Single(state.CheckList.Pairs);
        state.RemoteGatheringDone = true;
        state.Controlling = false; // a role conflict settled on controlled

        var second = IceCredentials.Generate();
        state.Restart(second);

        Assert.Equal((second, 1, 5ul, 9u, true), (state.Local, state.Generation, state.TieBreaker, state.SessionTag, state.Controlling));
        Assert.Equal(["l"], state.LocalCandidates.Select(c => c.Foundation));
        Assert.True(state.LocalGatheringDone);
        Assert.Equal((null, null, false, null), (state.Remote, state.RemotePacing, state.RemoteGatheringDone, state.Selected));
        Assert.Empty(state.RemoteCandidates);
        Assert.Empty(state.CheckList.Pairs); // a new list: its local candidate waits for the remote's new ones
        Assert.Equal(["l"], state.CheckList.LocalCandidates.Select(c => c.Foundation));
        Assert.Equal(remote, state.PreviousRemote);
    }

    [Fact]
    public void The_credentials_of_a_remote_description_are_the_first_the_same_a_remote_restart_or_stale()
    {
        var state = new IceAgentState(IceCredentials.Generate(), controlling: false, tieBreaker: 1, sessionTag: 2);
        var before = IceCredentials.Generate();
        Assert.Equal(RemoteCredentials.First, state.Classify(before));
        state.SetRemote(before, null);
        Assert.Equal(RemoteCredentials.Same, state.Classify(before));
        Assert.Equal(RemoteCredentials.Restarted, state.Classify(IceCredentials.Generate()));
        state.Restart(IceCredentials.Generate()); // restarted here: the remote's answer is the first of the new generation
        var answer = IceCredentials.Generate();
        Assert.Equal(RemoteCredentials.Stale, state.Classify(before));
        Assert.Equal(RemoteCredentials.First, state.Classify(answer));
    }

    [Fact]
    public void A_relayed_candidate_replaced_after_its_allocation_was_dropped_takes_the_old_ones_place()
    {
        var state = new IceAgentState(IceCredentials.Generate(), controlling: true, tieBreaker: 1, sessionTag: 2);
        var old = Host("a", 5) with { Type = CandidateType.Relayed };
        state.AddLocal(Host("h", 4));
        state.AddLocal(old);
        state.ReplaceLocal(old, old with { Foundation = "b", Address = new IPEndPoint(IPAddress.Loopback, 6) });
        Assert.Equal(["h", "b"], state.LocalCandidates.Select(c => c.Foundation));
        state.ReplaceLocal(Host("x", 7) with { Type = CandidateType.Relayed }, Host("c", 8) with { Type = CandidateType.Relayed });
        Assert.Equal(["h", "b", "c"], state.LocalCandidates.Select(c => c.Foundation));
    }

    [Fact]
    public void A_checker_told_to_restart_signals_new_credentials_with_its_candidates_and_checks_them_once_the_remote_answers()
    {
        var state = new IceAgentState(IceCredentials.Generate(), controlling: true, tieBreaker: 42, sessionTag: 7);
        var first = state.Local;
        var parent = CreateTestProbe();
        var transport = CreateTestProbe();
        var checker = parent.ChildActorOf(PairChecker.Props(IceSettings.Default, "restart", state, transport.Ref));
        var local = Host("1", 43100);
        var remote = Host("2", 43101);
        var before = IceCredentials.Generate();
        checker.Tell(new PairCheckerProtocol.AddLocalCandidate(local), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.GatheringComplete(Local: true), ActorRefs.NoSender);
        Assert.Equal(first, parent.FishForMessage<PairCheckerProtocol.LocalCandidatesComplete>(_ => true, Wait).Credentials);
        checker.Tell(new PairCheckerProtocol.SetRemoteDescription(new IceDescription(before, [remote])), ActorRefs.NoSender);
        Assert.Equal($"{before.Ufrag}:{first.Ufrag}", UsernameOf(FirstCheck(transport)));

        checker.Tell(PairCheckerProtocol.Restart.Instance, ActorRefs.NoSender);
        var restarted = parent.FishForMessage<PairCheckerProtocol.Restarted>(_ => true, Wait);
        Assert.NotEqual(first, restarted.Credentials);
        Assert.Equal([local], restarted.Candidates);
        // gathering was over: the whole description again, with the new credentials
        Assert.Equal(restarted.Credentials, parent.FishForMessage<PairCheckerProtocol.LocalCandidatesComplete>(_ => true, Wait).Credentials);
        checker.Tell(new PairCheckerProtocol.GetPairs(), TestActor);
        Assert.Empty(ExpectMsg<PairCheckerProtocol.PairTable>(Wait).Pairs); // no remote candidate of the new generation yet

        // the remote's description of before the restart is stale; its answer pairs the same local candidate again
        checker.Tell(new PairCheckerProtocol.SetRemoteDescription(new IceDescription(before, [remote])), ActorRefs.NoSender);
        var answer = IceCredentials.Generate();
        checker.Tell(new PairCheckerProtocol.SetRemoteDescription(new IceDescription(answer, [remote])), ActorRefs.NoSender);
        var check = transport.FishForMessage<Transmit>(t => UsernameOf(t) != $"{before.Ufrag}:{first.Ufrag}", Wait);
        Assert.Equal($"{answer.Ufrag}:{restarted.Credentials.Ufrag}", UsernameOf(check));
        Assert.Equal((answer, before, 1), (state.Remote, state.PreviousRemote, state.Generation));
        parent.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // the answer restarted nothing
    }

    [Fact]
    public void A_remote_description_with_new_credentials_restarts_the_checker_too()
    {
        var state = new IceAgentState(IceCredentials.Generate(), controlling: false, tieBreaker: 42, sessionTag: 7);
        var parent = CreateTestProbe();
        var transport = CreateTestProbe();
        var checker = parent.ChildActorOf(PairChecker.Props(IceSettings.Default, "remote-restart", state, transport.Ref));
        checker.Tell(new PairCheckerProtocol.AddLocalCandidate(Host("1", 43200)), ActorRefs.NoSender);
        checker.Tell(new PairCheckerProtocol.SetRemoteDescription(new IceDescription(IceCredentials.Generate(), [Host("2", 43201)])), ActorRefs.NoSender);
        FirstCheck(transport);
        var renewed = IceCredentials.Generate();
        checker.Tell(new PairCheckerProtocol.SetRemoteDescription(new IceDescription(renewed, [Host("2", 43201)]) { EndOfCandidates = true }), ActorRefs.NoSender);

        var restarted = parent.FishForMessage<PairCheckerProtocol.Restarted>(_ => true, Wait);
        var check = transport.FishForMessage<Transmit>(t => UsernameOf(t).StartsWith(renewed.Ufrag + ":", StringComparison.Ordinal), Wait);
        Assert.Equal($"{renewed.Ufrag}:{restarted.Credentials.Ufrag}", UsernameOf(check));
        Assert.Equal((renewed, true), (state.Remote, state.RemoteGatheringDone));
    }

    private static string UsernameOf(Transmit t)
    {
        Assert.True(StunMessage.TryParse(t.Payload.Span, out var msg, out _));
        Assert.True(msg.TryGetString(StunAttributeType.Username, out var username));
        return username;
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
