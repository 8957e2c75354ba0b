using Akka.Actor;
using P2P.Actors.Dispatch;
using Akka.Event;
using P2P.Protocol.Ice;

namespace P2P.Actors.Ice;

public static class IceAgentProtocol
{
    // from the Session
    public sealed record AddLocalCandidates(IReadOnlyList<IceCandidate> Candidates);

    /// <summary>The TURN server dropped the allocation behind the relayed candidate <paramref name="Old"/>; <paramref name="New"/> takes its place.</summary>
    public sealed record ReplaceLocalCandidate(IceCandidate Old, IceCandidate New);

    /// <summary>The allocation behind the relayed candidate <paramref name="Candidate"/> is lost and not replaced: it leaves the agent, and its pairs fail.</summary>
    public sealed record RemoveLocalCandidate(IceCandidate Candidate);

    public sealed record LocalGatheringComplete;

    public sealed record SetRemoteDescription(IceDescription Description);

    public sealed record AddRemoteCandidate(IceCandidate Candidate);

    public sealed record RemoteGatheringComplete;

    /// <summary>
    /// Restart ICE (RFC 8445 §9), as after consent was lost: answered with <see cref="PairCheckerProtocol.Restarted"/>
    /// (and <see cref="PairCheckerProtocol.LocalCandidatesComplete"/> when gathering was over). A remote description with
    /// new credentials restarts the agent the same way, with the same events.
    /// </summary>
    public sealed record Restart
    {
        public static readonly Restart Instance = new();
    }

    // to the Session (and PairCheckerProtocol's Restarted, LocalCandidatesComplete and ConsentConfirmed, as they come)
    public sealed record Connected(SelectedPair Pair);

    /// <summary>
    /// Before any pair is selected, a pair became valid (and better than any reported before): RFC 8445 §8.1.1 lets
    /// data go on any valid pair without nomination, so the session may start using it; <see cref="Connected"/> follows.
    /// </summary>
    public sealed record PairValid(SelectedPair Pair);

    public sealed record Failed(string Reason);
}

/// <summary>
/// The ICE agent of one session (RFC 8445), for the session's whole life: supervises its <see cref="PairChecker"/>
/// ("checks"), hands it the local candidates (gathered by the LocalPeer, which owns the socket, STUN probes and TURN
/// allocation shared by all its sessions) and the remote description and candidates (trickled, RFC 8838), and turns the
/// checker's outcome into <see cref="IceAgentProtocol.Connected"/> or <see cref="IceAgentProtocol.Failed"/> with a
/// reason a user can read, within the connect timeout of each ICE generation. The agent's data lives in one
/// <see cref="IceAgentState"/>, which the checker owns: a checker that throws is restarted and rebuilds from it, and an
/// ICE restart (RFC 8445 §9, asked for by <see cref="IceAgentProtocol.Restart"/> or by the remote's new credentials)
/// is a new generation of it, which the checker builds its list from again. The session keeps no copy of any of it.
/// </summary>
public sealed class IceAgent : UntypedActor, IWithTimers
{
    private sealed record ConnectTimeout
    {
        public static readonly ConnectTimeout Instance = new();
    }

    private readonly IceSettings _settings;
    private readonly string _sessionId;
    private readonly IActorRef _checks;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _connected, _failed;
    private DateTimeOffset _startedAt;
    private DateTimeOffset? _waitingSince; // the checker waits for a place to check (CheckAdmission): the connect timeout is paused

    public IceAgent(IceSettings settings, string sessionId, IceCredentials local, bool controlling, ulong tieBreaker, uint sessionTag, IActorRef transport)
    {
        _settings = settings;
        _sessionId = sessionId;
        var state = new IceAgentState(local, controlling, tieBreaker, sessionTag, settings.MaxPairs);
        _checks = Context.ActorOf(SessionMailbox.For(PairChecker.Props(settings, sessionId, state, transport), Context.System), CheckerName);
    }

