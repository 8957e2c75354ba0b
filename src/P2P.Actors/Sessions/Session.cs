using System.Diagnostics;
using System.Security.Cryptography;
using Akka.Actor;
using P2P.Actors.Dispatch;
using Akka.Event;
using P2P.Actors.Dtls;
using P2P.Actors.Ice;
using P2P.Actors.Sctp;
using P2P.Actors.Supervision;
using P2P.Actors.Transport;
using P2P.Protocol;
using P2P.Protocol.Dtls;
using P2P.Protocol.Ice;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Sessions;

public static class SessionProtocol
{
    // commands from the owner (console, signaling, tests)
    public sealed record SetRemoteDescription(IceDescription Description);

    public sealed record AddRemoteCandidate(IceCandidate Candidate);

    public sealed record RemoteEndOfCandidates;

    public sealed record Send(ReadOnlyMemory<byte> Data);

    public sealed record Close;

    /// <summary>Answered with <see cref="PairCheckerProtocol.PairTable"/>.</summary>
    public sealed record GetPairs;

    /// <summary>Answered with <see cref="ConnectionProtocol.Info"/>, or <see cref="NotConnected"/>.</summary>
    public sealed record GetConnectionInfo;

    public sealed record NotConnected(string SessionId);

    /// <summary>Diagnostics and benchmarks: answered with <see cref="Timeline"/>.</summary>
    public sealed record GetTimeline;

    /// <summary>
    /// When each step of setting the session up was reached, as <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>
    /// values (0: not yet): created, first local candidate, connection begun, ICE pair selected, DTLS handshake done,
    /// SCTP association up.
    /// </summary>
    /// <param name="DataPath">When the connection began: on a secure session the first valid pair (DTLS starts then), else the selection.</param>
    public sealed record Timeline(string SessionId, long Started, long FirstLocalCandidate, long DataPath, long IceConnected, long DtlsConnected, long Associated);

    // events to the owner, each naming the session
    public sealed record Started(string SessionId, IActorRef Session, IceCredentials Credentials)
    {
        /// <summary>This side is an ICE-lite agent (the remote must know: a=ice-lite).</summary>
        public bool IceLite { get; init; }

        /// <summary>What the remote must get before any candidate: credentials, and for a secure session the certificate fingerprint and a=setup.</summary>
        public IceDescription? Description { get; init; }
    }

    /// <summary>A local candidate to trickle to the remote (RFC 8838).</summary>
    public sealed record LocalCandidate(string SessionId, IceCandidate Candidate);

    /// <summary>Gathering is over: the whole local description, for a manual copy-paste exchange.</summary>
    public sealed record LocalDescription(string SessionId, IceDescription Description);

    /// <summary>The session carries data: on a secure session after the DTLS handshake, with the peer's verified fingerprint.</summary>
    public sealed record Connected(string SessionId, SelectedPair Pair)
    {
        public string? RemoteFingerprint { get; init; }
    }

    public sealed record Failed(string SessionId, string Reason);

    public sealed record Disconnected(string SessionId, string Reason);

    public sealed record DataReceived(string SessionId, ReadOnlyMemory<byte> Data);

    /// <summary>
    /// The session is over and its actors are stopping: closed here (<see cref="Close"/>), or by the peer, which
    /// <see cref="PeerReason"/> then says how (close_notify, SCTP SHUTDOWN, a user-initiated ABORT). Its last message.
    /// </summary>
    public sealed record Closed(string SessionId)
    {
        /// <summary>How the peer closed it; null when it was closed here.</summary>
        public string? PeerReason { get; init; }
    }

    /// <summary>
    /// ICE restarted (RFC 8445 §9) with new local credentials, after consent was lost or because the remote
    /// restarted: the signaling must send these to the remote; candidates follow as <see cref="LocalCandidate"/>.
    /// </summary>
    public sealed record Restarted(string SessionId, IceCredentials Credentials);

    // ---- data channels (RFC 8831) on a secure session --------------------------------------------------

    /// <summary>
    /// Open a data channel by label (RFC 8832): ordered or not, fully reliable or partially (max retransmissions or
    /// max lifetime, RFC 3758). Both sides then hear <see cref="ChannelOpened"/>.
    /// </summary>
    public sealed record OpenChannel(string Label, bool Ordered = true, int? MaxRetransmits = null, TimeSpan? MaxLifetime = null);

    /// <summary>One message on a channel, text or binary (messages, not a stream).</summary>
    public sealed record SendOnChannel(string Label, ReadOnlyMemory<byte> Data, bool Binary = true);

    public sealed record CloseChannel(string Label);

    public sealed record ChannelOpened(string SessionId, string Label, bool Ordered, int? MaxRetransmits, TimeSpan? MaxLifetime, bool RemoteInitiated);

