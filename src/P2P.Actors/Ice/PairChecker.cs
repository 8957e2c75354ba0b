using System.Net;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Stun;
using P2P.Protocol.Ice;
using P2P.Protocol.Stun;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Ice;

public static class PairCheckerProtocol
{
    /// <param name="RemotePacing">The remote description's a=ice-pacing; null counts as the RFC's default 50 ms.</param>
    public sealed record SetRemoteCredentials(IceCredentials Remote, TimeSpan? RemotePacing = null);

    /// <param name="Replaces">The relayed candidate whose allocation the TURN server dropped, which this one takes the place of.</param>
    public sealed record AddLocalCandidate(IceCandidate Candidate, IceCandidate? Replaces = null);

    public sealed record AddRemoteCandidate(IceCandidate Candidate);

    /// <summary>A local candidate that can no longer send (its relay's allocation is lost): it leaves the agent's data, its pairs fail, their checks stop.</summary>
    public sealed record RemoveLocalCandidate(IceCandidate Candidate);

    /// <summary>No more local (<paramref name="Local"/> true) or remote candidates will come (RFC 8838 end-of-candidates).</summary>
    public sealed record GatheringComplete(bool Local);

    /// <summary>Send one consent check on the selected pair (RFC 7675 §5.1); answered by <see cref="ConsentConfirmed"/> when it succeeds.</summary>
    public sealed record CheckConsent;

    public sealed record GetPairs;

    /// <summary>
    /// The remote's description: its credentials and pacing, an ICE-lite remote makes this side controlling (RFC 8445
    /// §6.1.1), its candidates, its end-of-candidates. New credentials in place of known ones mean the remote restarted
    /// ICE (RFC 8445 §9): this side restarts too, before taking them.
    /// </summary>
    public sealed record SetRemoteDescription(IceDescription Description);

    /// <summary>Restart ICE (RFC 8445 §9): new local credentials, the same local candidates, checked again once the remote's new credentials come.</summary>
    public sealed record Restart
    {
        public static readonly Restart Instance = new();
    }

    // events to the parent
    public sealed record PairSelected(SelectedPair Pair);

    /// <summary>A pair became valid before any was selected, better than any reported before (RFC 8445 §8.1.1: data may go on it).</summary>
    public sealed record PairValid(SelectedPair Pair);

    public sealed record ChecksFailed(string Reason);

    public sealed record RoleChanged(bool Controlling);

    /// <summary>ICE restarted (RFC 8445 §9) with new local credentials: the remote must get them, and the local candidates again (RFC 8838).</summary>
    public sealed record Restarted(IceCredentials Credentials, IReadOnlyList<IceCandidate> Candidates);

    /// <summary>Local gathering is over (again after a restart): the whole local description's ICE part.</summary>
    public sealed record LocalCandidatesComplete(IceCredentials Credentials, IReadOnlyList<IceCandidate> Candidates);

    public sealed record ConsentConfirmed(TimeSpan RoundTrip);

    public sealed record PairTable(IReadOnlyList<PairInfo> Pairs);

    /// <summary>Counters of what was refused: packets that were not valid checks for this agent.</summary>
    public sealed record Stats(long ChecksSent, long RequestsAnswered, long BadRequests, long BadResponses, long RoleConflicts);

    public sealed record GetStats;

    /// <summary>Port prediction runs: a direct pair that becomes valid after a relayed one was selected is checked and nominated over it (<see cref="IceAgentState.UpgradeFromRelay"/>).</summary>
    public sealed record UpgradeFromRelay
    {
        public static readonly UpgradeFromRelay Instance = new();
    }
}

/// <summary>
/// Connectivity checks of one ICE session (RFC 8445 §6.1.4, §7): keeps the check list, sends ordinary checks
/// paced by Ta and triggered checks first, answers the remote agent's checks (learning peer-reflexive
/// candidates, §7.3.1.3), resolves role conflicts with 487 (§7.3.1.1), and nominates — regular (§8.1.1)
/// or aggressive — or, when controlled, follows the remote's USE-CANDIDATE. The chosen pair goes to the
/// parent as <see cref="PairCheckerProtocol.PairSelected"/>; when every pair failed and both sides have
/// finished gathering, <see cref="PairCheckerProtocol.ChecksFailed"/> says so. After selection it keeps
/// answering checks and runs consent checks on request (RFC 7675).
/// </summary>
public sealed class PairChecker : ReceiveActor, IWithTimers
{
    private sealed record Check(CandidatePair Pair, bool UseCandidate, bool Consent, DateTimeOffset SentAt, bool Controlling);

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record NominationDue
    {
        public static readonly NominationDue Instance = new();
    }

    private readonly IceSettings _settings;
    private readonly IceAgentState _state;
    private readonly IActorRef _transport;
    private readonly string _sessionId;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // where requests and answers are written before they are copied out: one per thread, not one per session (a host
    // holds thousands of checkers; every use is synchronous within one message)
    [ThreadStatic] private static byte[]? t_scratch;
    private static byte[] Scratch => t_scratch ??= new byte[512];
    private StunTransactions<Check> _transactions = null!;
    private PacingWakeUp? _wakeUp;
    private long _checksSent, _requestsAnswered, _badRequests, _badResponses, _roleConflicts;