    // One OnReceive instead of a Receive<T> per message type: thousands of sessions each have an agent, and
    // ReceiveActor keeps a delegate and matcher objects per handler per instance.
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case IceAgentProtocol.AddLocalCandidates m:
                foreach (var c in m.Candidates) _checks.Tell(new PairCheckerProtocol.AddLocalCandidate(c));
                break;
            case IceAgentProtocol.ReplaceLocalCandidate m:
                _checks.Tell(new PairCheckerProtocol.AddLocalCandidate(m.New, Replaces: m.Old));
                break;
            case IceAgentProtocol.RemoveLocalCandidate m:
                _checks.Tell(new PairCheckerProtocol.RemoveLocalCandidate(m.Candidate));
                break;
            case IceAgentProtocol.LocalGatheringComplete:
                _checks.Tell(new PairCheckerProtocol.GatheringComplete(Local: true));
                break;
            case IceAgentProtocol.SetRemoteDescription m:
                _checks.Tell(new PairCheckerProtocol.SetRemoteDescription(m.Description));
                break;
            case IceAgentProtocol.AddRemoteCandidate m:
                _checks.Tell(new PairCheckerProtocol.AddRemoteCandidate(m.Candidate));
                break;
            case IceAgentProtocol.RemoteGatheringComplete:
                _checks.Tell(new PairCheckerProtocol.GatheringComplete(Local: false));
                break;
            case IceAgentProtocol.Restart:
                _checks.Tell(PairCheckerProtocol.Restart.Instance);
                break;
            case PairCheckerProtocol.Restarted m:
                // a new generation: its own connect timeout, as the first had
                (_connected, _failed, _waitingSince) = (false, false, null);
                StartConnectTimeout();
                Context.Parent.Tell(m);
                break;
            case PairCheckerProtocol.LocalCandidatesComplete m:
                Context.Parent.Tell(m);
                break;
            case Supervision.InjectFault { Target: Supervision.FaultTarget.PairChecker } m:
                _checks.Forward(m);
                break;
            case Supervision.InjectFault m:
                throw new Supervision.InjectedFaultException(m.Reason);
            case PairCheckerProtocol.PairSelected m:
                Timers.Cancel(ConnectTimeout.Instance);
                _connected = true;
                Context.Parent.Tell(new IceAgentProtocol.Connected(m.Pair));
                break;
            case PairCheckerProtocol.PairValid m:
                if (!_connected) Context.Parent.Tell(new IceAgentProtocol.PairValid(m.Pair));
                break;
            case PairCheckerProtocol.ChecksFailed m:
                // every pair ran out of check retransmissions (~20 s, RFC 8445 §14.3) before the connect timeout: say
                // so, or a user who asked for a longer timeout wonders why it was not waited out
                var after = Context.System.Scheduler.Now - _startedAt;
                Fail(after < _settings.ConnectTimeout
                    ? $"{m.Reason} after {after.TotalSeconds:0} s, before the {_settings.ConnectTimeout.TotalSeconds:0} s connect timeout (no pair was left to check, so waiting longer would not help)"
                    : m.Reason);
                break;
            case PairCheckerProtocol.RoleChanged m:
                _log.Info("[{0}] now {1}", _sessionId, m.Controlling ? "controlling" : "controlled");
                break;
            case PairCheckerProtocol.ConsentConfirmed m:
                Context.Parent.Tell(m);
                break;
            case CheckAdmissionProtocol.Waiting:
                if (_connected || _failed || _waitingSince is not null) break;
                _waitingSince = Context.System.Scheduler.Now;
                Timers.Cancel(ConnectTimeout.Instance);
                break;
            case CheckAdmissionProtocol.Began:
                if (_waitingSince is not { } since || _connected || _failed) break;
                _waitingSince = null;
                var now = Context.System.Scheduler.Now;
                _startedAt += now - since; // "within 30 s" means 30 s of trying, not of waiting in the queue
                Timers.StartSingleTimer(ConnectTimeout.Instance, ConnectTimeout.Instance, _startedAt + _settings.ConnectTimeout - now);
                break;
            case ConnectTimeout:
                if (_connected) break;
                _checks.Tell(CheckAdmissionProtocol.GiveUp.Instance);
                Fail($"no candidate pair worked within {_settings.ConnectTimeout.TotalSeconds:0} s");
                break;
            // queries and consent checks go to the checker
            case PairCheckerProtocol.CheckConsent or PairCheckerProtocol.GetPairs or PairCheckerProtocol.UpgradeFromRelay
                or PairCheckerProtocol.GetStats or IceTransportProtocol.Inbound:
                _checks.Forward(message);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The name of the agent's pair checker.</summary>
    public const string CheckerName = "checks";

    public static Props Props(IceSettings settings, string sessionId, IceCredentials local, bool controlling, ulong tieBreaker, uint sessionTag, IActorRef transport) =>
        Akka.Actor.Props.Create(() => new IceAgent(settings, sessionId, local, controlling, tieBreaker, sessionTag, transport));

    /// <summary>A failing checker is restarted (a bounded number of times); it rebuilds from the agent's <see cref="IceAgentState"/>.</summary>
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: 10, withinTimeRange: TimeSpan.FromMinutes(1), localOnlyDecider: e =>
        {
            _log.Warning("[{0}] the pair checker failed ({1}); restarting it", _sessionId, e.Message);
            return Directive.Restart;
        });

    protected override void PreStart() => StartConnectTimeout();

    private void StartConnectTimeout()
    {
        _startedAt = Context.System.Scheduler.Now;
        Timers.StartSingleTimer(ConnectTimeout.Instance, ConnectTimeout.Instance, _settings.ConnectTimeout);
    }

    private void Fail(string reason)
    {
        if (_failed || _connected) return;
        _failed = true;
        Timers.Cancel(ConnectTimeout.Instance);
        Context.Parent.Tell(new IceAgentProtocol.Failed(reason));
    }
}