    public sealed record ChannelMessage(string SessionId, string Label, ReadOnlyMemory<byte> Data, bool Binary);

    public sealed record ChannelClosed(string SessionId, string Label);

    /// <summary>A channel command could not be carried out (unknown label, message too large, association gone).</summary>
    public sealed record ChannelError(string SessionId, string Label, string Reason);

    /// <summary>Diagnostics and tests: make one child of the session throw while handling a message, to exercise supervision.</summary>
    public sealed record InjectFault(string Reason, SessionChild Child = SessionChild.PairChecker);

    /// <summary>Answered with <see cref="Faults"/>.</summary>
    public sealed record GetFaults;

    /// <summary>The faults of the session's children, oldest first: the last <see cref="Session.FaultsKept"/> of <paramref name="Total"/>.</summary>
    public sealed record Faults(string SessionId, IReadOnlyList<ChildFault> Entries, int Total);

    /// <summary>One child threw: which (its actor name), why, and what the session did (resumed it, or stopped it and failed).</summary>
    public sealed record ChildFault(string Child, string Reason, string Action);

    /// <summary>Told by the supervisor strategy when a child had to be stopped: the session fails with <paramref name="Reason"/>.</summary>
    internal sealed record ChildStopped(string Reason);

    // from the Peer
    internal sealed record LocalCandidatesGathered(IReadOnlyList<IceCandidate> Candidates);

    internal sealed record LocalGatheringComplete;

    /// <summary>The TURN server dropped the allocation behind <paramref name="Old"/> and gave a new one, <paramref name="New"/>.</summary>
    internal sealed record RelayedCandidateReplaced(IceCandidate Old, IceCandidate New);

    internal sealed record GatheringProblem(string Reason);
}

/// <summary>The children of a <see cref="Session"/> a fault can be injected into (<see cref="SessionProtocol.InjectFault"/>).</summary>
public enum SessionChild
{
    /// <summary>The agent's pair checker ("ice-N/checks"), which the agent restarts and re-feeds.</summary>
    PairChecker,

    /// <summary>The ICE agent ("ice-N").</summary>
    Agent,

    /// <summary>The connection on the selected pair ("connection").</summary>
    Connection,

    /// <summary>The DTLS transport of a secure session ("dtls").</summary>
    Dtls,

    /// <summary>The SCTP association of a secure session ("sctp").</summary>
    Sctp,

    /// <summary>The session actor itself, which its <see cref="Peer"/> supervises.</summary>
    Session,
}

/// <summary>
/// One conversation with one remote peer (docs/ARCHITECTURE.md): its <see cref="IceAgent"/> ("ice-N") finds a pair, then
/// its <see cref="Connection"/> ("connection") carries data on it. Events go to the owner given at creation,
/// with the session id, so one session's story reads in order. Packets come and go through the Peer, but for the direct
/// paths of the datagram contract (docs/ARCHITECTURE.md): a host pair's data goes between socket and DTLS (<see cref="ConnectionPath"/>).
/// When consent is lost the session restarts ICE with new credentials (RFC 8445 §9) and keeps its
/// connection, which resumes on the new pair; a remote that restarts (new credentials in its description)
/// makes this side restart too.
/// </summary>
public sealed class Session : ReceiveActor, IWithTimers
{
    private readonly IceSettings _settings;
    private readonly string _sessionId;
    private readonly IActorRef _owner;
    private readonly IActorRef _peer;
    private readonly IUdpWriter? _socket;
    private ConnectionPath? _connectionPath;
    private readonly bool _controlling;
    private readonly uint _sessionTag;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IceCandidate> _localCandidates = [];
    private readonly List<string> _problems = [];
    private IceCredentials _credentials;
    private IceCredentials? _remoteCredentials;
    private uint? _remoteSessionTag; // the remote multiplexes sessions on its socket: our datagrams carry this tag
    private IActorRef _ice;
    private IActorRef? _connection;
    private SelectedPair? _pair;
    private readonly DtlsCertificate? _certificate;
    private readonly SetupAttribute _localSetup;
    private CertificateFingerprint? _remoteFingerprint;
    private DtlsRole _dtlsRole;
    private IActorRef? _dtls;
    private IActorRef? _sctp;
    private readonly Dictionary<string, ushort> _streamByLabel = new(StringComparer.Ordinal);
    private readonly Dictionary<ushort, string> _labelByStream = [];
    private readonly List<object> _waitingForAssociation = [];
    private readonly List<ReadOnlyMemory<byte>> _waitingForDefaultChannel = [];
    private bool _associated;
    private string? _dtlsFingerprint;
    private int _generation;
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private long _firstCandidateAt, _dataPathAt, _iceConnectedAt, _dtlsConnectedAt, _associatedAt;
    private SelectedPair? _connectionPair; // the valid pair the connection began on, until the first selection
    private bool _localGatheringComplete, _awaitingRemoteRestart, _failed, _restarting;