    // one ICE generation: built from the state when the checker starts, and again by an ICE restart (StartGeneration)
    private StunIntegrityKey _localKey = null!;
    private readonly LinkedList<(CandidatePair Pair, bool UseCandidate)> _triggered = new();
    private readonly HashSet<CandidatePair> _nominateOnSuccess = [];
    private readonly Dictionary<CandidatePair, TimeSpan> _roundTrips = [];
    private readonly Dictionary<CandidatePair, DateTimeOffset> _firstCheckAt = []; // when each pair's first ordinary check went out
    private StunIntegrityKey? _remoteKey;
    private bool _ticking, _nominating, _failed;
    private TimeSpan _ta = IceSettings.DefaultPacing;
    private DateTimeOffset _lastCheckAt = DateTimeOffset.MinValue;
    private CandidatePair? _selected;
    private CandidatePair? _reportedValid;
    private DateTimeOffset? _firstValidAt; // when the controlling agent first had a valid pair: nomination-wait counts from here
    private int _nominationFailures;
    private bool _mayCheck, _askedToBegin, _askedAtOnce, _remoteIsChecking; // see CheckAdmission
    private const int MaxNominationFailures = 3;

    /// <param name="state">The agent's data, which this checker owns and keeps up to date; a restarted checker rebuilds from it.</param>
    public PairChecker(IceSettings settings, string sessionId, IceAgentState state, IActorRef transport)
    {
        _settings = settings;
        _sessionId = sessionId;
        _state = state;
        _transport = transport;

        Receive<PairCheckerProtocol.SetRemoteCredentials>(m => OnRemoteCredentials(m.Remote, m.RemotePacing));
        Receive<PairCheckerProtocol.SetRemoteDescription>(m => OnRemoteDescription(m.Description));
        Receive<PairCheckerProtocol.Restart>(_ => RestartIce());
        Receive<PairCheckerProtocol.AddLocalCandidate>(m =>
        {
            AddPairs(m.Replaces is { } old ? _state.ReplaceLocal(old, m.Candidate) : _state.AddLocal(m.Candidate));
        });
        Receive<PairCheckerProtocol.AddRemoteCandidate>(m => AddRemote(m.Candidate));
        Receive<PairCheckerProtocol.RemoveLocalCandidate>(m => RemoveLocal(m.Candidate));
        Receive<PairCheckerProtocol.UpgradeFromRelay>(_ => _state.UpgradeFromRelay = true);
        Receive<PairCheckerProtocol.GatheringComplete>(m =>
        {
            if (m.Local) LocalGatheringDone();
            else RemoteGatheringDone();
        });
        Receive<Inbound>(OnInbound);
        Receive<CheckAdmissionProtocol.MayBegin>(_ =>
        {
            if (_mayCheck) return;
            _mayCheck = true;
            Context.Parent.Tell(CheckAdmissionProtocol.Began.Instance);
            EnsureTicking();
        });
        Receive<CheckAdmissionProtocol.GiveUp>(_ =>
        {
            if (_selected is not null) return;
            _failed = true;
            _transactions.Cancel(c => !c.Consent);
            EndChecking();
        });
        Receive<Tick>(_ => OnTick());
        Receive<StunTransactionTimer>(OnTransactionTimer);
        Receive<NominationDue>(_ => ConsiderNomination());
        Receive<PairCheckerProtocol.CheckConsent>(_ =>
        {
            if (_selected is not null && _state.Remote is not null) SendCheck(_selected, useCandidate: false, consent: true);
        });
        Receive<Supervision.InjectFault>(m => throw new Supervision.InjectedFaultException(m.Reason));
        Receive<PairCheckerProtocol.GetPairs>(_ => Sender.Tell(new PairCheckerProtocol.PairTable(
            _state.CheckList.Pairs.Select(p => new PairInfo(p.Local, p.Remote, p.Priority, p.State, p.Valid, p.Nominated, ReferenceEquals(p, _selected))).ToList())));
        Receive<PairCheckerProtocol.GetStats>(_ => Sender.Tell(new PairCheckerProtocol.Stats(_checksSent, _requestsAnswered, _badRequests, _badResponses, _roleConflicts)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IceSettings settings, string sessionId, IceAgentState state, IActorRef transport) =>
        Akka.Actor.Props.Create(() => new PairChecker(settings, sessionId, state, transport));

    /// <summary>A checker of its own state (tests, and whoever has no agent around it).</summary>
    public static Props Props(IceSettings settings, string sessionId, IceCredentials local, bool controlling, ulong tieBreaker, uint sessionTag, IActorRef transport) =>
        Props(settings, sessionId, new IceAgentState(local, controlling, tieBreaker, sessionTag, settings.MaxPairs), transport);

    protected override void PreStart()
    {
        _transactions = new StunTransactions<Check>(_settings.CheckRetransmission, reliable: false, Timers,
            (bytes, check) => _transport.Tell(new Transmit(check.Pair.Local, check.Pair.Remote.Address, bytes), Self));
        _wakeUp = PacingWakeUp.For(Context.System, Self, Tick.Instance);
        StartGeneration();
    }

    /// <summary>
    /// Goes on from the agent's data (<see cref="IceAgentState"/>): when the checker starts (a new agent's state is
    /// empty), when it was restarted after a fault, and after an ICE restart (a new generation of the state). The checks
    /// in progress died with the checker that sent them, so their pairs are checked again, but for valid ones (a
    /// nomination was under way), which stay valid; the pair that was selected stays selected, and consent and data go
    /// on on it; the best valid pair not yet nominated is nominated again.
    /// </summary>
    private void StartGeneration()
    {
        if (_settings.Lite) _state.Controlling = false; // a lite agent is always controlled (RFC 8445 §6.1.1)
        _localKey = new StunIntegrityKey(Encoding.UTF8.GetBytes(_state.Local.Pwd));
        _mayCheck = _settings.MaxCheckingSessions <= 0;
        foreach (var pair in _state.CheckList.Pairs)
            if (pair.State == CandidatePairState.InProgress) pair.State = pair.Valid ? CandidatePairState.Succeeded : CandidatePairState.Waiting;
        if (_state.Selected is { } selected) RestoreSelected(selected);
        if (_state.Remote is null) return;
        UseRemoteCredentials();
        ConsiderNomination();
    }

    protected override void PostStop()
    {
        _wakeUp?.Dispose();
        _localKey.Dispose();
        _remoteKey?.Dispose();
    }

    // ---- ICE restart ------------------------------------------------------------------------------

    /// <summary>
    /// RFC 8445 §9: new local credentials, and a new generation of the agent's data on the same local candidates
    /// (<see cref="IceAgentState.Restart"/>); what this checker built of the last one goes (its checks in progress, its
    /// pairs, its place to check), and it starts again from the state as a restarted checker does. The parent hears the
    /// new credentials and candidates to signal, and the local description again when gathering was over.
    /// </summary>
    private void RestartIce()
    {
        var credentials = IceCredentials.Generate();
        EndChecking();
        _transactions.CancelAll();
        Timers.Cancel(Tick.Instance);
        Timers.Cancel(NominationDue.Instance);
        _localKey.Dispose();
        _remoteKey?.Dispose();
        _remoteKey = null;
        _triggered.Clear();
        _nominateOnSuccess.Clear();
        _roundTrips.Clear();
        _firstCheckAt.Clear();
        (_ticking, _nominating, _failed) = (false, false, false);
        (_askedToBegin, _askedAtOnce, _remoteIsChecking) = (false, false, false);
        _ta = IceSettings.DefaultPacing;
        _lastCheckAt = DateTimeOffset.MinValue;
        (_selected, _reportedValid, _firstValidAt) = (null, null, null);
        _nominationFailures = 0;

        _state.Restart(credentials);
        StartGeneration();
        _log.Info("[{0}] ICE restarted (generation {1}), new ufrag {2}", _sessionId, _state.Generation, credentials.Ufrag);
        Context.Parent.Tell(new PairCheckerProtocol.Restarted(credentials, _state.LocalCandidates.ToList()));
        if (_state.LocalGatheringDone) Context.Parent.Tell(new PairCheckerProtocol.LocalCandidatesComplete(credentials, _state.LocalCandidates.ToList()));
    }

    // ---- candidates and pairs ---------------------------------------------------------------------

    private void OnRemoteDescription(IceDescription description)
    {
        switch (_state.Classify(description.Credentials))
        {
            case RemoteCredentials.Stale:
                _log.Debug("[{0}] ignored a remote description of the ICE generation before the restart", _sessionId);
                return;
            case RemoteCredentials.Restarted:
                _log.Info("[{0}] the remote restarted ICE; restarting too", _sessionId);
                RestartIce();
                break;
        }
        if (description.IceLite && !_state.Controlling && !_settings.Lite) SwitchRole();
        OnRemoteCredentials(description.Credentials, description.Pacing);
        foreach (var candidate in description.Candidates) AddRemote(candidate);
        if (description.EndOfCandidates) RemoteGatheringDone();
    }

    private void OnRemoteCredentials(IceCredentials remote, TimeSpan? pacing)
    {
        if (!_state.SetRemote(remote, pacing)) return; // the same ICE session: nothing new
        UseRemoteCredentials();
    }

    private void AddRemote(IceCandidate candidate) => AddPairs(_state.AddRemote(candidate)); // no pairs until the credentials come

    /// <summary>
    /// The candidate's pairs failed at once (<see cref="IceAgentState.RemoveLocal"/>): their checks in progress and queued
    /// stop, and the checks go on with the other pairs, Frozen ones of the same foundations included (RFC 8445 §6.1.4.2).
    /// The selected pair is left to consent (RFC 7675), whose loss restarts ICE.
    /// </summary>
    private void RemoveLocal(IceCandidate lost)
    {
        var failed = _state.RemoveLocal(lost);
        if (failed.Count == 0) return;
        _log.Info("[{0}] local candidate {1} is gone (its relay's allocation is lost): {2} of its pairs failed", _sessionId, lost.Address, failed.Count);
        var gone = new HashSet<CandidatePair>(failed, ReferenceEqualityComparer.Instance);
        bool nominationStopped = false; // a nomination of one of them: another pair is nominated instead
        for (var node = _triggered.First; node is not null;)
        {
            var next = node.Next;
            if (gone.Contains(node.Value.Pair))
            {
                nominationStopped |= node.Value.UseCandidate;
                _triggered.Remove(node);
            }
            node = next;
        }
        _transactions.Cancel(c =>
        {
            if (c.Consent || !gone.Contains(c.Pair)) return false;
            nominationStopped |= c.UseCandidate;
            return true;
        });
        if (nominationStopped) _nominating = false;
        foreach (var pair in failed) _nominateOnSuccess.Remove(pair);
        ConsiderNomination();
        CheckForFailure();
        EnsureTicking();
    }

    private void LocalGatheringDone()
    {
        _state.LocalGatheringDone = true;
        Context.Parent.Tell(new PairCheckerProtocol.LocalCandidatesComplete(_state.Local, _state.LocalCandidates.ToList()));
        CheckForFailure();
    }

    private void RemoteGatheringDone()
    {
        _state.RemoteGatheringDone = true;
        CheckForFailure();
    }

    /// <summary>The remote's credentials are known (and the pairs of the remote candidates that came before them formed): its key, the pacing, the checks.</summary>
    private void UseRemoteCredentials()
    {
        var remote = _state.Remote!;
        // RFC 8445 §14.2: both agents pace at the larger of the two proposals (ours is the configured Ta)
        var pacing = _state.RemotePacing ?? IceSettings.DefaultPacing;
        _ta = _settings.Ta > pacing ? _settings.Ta : pacing;
        _remoteKey = new StunIntegrityKey(Encoding.UTF8.GetBytes(remote.Pwd));
        EnsureTicking();
        CheckForFailure(); // both sides may have finished gathering already (and no pair could be formed)
    }

    private void AddPairs(IReadOnlyList<CandidatePair> added)
    {
        if (added.Count > 0) EnsureTicking();
    }

    // ---- sending checks ----------------------------------------------------------------------------

    /// <summary>
    /// Starts pacing checks. Pacing is a minimum spacing of Ta between two checks (RFC 8445 §14.2), not a grid: a
    /// check that is due when the last one went out at least Ta ago goes now, not at the scheduler's next tick
    /// (whose resolution, 10 ms by default, would otherwise add to every step of the handshake).
    /// </summary>
    private void EnsureTicking()
    {
        if (_state.Remote is null || _failed || _settings.Lite) return; // a lite agent sends no checks (RFC 8445 §2.5)
        if (!_mayCheck)
        {
            AskToBegin();
            return;
        }
        if (_ticking)
        {
            // e.g. a nomination: no need to wait for the tick
            if (_triggered.Count > 0 && PacingAllows()) OnTick();
            else WakeUpForTriggered();
            return;
        }
        _ticking = true;
        if (PacingAllows()) OnTick();
        if (!_ticking) return;
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, _ta);
        WakeUpForTriggered();
    }

    /// <summary>The peer's sessions check a bounded number at a time (<see cref="CheckAdmission{T}"/>): ask for a place, once, and again when the remote's checks arrive meanwhile.</summary>
    private void AskToBegin()
    {
        if (_askedToBegin && (_askedAtOnce || !_remoteIsChecking)) return;
        if (!_askedToBegin) Context.Parent.Tell(CheckAdmissionProtocol.Waiting.Instance);
        _askedToBegin = true;
        _askedAtOnce = _remoteIsChecking;
        _transport.Tell(new CheckAdmissionProtocol.Begin(_remoteIsChecking), Self);
    }

    /// <summary>Selected or failed: the place goes to the next session; what this checker still sends (consent, a late nomination) needs none.</summary>
    private void EndChecking()
    {
        if (_askedToBegin) _transport.Tell(CheckAdmissionProtocol.Ended.Instance, Self);
        _askedToBegin = false;
        _mayCheck = true;
    }

    private bool PacingAllows() => Context.System.Scheduler.Now - _lastCheckAt >= _ta;

    /// <summary>
    /// A triggered check waiting for pacing goes once Ta has passed since the last check, not at the scheduler's next
    /// tick after that (10-20 ms later: see <see cref="PacingWakeUp"/>). Ordinary checks keep the scheduler's pace.
    /// </summary>
    private void WakeUpForTriggered()
    {
        if (_triggered.Count > 0) _wakeUp?.After(_lastCheckAt + _ta - Context.System.Scheduler.Now);
    }

    private void OnTick()
    {
        if (_state.Remote is null) return;
        if (_failed) _triggered.Clear(); // given up (GiveUp): no more checks
        if (!PacingAllows())
        {
            WakeUpForTriggered();
            return;
        }
        if (_triggered.First is { } first)
        {
            _triggered.RemoveFirst();
            SendCheck(first.Value.Pair, first.Value.UseCandidate, consent: false);
            WakeUpForTriggered();
            return;
        }
        // RFC 8445 §8.1.2: with regular nomination ICE is complete once a pair is selected: no more ordinary checks.
        // Aggressive nomination keeps checking for a better pair.
        bool passiveFailed = false;
        while (!ChecksStopped && !_failed && _state.CheckList.NextForOrdinaryCheck() is { } pair)
        {
            if (pair.Local.TcpType == TcpCandidateType.Passive)
            {
                passiveFailed = true;
                // RFC 6544 §7.1: a passive candidate opens no connection, so it sends no ordinary check; the remote's
                // active side connects and checks, which pairs this one with the connection's real source (§7.2)
                pair.State = CandidatePairState.Failed;
                continue;
            }
            SendCheck(pair, useCandidate: false, consent: false);
            return;
        }
        _ticking = false;
        Timers.Cancel(Tick.Instance);
        if (passiveFailed) CheckForFailure();
    }

    private void SendCheck(CandidatePair pair, bool useCandidate, bool consent)
    {
        if (!consent)
        {
            pair.State = CandidatePairState.InProgress;
            _lastCheckAt = Context.System.Scheduler.Now;
            _firstCheckAt.TryAdd(pair, _lastCheckAt);
        }
        bool nominate = useCandidate || (_state.Controlling && _settings.Nomination == NominationMode.Aggressive && !consent);
        var id = NewTransactionId();
        int localPreference = CandidatePriority.LocalPreferenceOf(pair.Local.Priority);
        uint priority = CandidatePriority.Compute(CandidateType.PeerReflexive, localPreference, pair.Local.Component, pair.Local.Transport);
        int length = IceMessages.WriteBindingRequest(Scratch, id, $"{_state.Remote!.Ufrag}:{_state.Local.Ufrag}", priority,
            _state.Controlling, _state.TieBreaker, nominate && _state.Controlling, _remoteKey!);
        // over a TCP pair the request is sent once and its transaction times out instead (RFC 8489 §6.2.2, RFC 6544 §7.1)
        _transactions.Start(Scratch.AsSpan(0, length).ToArray(), new Check(pair, nominate && _state.Controlling, consent, Context.System.Scheduler.Now, _state.Controlling),
            reliable: pair.Local.Transport == CandidateTransport.Tcp);
        _checksSent++;
    }

    /// <summary>Transaction ids start with this session's tag, so the LocalPeer can route responses on a shared socket.</summary>
    private TransactionId NewTransactionId()
    {
        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        ulong high = ((ulong)_state.SessionTag << 32) | BitConverter.ToUInt32(random);
        return new TransactionId(high, BitConverter.ToUInt32(random[4..]));
    }

    private void OnTransactionTimer(StunTransactionTimer timer)
    {
        if (_transactions.OnTimer(timer, out var check, out _) != StunTransactionTimerResult.TimedOut) return;
        if (check.Consent) return; // the Connection notices missing confirmations
        _log.Debug("[{0}] check {1} -> {2} timed out", _sessionId, check.Pair.Local.Address, check.Pair.Remote.Address);
        CheckFailed(check);
        CheckForFailure();
    }

    /// <summary>
    /// A check got no answer or an error. A pair that was not valid has failed. A nomination that failed means the
    /// valid pair stopped working: it is no longer valid, and another one is nominated (RFC 8445 §8.1.1).
    /// </summary>
    private void CheckFailed(Check check)
    {
        if (check.UseCandidate)
        {
            // on a lossy path a whole transaction can fail now and then: nominate the pair again a few times
            // before giving up on it
            _nominating = false;
            if (++_nominationFailures > MaxNominationFailures)
            {
                check.Pair.Valid = false;
                check.Pair.State = CandidatePairState.Failed;
            }
            ConsiderNomination();
        }
        else if (!check.Pair.Valid)
        {
            check.Pair.State = CandidatePairState.Failed;
            ConsiderNomination(); // it may have been the better pair the nomination waited for
        }
        // the checks may have stopped with only Frozen pairs left behind this one's foundation: one of them is due now (RFC 8445 §6.1.4.2)
        EnsureTicking();
    }

    // ---- receiving ---------------------------------------------------------------------------------

    private void OnInbound(Inbound inbound)
    {
        if (!StunMessage.TryParse(inbound.Payload.Span, out var msg, out var error) || msg.Method != StunMethod.Binding)
        {
            _badRequests++;
            _log.Debug("[{0}] dropped a packet from {1}: {2}", _sessionId, inbound.From, error == StunError.None ? "not a Binding message" : error.ToString());
            return;
        }
        switch (msg.Class)
        {
            case StunClass.Request: OnRequest(inbound, msg); break;
            case StunClass.SuccessResponse:
            case StunClass.ErrorResponse: OnResponse(inbound, msg); break;
            default: break; // Binding indications are keepalives (RFC 8445 §11): nothing to do
        }
    }

    private void OnRequest(Inbound inbound, in StunMessage msg)
    {
        if (!msg.TryGetString(StunAttributeType.Username, out var username)
            || !IceMessages.TryGetUsernameFragments(username, out var target, out _)
            || target != _state.Local.Ufrag
            || msg.VerifyIntegrity(_localKey) != StunError.None)
        {
            _badRequests++;
            Reply(inbound, IceMessages.WriteBindingError(Scratch, msg.TransactionId, 401, "Unauthorized", null));
            return;
        }
        if (!IceMessages.TryReadCheck(msg, out var check))
        {
            _badRequests++;
            Reply(inbound, IceMessages.WriteBindingError(Scratch, msg.TransactionId, 400, "Bad Request", _localKey));
            return;
        }

        // RFC 8445 §7.3.1.1: role conflict
        if (check.Controlling is bool remoteControlling && remoteControlling == _state.Controlling)
        {
            _roleConflicts++;
            bool weWin = _state.TieBreaker >= check.TieBreaker;
            if (_state.Controlling == weWin)
            {
                Reply(inbound, IceMessages.WriteBindingError(Scratch, msg.TransactionId, 487, "Role Conflict", _localKey));
                return;
            }
            SwitchRole();
        }

        Reply(inbound, IceMessages.WriteBindingSuccess(Scratch, msg.TransactionId, inbound.From, _localKey));
        _requestsAnswered++;

        // RFC 8445 §7.3.1.3 and §7.3.1.4: learn a peer-reflexive remote, then a triggered check
        var pair = _state.CheckList.Find(inbound.Local.Address, inbound.From, inbound.Local.Transport)
                   ?? _state.CheckList.AddPeerReflexiveRemote(inbound.Local.Address, inbound.From, check.Priority, out _, inbound.Local.Transport);
        if (pair is null) return;
        _remoteIsChecking = true;
        EnsureTicking();
        if (_settings.Lite)
        {
            // RFC 8445 §7.3.1.5: a lite agent takes the nominated pair as it is
            if (check.UseCandidate)
            {
                pair.State = CandidatePairState.Succeeded;
                pair.Valid = true;
                Nominated(pair);
            }
            return;
        }
        if (check.UseCandidate && !_state.Controlling)
        {
            if (pair.Valid) Nominated(pair);
            else _nominateOnSuccess.Add(pair);
        }
        // RFC 8445 §8.3: once a pair is selected no more checks go to other pairs; their checks are still answered
        // (§7.3.1), and a nomination the controlled agent must confirm with a check of its own is still followed
        if (ChecksStopped && !(check.UseCandidate && !_state.Controlling) && !MayUpgrade(pair)) return;
        if (pair.State == CandidatePairState.Succeeded) return;
        // RFC 8445 §7.3.1.4: also for a pair in progress (its first check may have been dropped by the remote
        // NAT before this check opened it): check again now rather than after the retransmission backoff
        if (pair.State != CandidatePairState.InProgress) pair.State = CandidatePairState.Waiting;
        Trigger(pair, useCandidate: false);
    }

    private void OnResponse(Inbound inbound, in StunMessage msg)
    {
        if (!_transactions.TryPeek(msg.TransactionId, out var check))
        {
            if (!ChecksStopped) _badResponses++; // else most likely the late answer to a check stopped at selection
            return;
        }
        if (_remoteKey is null || msg.VerifyIntegrity(_remoteKey) != StunError.None)
        {
            _badResponses++;
            _log.Debug("[{0}] response from {1} failed integrity", _sessionId, inbound.From);
            return;
        }
        _transactions.TryComplete(msg.TransactionId, out _);
        var pair = check.Pair;
        var roundTrip = Context.System.Scheduler.Now - check.SentAt;

        if (msg.Class == StunClass.ErrorResponse)
        {
            msg.TryGetErrorCode(out int code, out string reason);
            if (code == 487 && !check.Consent)
            {
                // RFC 8445 §7.2.5.1: take the role opposite to the one the check carried, unless already done
                // (several checks in flight bring several 487s), then try the pair again
                if (check.Controlling == _state.Controlling) SwitchRole();
                if (check.UseCandidate) _nominating = false;
                Trigger(pair, useCandidate: false);
                return;
            }
            _log.Debug("[{0}] check {1} -> {2} got {3} {4}", _sessionId, pair.Local.Address, pair.Remote.Address, code, reason);
            if (!check.Consent) CheckFailed(check);
            CheckForFailure();
            return;
        }

        // RFC 8445 §7.2.5.2.1: the response must come from where the check went, to where it came from
        if (!IceGrammar.SameEndPoint(inbound.From, pair.Remote.Address) || !IceGrammar.SameEndPoint(inbound.Local.Address, pair.Local.Address))
        {
            if (!check.Consent) pair.State = CandidatePairState.Failed;
            CheckForFailure();
            return;
        }
        if (check.Consent)
        {
            Context.Parent.Tell(new PairCheckerProtocol.ConsentConfirmed(roundTrip));
            return;
        }

        pair.State = CandidatePairState.Succeeded;
        bool firstTime = !pair.Valid;
        pair.Valid = true;
        _roundTrips[pair] = roundTrip;
        _state.CheckList.OnSucceeded(pair);
        EnsureTicking();
        if (check.UseCandidate || _nominateOnSuccess.Remove(pair))
        {
            Nominated(pair);
            return;
        }
        if (firstTime && _selected is null && (_reportedValid is null || pair.Priority > _reportedValid.Priority))
        {
            // RFC 8445 §8.1.1 (note): data can be sent on any valid pair, without nomination; the session may begin
            // (its DTLS handshake) while the nomination, paced by Ta, is on its way
            _reportedValid = pair;
            Context.Parent.Tell(new PairCheckerProtocol.PairValid(new SelectedPair(pair.Local, pair.Remote, pair.Priority, roundTrip)));
        }
        if (firstTime && _state.Controlling && _selected is null) ConsiderNomination();
        else if (firstTime && _state.Controlling && MayUpgrade(pair)) Trigger(pair, useCandidate: true);
    }

    /// <summary>With port prediction (<see cref="IceAgentState.UpgradeFromRelay"/>): a direct UDP pair better than a relayed selection is still checked and nominated.</summary>
    private bool MayUpgrade(CandidatePair pair) =>
        _state.UpgradeFromRelay && _selected is { } selected && IsRelayed(selected) && !IsRelayed(pair)
        && pair.Local.Transport == CandidateTransport.Udp && pair.Priority > selected.Priority;

    private void Reply(Inbound inbound, int length) =>
        _transport.Tell(new Transmit(inbound.Local, inbound.From, Scratch.AsSpan(0, length).ToArray()), Self);

    private void Trigger(CandidatePair pair, bool useCandidate)
    {
        if (useCandidate) _triggered.AddFirst((pair, true));
        else if (!_triggered.Any(t => ReferenceEquals(t.Pair, pair))) _triggered.AddLast((pair, false));
        EnsureTicking();
    }

    private void SwitchRole()
    {
        _state.Controlling = !_state.Controlling; // the check list's pairs take their new priorities
        _log.Info("[{0}] role now {1}", _sessionId, _state.Controlling ? "controlling" : "controlled");
        Context.Parent.Tell(new PairCheckerProtocol.RoleChanged(_state.Controlling));
        if (_state.Controlling && _selected is null) ConsiderNomination();
    }

    // ---- nomination and selection ------------------------------------------------------------------

    /// <summary>
    /// Regular nomination (RFC 8445 §8.1.1): the controlling agent nominates the best valid pair as soon as no better
    /// pair can still be expected to succeed, and at the latest nomination-wait after it first had a valid pair.
    /// Called again whenever that may have changed (a pair succeeded or failed, the role changed) and when the wait
    /// it asked for is over. See <see cref="WaitForBetterPairs"/> for what "expected" means.
    /// </summary>
    private void ConsiderNomination()
    {
        if (_nominating || _selected is not null || !_state.Controlling) return;
        var best = _state.CheckList.Pairs.Where(p => p.Valid).MaxBy(p => p.Priority);
        if (best is null) return;
        var now = Context.System.Scheduler.Now;
        _firstValidAt ??= now;
        var left = _firstValidAt.Value + _settings.NominationWait - now;
        var wait = WaitForBetterPairs(best, now);
        if (wait <= TimeSpan.Zero || left <= TimeSpan.Zero)
        {
            NominateBest();
            return;
        }
        Timers.StartSingleTimer(NominationDue.Instance, NominationDue.Instance, wait < left ? wait : left);
    }

    /// <summary>
    /// How long to wait before nominating <paramref name="best"/> (zero: nominate now) for the pairs of higher
    /// priority that have not failed:
    /// <list type="bullet">
    /// <item>none: nominate now;</item>
    /// <item>one not checked yet (Waiting, Frozen): it may well work; look again after a grace period;</item>
    /// <item>one whose check is out: a pair is checked in priority order, so its check went out no later than the
    /// best's, which came back within its round trip; once the better check has been out for the grace period
    /// (nomination-grace-rtts round trips of the best pair, at least nomination-grace) without an answer, it is not
    /// waited for (its check still runs: should it succeed before the nomination, it is the best);</item>
    /// <item>but while the best pair goes through a TURN relay, a better direct pair (host, server- or
    /// peer-reflexive on both sides) is waited for the whole nomination-wait, and so are the remote's candidates
    /// still to come: hole punching can take the other side's checks to open its NAT, and relaying costs the relay
    /// and a longer path for the whole session.</item>
    /// </list>
    /// </summary>
    private TimeSpan WaitForBetterPairs(CandidatePair best, DateTimeOffset now)
    {
        bool relayed = IsRelayed(best);
        if (relayed && !_state.RemoteGatheringDone) return _settings.NominationWait;
        var rtts = _roundTrips.GetValueOrDefault(best) * _settings.NominationGraceRtts;
        var grace = rtts > _settings.NominationGrace ? rtts : _settings.NominationGrace;
        var wait = TimeSpan.Zero;
        foreach (var pair in _state.CheckList.Pairs)
        {
            if (pair.Priority <= best.Priority) break; // the list is sorted, highest priority first
            if (pair.State is CandidatePairState.Failed or CandidatePairState.Succeeded) continue;
            if (relayed && !IsRelayed(pair)) return _settings.NominationWait;
            var left = _firstCheckAt.TryGetValue(pair, out var sentAt) ? sentAt + grace - now : grace;
            if (left > wait) wait = left;
        }
        return wait;
    }

    private static bool IsRelayed(CandidatePair pair) => pair.Local.Type == CandidateType.Relayed || pair.Remote.Type == CandidateType.Relayed;

    private void NominateBest()
    {
        if (_nominating || _selected is not null || !_state.Controlling) return;
        var best = _state.CheckList.Pairs.Where(p => p.Valid).MaxBy(p => p.Priority);
        if (best is null) return;
        _nominating = true;
        _log.Debug("[{0}] nominating {1} -> {2}", _sessionId, best.Local.Address, best.Remote.Address);
        Trigger(best, useCandidate: true);
    }

    private void Nominated(CandidatePair pair)
    {
        pair.Nominated = true;
        if (_selected is not null && _selected.Priority >= pair.Priority) return;
        _selected = pair;
        var selected = new SelectedPair(pair.Local, pair.Remote, pair.Priority, _roundTrips.GetValueOrDefault(pair));
        _state.Selected = selected;
        EndChecking();
        Timers.Cancel(NominationDue.Instance);
        if (ChecksStopped) StopOtherChecks(pair);
        _log.Info("[{0}] selected pair {1} {2} -> {3} {4}", _sessionId, pair.Local.Type, pair.Local.Address, pair.Remote.Type, pair.Remote.Address);
        Context.Parent.Tell(new PairCheckerProtocol.PairSelected(selected));
        // a direct pair that became valid while the relayed one's nomination was on its way takes over at once
        if (_state.Controlling && _state.CheckList.Pairs.Where(p => p.Valid && MayUpgrade(p)).MaxBy(p => p.Priority) is { } better) Trigger(better, useCandidate: true);
    }

    /// <summary>With regular nomination, ICE is complete once a pair is selected (RFC 8445 §8.1.2, §8.3); aggressive nomination keeps looking for a better pair.</summary>
    private bool ChecksStopped => _selected is not null && _settings.Nomination == NominationMode.Regular;

    /// <summary>
    /// RFC 8445 §8.3: once <paramref name="selected"/> is selected, the triggered checks queued for other pairs are
    /// dropped and the checks in progress on other pairs stop retransmitting (they would go on for ~20 s, through the
    /// TURN server too when they go to or from a relayed candidate). Waiting and Frozen pairs are no longer checked
    /// (<see cref="OnTick"/>).
    /// </summary>
    private void StopOtherChecks(CandidatePair selected)
    {
        for (var node = _triggered.First; node is not null;)
        {
            var next = node.Next;
            if (!ReferenceEquals(node.Value.Pair, selected) && !MayUpgrade(node.Value.Pair)) _triggered.Remove(node);
            node = next;
        }
        int stopped = _transactions.Cancel(c => !c.Consent && !ReferenceEquals(c.Pair, selected) && !MayUpgrade(c.Pair));
        if (stopped > 0) _log.Debug("[{0}] stopped {1} checks in progress on other pairs", _sessionId, stopped);
    }

    private void RestoreSelected(SelectedPair selected)
    {
        var transport = selected.Local.Transport;
        var pair = _state.CheckList.Find(selected.Local.Address, selected.Remote.Address, transport);
        if (pair is null)
        {
            _state.CheckList.AddRemote(selected.Remote);
            pair = _state.CheckList.Find(selected.Local.Address, selected.Remote.Address, transport)
                   ?? _state.CheckList.AddPeerReflexiveRemote(selected.Local.Address, selected.Remote.Address, selected.Remote.Priority, out _, transport);
        }
        if (pair is null) return;
        pair.State = CandidatePairState.Succeeded;
        pair.Valid = true;
        pair.Nominated = true;
        _selected = pair;
        _roundTrips[pair] = selected.RoundTrip;
        EndChecking();
    }

    private void CheckForFailure()
    {
        if (_selected is not null || _failed) return;
        if (_state.Controlling && _state.CheckList.Pairs.Any(p => p.Valid) && !_state.CheckList.Pairs.Any(p => p.State is CandidatePairState.Waiting or CandidatePairState.InProgress))
        {
            NominateBest();
            return;
        }
        // without the remote credentials, its candidates are still waiting to be paired: signaling may deliver the
        // description after the trickled candidates and end-of-candidates, so nothing has failed yet
        if (_state.Remote is null || !_state.LocalGatheringDone || !_state.RemoteGatheringDone || _triggered.Count > 0 || _transactions.Count > 0) return;
        if (_state.CheckList.Pairs.Any(p => p.Valid || p.State is CandidatePairState.Waiting or CandidatePairState.InProgress or CandidatePairState.Frozen)) return;
        _failed = true;
        EndChecking();
        string reason = _state.CheckList.Pairs.Count == 0
            ? "no candidate pairs could be formed (no common address family or transport)"
            : $"all {_state.CheckList.Pairs.Count} candidate pairs failed";
        Context.Parent.Tell(new PairCheckerProtocol.ChecksFailed(reason));
    }
}