    public Session(IceSettings settings, string sessionId, IceCredentials credentials, bool controlling, uint sessionTag, IActorRef peer, IActorRef owner,
        DtlsCertificate? certificate, IUdpWriter? socket)
    {
        _socket = socket;
        _certificate = certificate;
        _localSetup = controlling ? SetupAttribute.ActPass : SetupAttribute.Active; // the side that opens offers; RFC 5763 §5
        _settings = settings;
        _sessionId = sessionId;
        _owner = owner;
        _peer = peer;
        _controlling = controlling;
        _sessionTag = sessionTag;
        _credentials = credentials;
        _ice = StartAgent();

        Receive<SessionProtocol.LocalCandidatesGathered>(m =>
        {
            if (_firstCandidateAt == 0 && m.Candidates.Count > 0) _firstCandidateAt = Stopwatch.GetTimestamp();
            _localCandidates.AddRange(m.Candidates);
            _ice.Tell(new IceAgentProtocol.AddLocalCandidates(m.Candidates));
            foreach (var c in m.Candidates) _owner.Tell(new SessionProtocol.LocalCandidate(_sessionId, c));
        });
        Receive<SessionProtocol.LocalGatheringComplete>(_ =>
        {
            _localGatheringComplete = true;
            _ice.Tell(new IceAgentProtocol.LocalGatheringComplete());
            TellLocalDescription();
        });
        Receive<SessionProtocol.GatheringProblem>(m => _problems.Add(m.Reason));
        Receive<SessionProtocol.RelayedCandidateReplaced>(OnRelayedCandidateReplaced);
        Receive<SessionProtocol.SetRemoteDescription>(OnRemoteDescription);
        Receive<SessionProtocol.AddRemoteCandidate>(m => _ice.Tell(new IceAgentProtocol.AddRemoteCandidate(m.Candidate)));
        Receive<SessionProtocol.RemoteEndOfCandidates>(_ => _ice.Tell(new IceAgentProtocol.RemoteGatheringComplete()));

        Receive<IceAgentProtocol.Connected>(m =>
        {
            if (Sender.Equals(_ice)) OnConnected(m);
        });
        Receive<IceAgentProtocol.PairValid>(m =>
        {
            if (Sender.Equals(_ice)) OnPairValid(m.Pair);
        });
        Receive<IceAgentProtocol.Failed>(m =>
        {
            if (Sender.Equals(_ice)) Fail(_problems.Count == 0 ? m.Reason : $"{m.Reason}; {string.Join("; ", _problems)}");
        });
        Receive<DtlsProtocol.Connected>(m =>
        {
            _dtlsConnectedAt = Stopwatch.GetTimestamp();
            _peer.Tell(new PeerProtocol.SessionSecured()); // its place to check goes to the next session (CheckAdmission)
            _dtlsFingerprint = m.RemoteFingerprint;
            var sctp = _sctpSettings with { MaxPacketSize = Math.Min(_sctpSettings.MaxPacketSize, m.MaxPayload), PmtuProbeMax = Math.Min(_sctpSettings.PmtuProbeMax, m.MaxPayload) };
            // the association writes to the DTLS transport and reads from it directly: no hop through this actor per packet
            _sctp = Context.ActorOf(SctpAssociation.Props(sctp, _dtls!, Self, _dtlsRole == DtlsRole.Client), "sctp");
            _dtls!.Tell(new DatagramProtocol.Attach(_sctp));
            // Both ends send INIT, whatever their DTLS role: libwebrtc (usrsctp/dcsctp) does the same, and
            // werift picks its SCTP initiator by ICE role (controlling sends INIT), so with a controlled
            // werift that is the DTLS client nobody would start. A crossing INIT is an ordinary collision (RFC 9260 §5.2.1).
            _sctp.Tell(SctpProtocol.Associate.Instance);
            _log.Info("[{0}] DTLS up ({1}), peer certificate {2}", _sessionId, m.CipherSuite, m.RemoteFingerprint);
            if (_pair is not null) _owner.Tell(new SessionProtocol.Connected(_sessionId, _pair) { RemoteFingerprint = m.RemoteFingerprint });
        });
        // up from the connection of a plain session, or a record DTLS decrypted before the association was attached to it
        Receive<DatagramProtocol.Received>(m =>
        {
            if (_dtls is not null && Sender.Equals(_dtls)) _sctp?.Tell(m);
            else if (_connection is not null && Sender.Equals(_connection)) _owner.Tell(new SessionProtocol.DataReceived(_sessionId, m.Datagram));
        });
        Receive<SctpProtocol.AssociationEstablished>(_ =>
        {
            _associated = true;
            _associatedAt = Stopwatch.GetTimestamp();
            // the DTLS client opens the session's default channel, which carries Send/DataReceived
            if (_dtlsRole == DtlsRole.Client) _sctp!.Tell(new SctpProtocol.OpenChannel(DefaultChannel));
            foreach (var waiting in _waitingForAssociation) Self.Tell(waiting, _owner);
            _waitingForAssociation.Clear();
        });
        Receive<SctpProtocol.ChannelOpening>(m => MapChannel(m.StreamId, m.Label));
        Receive<SctpProtocol.ChannelOpened>(m =>
        {
            MapChannel(m.StreamId, m.Label);
            if (m.Label == DefaultChannel)
            {
                foreach (var data in _waitingForDefaultChannel) _sctp!.Tell(new SctpProtocol.SendMessage(m.StreamId, data, Binary: true));
                _waitingForDefaultChannel.Clear();
                return;
            }
            _owner.Tell(new SessionProtocol.ChannelOpened(_sessionId, m.Label, m.Ordered, m.MaxRetransmits, m.MaxLifetime, m.RemoteInitiated));
        });
        Receive<SctpProtocol.ChannelOpenFailed>(m => _owner.Tell(new SessionProtocol.ChannelError(_sessionId, m.Label, m.Reason)));
        Receive<SctpProtocol.MessageReceived>(m =>
        {
            if (!_labelByStream.TryGetValue(m.StreamId, out var label)) return;
            if (label == DefaultChannel) _owner.Tell(new SessionProtocol.DataReceived(_sessionId, m.Data));
            else _owner.Tell(new SessionProtocol.ChannelMessage(_sessionId, label, m.Data, m.Binary));
        });
        Receive<SctpProtocol.SendFailed>(m =>
            _owner.Tell(new SessionProtocol.ChannelError(_sessionId, _labelByStream.GetValueOrDefault(m.StreamId, $"stream {m.StreamId}"), m.Reason)));
        Receive<SctpProtocol.ChannelClosed>(m =>
        {
            if (!_labelByStream.Remove(m.StreamId, out var label)) return;
            _streamByLabel.Remove(label);
            _owner.Tell(new SessionProtocol.ChannelClosed(_sessionId, label));
        });
        Receive<SctpProtocol.AssociationAborted>(m =>
        {
            if (m.ByPeer && m.UserInitiated) ClosedByPeer($"the peer closed the session ({m.Reason})");
            else Fail($"the data channel association was aborted: {m.Reason}");
        });
        Receive<SctpProtocol.AssociationClosed>(_ => ClosedByPeer("the peer closed the data channel association"));
        Receive<SessionProtocol.OpenChannel>(m =>
        {
            if (!ReadyForChannels(m)) return;
            if (_streamByLabel.ContainsKey(m.Label) || m.Label == DefaultChannel)
                _owner.Tell(new SessionProtocol.ChannelError(_sessionId, m.Label, $"a channel labelled '{m.Label}' is already open"));
            else _sctp!.Tell(new SctpProtocol.OpenChannel(m.Label, Ordered: m.Ordered, MaxRetransmits: m.MaxRetransmits, MaxLifetime: m.MaxLifetime));
        });
        Receive<SessionProtocol.SendOnChannel>(m =>
        {
            if (!ReadyForChannels(m)) return;
            if (_streamByLabel.TryGetValue(m.Label, out var stream)) _sctp!.Tell(new SctpProtocol.SendMessage(stream, m.Data, m.Binary));
            else _owner.Tell(new SessionProtocol.ChannelError(_sessionId, m.Label, $"no channel labelled '{m.Label}' is open"));
        });
        Receive<SessionProtocol.CloseChannel>(m =>
        {
            if (_streamByLabel.TryGetValue(m.Label, out var stream)) _sctp?.Tell(new SctpProtocol.CloseChannel(stream));
            else _owner.Tell(new SessionProtocol.ChannelError(_sessionId, m.Label, $"no channel labelled '{m.Label}' is open"));
        });
        Receive<DtlsProtocol.Failed>(m => Fail(m.Reason));
        Receive<DtlsProtocol.Closed>(_ => ClosedByPeer("the peer closed the DTLS association"));
        Receive<PairCheckerProtocol.ConsentConfirmed>(m =>
        {
            if (Sender.Equals(_ice)) _connection?.Forward(m);
        });
        Receive<PairCheckerProtocol.CheckConsent>(m => _ice.Tell(m));
        Receive<ConnectionProtocol.ConsentLost>(m =>
        {
            if (_restarting) return; // the restart under way is the answer already
            _log.Warning("[{0}] {1}; restarting ICE", _sessionId, m.Reason);
            _owner.Tell(new SessionProtocol.Disconnected(_sessionId, m.Reason));
            Restart(initiatedHere: true);
        });

        // packets from the Peer: STUN to the agent, the rest to the connection
        Receive<IceTransportProtocol.Inbound>(m =>
        {
            if (PacketDemultiplexer.Classify(m.Payload.Span) == PacketKind.Stun) _ice.Forward(m);
            else if (_connection is not null) _connection.Forward(m);
        });
        Receive<SessionProtocol.Send>(m =>
        {
            if (_certificate is not null)
            {
                // secure: on the default data channel (reliable, ordered), once it is open
                if (_streamByLabel.TryGetValue(DefaultChannel, out var stream)) _sctp!.Tell(new SctpProtocol.SendMessage(stream, m.Data, Binary: true));
                else _waitingForDefaultChannel.Add(m.Data);
            }
            else if (_connection is not null) _connection.Tell(new DatagramProtocol.Send(m.Data));
            else _log.Warning("[{0}] dropped {1} bytes to send: not connected", _sessionId, m.Data.Length);
        });
        Receive<SessionProtocol.GetPairs>(_ => _ice.Forward(new PairCheckerProtocol.GetPairs()));
        Receive<SessionProtocol.GetConnectionInfo>(_ =>
        {
            if (_connection is null) Sender.Tell(new SessionProtocol.NotConnected(_sessionId));
            else _connection.Forward(new ConnectionProtocol.GetInfo());
        });
        Receive<PairCheckerProtocol.GetStats>(m => _ice.Forward(m));
        Receive<SessionProtocol.GetTimeline>(_ => Sender.Tell(
            new SessionProtocol.Timeline(_sessionId, _startedAt, _firstCandidateAt, _dataPathAt, _iceConnectedAt, _dtlsConnectedAt, _associatedAt)));
        Receive<SessionProtocol.InjectFault>(m =>
        {
            if (m.Child == SessionChild.Session) throw new InjectedFaultException(m.Reason);
            if (m.Child == SessionChild.PairChecker)
            {
                _ice.Tell(new PairCheckerProtocol.InjectFault(m.Reason));
                return;
            }
            IActorRef? child = m.Child switch
            {
                SessionChild.Agent => _ice,
                SessionChild.Connection => _connection,
                SessionChild.Dtls => _dtls,
                _ => _sctp,
            };
            if (child is null) _log.Warning("[{0}] no {1} to inject a fault into yet", _sessionId, m.Child);
            else child.Tell(new InjectFault(m.Reason));
        });
        Receive<SessionProtocol.GetFaults>(_ => Sender.Tell(new SessionProtocol.Faults(_sessionId, _faults.ToList(), _faultCount)));
        Receive<SessionProtocol.ChildStopped>(m => Fail(m.Reason));
        Receive<SessionProtocol.Close>(_ =>
        {
            _owner.Tell(new SessionProtocol.Closed(_sessionId));
            if (_dtls is null || _connection is null)
            {
                Context.Stop(Self);
                return;
            }
            // Tell the peer (close_notify) before going: the alert must leave through the connection, which a stop
            // of this actor would end before it had sent it. The connection goes after what it was given, then us.
            _dtls.Tell(DtlsProtocol.Close.Instance);
            Become(Closing);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>How many faults <see cref="SessionProtocol.GetFaults"/> lists (a session lives long: the oldest go).</summary>
    public const int FaultsKept = 100;

    private readonly Queue<SessionProtocol.ChildFault> _faults = new();
    private int _faultCount;
    private readonly Dictionary<string, FaultWindow> _recentFaults = new(StringComparer.Ordinal);

    /// <summary>
    /// None of the session's children can be rebuilt from its Props without losing what the remote peer shares with it:
    /// the agent its candidates, credentials and selected pair; the connection the pair it switched to and the DTLS
    /// transport it feeds; the DTLS transport its handshake and keys (a restart would send close_notify and start a
    /// handshake the peer does not expect); the SCTP association its TSNs, streams and channels. So none is restarted
    /// (the one child that can be rebuilt, the agent's pair checker, is restarted and re-fed by the agent). A child that
    /// throws while handling one message (a bug, or an input its code did not expect) is resumed: that message is
    /// dropped, its state is kept, and the fault is logged and counted (<see cref="SessionProtocol.GetFaults"/>). A child
    /// that keeps throwing (more than <see cref="IceSettings.ChildFaultsPerMinute"/> within a minute), or that cannot be
    /// resumed (it failed to start, or was killed), is stopped, and the session fails with a reason the owner can show.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new PerChildStrategy(Decide);

    private Directive Decide(IActorRef child, Exception cause)
    {
        string name = child.Path.Name;
        string what = name.StartsWith("ice-", StringComparison.Ordinal) ? "ICE agent" : name switch
        {
            "connection" => "connection",
            "dtls" => "DTLS transport",
            "sctp" => "SCTP association",
            _ => name,
        };
        var reason = FaultWindow.ReasonOf(cause);
        if (!_recentFaults.TryGetValue(name, out var window)) _recentFaults[name] = window = new FaultWindow();
        int recent = window.Record(Context.System.Scheduler.Now.ToUnixTimeMilliseconds());
        bool resumable = FaultWindow.IsResumable(cause);
        if (resumable && recent <= _settings.ChildFaultsPerMinute)
        {
            Record(new SessionProtocol.ChildFault(name, reason, "resumed"));
            _log.Warning(cause, "[{0}] the {1} threw ({2}); resumed with its state, the message that caused it dropped (fault {3} in the last minute)",
                _sessionId, what, reason, recent);
            return Directive.Resume;
        }
        Record(new SessionProtocol.ChildFault(name, reason, "stopped"));
        _log.Error(cause, "[{0}] the {1} failed ({2}) and is stopped; the session cannot go on without it", _sessionId, what, reason);
        Self.Tell(new SessionProtocol.ChildStopped(resumable
            ? $"the session's {what} failed {recent} times within a minute (last: {reason.TrimEnd('.')})"
            : $"the session's {what} failed: {reason.TrimEnd('.')}"));
        return Directive.Stop;
    }

    private void Record(SessionProtocol.ChildFault fault)
    {
        _faultCount++;
        if (_faults.Count == FaultsKept) _faults.Dequeue();
        _faults.Enqueue(fault);
    }

    /// <summary>Closed by the owner: waiting for close_notify to leave through the connection, then stopping.</summary>
    private void Closing()
    {
        Receive<DtlsProtocol.CloseSent>(_ =>
        {
            Context.Watch(_connection!);
            _connection!.Tell(PoisonPill.Instance); // after the alert already in its mailbox
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_connection), _ => Context.Stop(Self));
        ReceiveAny(_ => { });
        Timers.StartSingleTimer("closing", PoisonPill.Instance, TimeSpan.FromSeconds(2)); // whatever happens
    }

    /// <param name="certificate">The peer's DTLS certificate for a secure session; null for plain datagrams.</param>
    /// <param name="socket">The peer's socket, written directly by the session's connection while its pair is a host pair (see <see cref="ConnectionPath"/>); null: always through the peer.</param>
    public static Props Props(IceSettings settings, string sessionId, IceCredentials credentials, bool controlling, uint sessionTag, IActorRef peer, IActorRef owner,
        DtlsCertificate? certificate = null, IUdpWriter? socket = null) =>
        Akka.Actor.Props.Create(() => new Session(settings, sessionId, credentials, controlling, sessionTag, peer, owner, certificate, socket));

    protected override void PreStart() =>
        _owner.Tell(new SessionProtocol.Started(_sessionId, Self, _credentials) { IceLite = _settings.Lite, Description = Describe([]) });

    /// <summary>This side's description: credentials, options, and for a secure session the fingerprint and a=setup (RFC 8842).</summary>
    /// <summary>The channel the session's own Send/DataReceived travel on, opened by the DTLS client.</summary>
    public const string DefaultChannel = "p2p";

    private readonly SctpSettings _sctpSettings = SctpSettings.OrDefault(Context.System.Settings.Config);
    private readonly DtlsSettings _dtlsSettings = DtlsSettings.OrDefault(Context.System.Settings.Config);

    private void MapChannel(ushort stream, string label)
    {
        _streamByLabel[label] = stream;
        _labelByStream[stream] = label;
    }

    /// <summary>Channel commands wait for the association; on a plain session there are no channels.</summary>
    private bool ReadyForChannels(object command)
    {
        if (_certificate is null)
        {
            string label = command switch { SessionProtocol.OpenChannel o => o.Label, SessionProtocol.SendOnChannel s => s.Label, _ => "" };
            _owner.Tell(new SessionProtocol.ChannelError(_sessionId, label, "data channels need a secure session (DTLS and SCTP); this one is plain"));
            return false;
        }
        if (_associated) return true;
        _waitingForAssociation.Add(command);
        return false;
    }

    private IceDescription Describe(IReadOnlyList<IceCandidate> candidates) => new(_credentials, candidates)
    {
        Options = ["trickle"],
        IceLite = _settings.Lite,
        Pacing = _settings.Ta,
        SessionTag = _sessionTag,
        FingerprintAlgorithm = _certificate is null ? null : _certificate.Fingerprint.Algorithm,
        Fingerprint = _certificate?.Fingerprint.Hex,
        Setup = _certificate is null ? null : DtlsSetup.Format(_localSetup),
    };

    /// <summary>
    /// The peer ended the session cleanly: this side ends too (its owner hears <see cref="SessionProtocol.Closed"/> with
    /// the reason, and its actors stop, which frees its routes in the Peer), instead of waiting for consent to run out.
    /// </summary>
    private void ClosedByPeer(string reason)
    {
        _log.Info("[{0}] {1}; the session ends here too", _sessionId, reason);
        _owner.Tell(new SessionProtocol.Closed(_sessionId) { PeerReason = reason });
        Context.Stop(Self);
    }

    private void Fail(string reason)
    {
        if (_failed) return;
        _failed = true;
        _peer.Tell(new PeerProtocol.SessionSecured());
        _log.Warning("[{0}] session failed: {1}", _sessionId, reason);
        _owner.Tell(new SessionProtocol.Failed(_sessionId, reason));
    }

    private IActorRef StartAgent()
    {
        ulong tieBreaker = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        return Context.ActorOf(SessionMailbox.For(IceAgent.Props(_settings, _sessionId, _credentials, _controlling, tieBreaker, _sessionTag, _peer), Context.System), $"ice-{_generation}");
    }

    private void OnRemoteDescription(SessionProtocol.SetRemoteDescription m)
    {
        if (_certificate is not null && _remoteFingerprint is null && !AcceptSecurity(m.Description)) return;
        var credentials = m.Description.Credentials;
        if (_remoteCredentials is not null && credentials != _remoteCredentials)
        {
            if (_awaitingRemoteRestart) _awaitingRemoteRestart = false; // the remote's answer to our restart
            else
            {
                _log.Info("[{0}] the remote restarted ICE; restarting too", _sessionId);
                Restart(initiatedHere: false);
            }
        }
        _remoteCredentials = credentials;
        _remoteSessionTag ??= m.Description.SessionTag;
        _ice.Tell(new IceAgentProtocol.SetRemoteDescription(m.Description));
    }

    /// <summary>
    /// A secure session needs the peer's certificate fingerprint and a compatible a=setup (RFC 8842, RFC 5763);
    /// without a fingerprint the peer is most likely the original plain program.
    /// </summary>
    private bool AcceptSecurity(IceDescription remote)
    {
        if (remote.Fingerprint is null)
        {
            Fail("the peer's description has no a=fingerprint, so it cannot encrypt: it looks like the original plain program; " +
                 "--plain (unencrypted) would connect to it");
            return false;
        }
        if (!CertificateFingerprint.TryParse(remote.FingerprintAlgorithm, remote.Fingerprint, out var fingerprint, out var error))
        {
            Fail($"the peer's a=fingerprint is unusable: {error}");
            return false;
        }
        var remoteSetup = SetupAttribute.ActPass;
        if (remote.Setup is not null && !DtlsSetup.TryParse(remote.Setup, out remoteSetup))
        {
            Fail($"the peer's a=setup:{remote.Setup} is not actpass, active or passive");
            return false;
        }
        if (!DtlsSetup.TryResolveRole(_localSetup, remoteSetup, isOfferer: _localSetup == SetupAttribute.ActPass, out _dtlsRole, out var roleError))
        {
            Fail($"DTLS roles do not fit: {roleError}");
            return false;
        }
        _remoteFingerprint = fingerprint;
        return true;
    }

    /// <summary>RFC 8445 §9: new local credentials and a fresh agent on the same candidates; the connection stays.</summary>
    private void Restart(bool initiatedHere)
    {
        Context.Stop(_ice);
        _generation++;
        var old = _credentials;
        _credentials = IceCredentials.Generate();
        _peer.Tell(new PeerProtocol.CredentialsChanged(old.Ufrag, _credentials.Ufrag));
        _awaitingRemoteRestart = initiatedHere;
        _restarting = true;
        _connection?.Tell(new ConnectionProtocol.ResetConsent());
        _ice = StartAgent();
        _owner.Tell(new SessionProtocol.Restarted(_sessionId, _credentials));
        if (_localCandidates.Count > 0) _ice.Tell(new IceAgentProtocol.AddLocalCandidates(_localCandidates.ToList()));
        foreach (var c in _localCandidates) _owner.Tell(new SessionProtocol.LocalCandidate(_sessionId, c));
        if (_localGatheringComplete)
        {
            _ice.Tell(new IceAgentProtocol.LocalGatheringComplete());
            TellLocalDescription();
        }
    }

    /// <summary>
    /// The relay candidate's allocation was dropped by the TURN server and a new one made: the new candidate is trickled
    /// to the remote and the agent pairs it with the remote candidates (RFC 8838 §4: pairs are formed as candidates
    /// arrive; the old candidate's pairs fail, as its data has no route any more). An ICE restart later uses it instead
    /// of the old one. A session already connected on another path is not disturbed.
    /// </summary>
    private void OnRelayedCandidateReplaced(SessionProtocol.RelayedCandidateReplaced m)
    {
        int index = _localCandidates.FindIndex(c => c.Type == CandidateType.Relayed && c.Address.Equals(m.Old.Address));
        if (index >= 0) _localCandidates[index] = m.New;
        else _localCandidates.Add(m.New);
        _log.Info("[{0}] relay candidate {1} replaces {2}, whose allocation the TURN server dropped", _sessionId, m.New.Address, m.Old.Address);
        _ice.Tell(new IceAgentProtocol.AddLocalCandidates([m.New]));
        _owner.Tell(new SessionProtocol.LocalCandidate(_sessionId, m.New));
    }

    private static bool SamePath(SelectedPair a, SelectedPair b) =>
        a.Local.Address.Equals(b.Local.Address) && a.Remote.Address.Equals(b.Remote.Address) && a.Local.Type == b.Local.Type;

    private void TellLocalDescription() =>
        _owner.Tell(new SessionProtocol.LocalDescription(_sessionId, Describe(_localCandidates.ToList()) with { EndOfCandidates = true }));

    /// <summary>
    /// A secure session starts its connection and DTLS handshake on the first valid pair, before ICE selects one: RFC
    /// 8445 §8.1.1 lets data go on any valid pair without nomination, and the controlling agent's nomination waits Ta
    /// after its last check, time the handshake would otherwise spend waiting too (libwebrtc does the same). The owner
    /// still hears Connected once both the handshake is done and a pair is selected; a selected pair that differs
    /// from this one takes over the connection (<see cref="ConnectionProtocol.SwitchPair"/>). A plain session waits
    /// for the selection: nothing would go on the pair before its owner hears Connected anyway.
    /// </summary>
    private void OnPairValid(SelectedPair pair)
    {
        if (_certificate is null || _remoteFingerprint is null || _connection is not null || _pair is not null) return;
        if (_dataPathAt == 0) _dataPathAt = Stopwatch.GetTimestamp();
        StartConnection(pair);
        _connectionPair = pair;
        _peer.Tell(new PeerProtocol.DataPathSelected(pair.Remote.Address, _connection, _connectionPath!));
        _log.Info("[{0}] DTLS starts over the valid pair {1} while ICE nominates", _sessionId, pair);
    }

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_connection))]
    private void StartConnection(SelectedPair pair)
    {
        bool secure = _certificate is not null && _remoteFingerprint is not null;
        // RFC 7983: on a secure session only DTLS goes up from the connection (STUN goes to the agent before it)
        _connectionPath = new ConnectionPath(_socket, secure ? PacketKind.Dtls : null);
        _connection = Context.ActorOf(SessionMailbox.For(Connection.Props(_settings, _sessionId, pair, _peer, _remoteSessionTag, _connectionPath), Context.System), "connection");
        if (secure)
        {
            // the DTLS association rides on whatever pair is selected: it survives path switches and ICE restarts
            _dtls = Context.ActorOf(DtlsTransport.Props(_dtlsRole, _certificate!, _remoteFingerprint!, new DatagramLink(_connection, _connectionPath), _dtlsSettings, Self), "dtls");
            _connection.Tell(new DatagramProtocol.Attach(_dtls));
        }
    }

    private void OnConnected(IceAgentProtocol.Connected m)
    {
        _pair = m.Pair;
        _restarting = false;
        if (_iceConnectedAt == 0) _iceConnectedAt = Stopwatch.GetTimestamp();
        if (_dataPathAt == 0) _dataPathAt = _iceConnectedAt;
        if (_connection is null) StartConnection(m.Pair);
        else if (_connectionPair is not { } valid || !SamePath(valid, m.Pair)) _connection.Tell(new ConnectionProtocol.SwitchPair(m.Pair));
        _connectionPair = null; // from now on every selection (a restart's too) is told to the connection
        _peer.Tell(new PeerProtocol.DataPathSelected(m.Pair.Remote.Address, _connection, _connectionPath!));
        _log.Info("[{0}] connected over {1}", _sessionId, m.Pair);
        if (_certificate is null) _owner.Tell(new SessionProtocol.Connected(_sessionId, m.Pair));
        else if (_dtlsFingerprint is not null) _owner.Tell(new SessionProtocol.Connected(_sessionId, m.Pair) { RemoteFingerprint = _dtlsFingerprint });
    }
}
