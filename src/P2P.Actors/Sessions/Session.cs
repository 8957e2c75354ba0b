using System.Diagnostics;
using System.Security.Cryptography;
using Akka.Actor;
using P2P.Actors.Dispatch;
using Akka.Event;
using P2P.Actors.Dtls;
using P2P.Actors.Ice;
using P2P.Actors.Mdns;
using P2P.Actors.Sctp;
using P2P.Actors.Supervision;
using P2P.Actors.Transport;
using P2P.Protocol;
using P2P.Protocol.Dtls;
using P2P.Protocol.Ice;
using P2P.Protocol.Nat;

namespace P2P.Actors.Sessions;

/// <summary>
/// One conversation with one remote peer (docs/ARCHITECTURE.md): its <see cref="IceAgent"/> ("ice") finds a pair, then
/// its <see cref="Connection"/> ("connection") carries data on it. Events go to the owner given at creation,
/// with the session id, so one session's story reads in order. Packets come and go through the LocalPeer, but for the direct
/// paths of the datagram contract (docs/ARCHITECTURE.md): a pair's data goes between socket and DTLS unless it is relayed (<see cref="ConnectionPath"/>).
/// When consent is lost the session asks its agent to restart ICE with new credentials (RFC 8445 §9) and keeps its
/// connection, which resumes on the new pair; a remote that restarts (new credentials in its description) makes the
/// agent restart too. ICE's data (credentials, candidates, role, gathering) is the agent's alone: the session passes
/// on what it is told and signals what the agent says.
/// <para>
/// Its states carry their data: <see cref="Checking"/> (no connection yet; a secure session learns the peer's
/// fingerprint and its DTLS role), then on a plain session <see cref="Carrying"/> (data on the connection), on a secure
/// one <see cref="Securing"/> (the DTLS handshake on the first valid pair), <see cref="Secured"/> (the SCTP association
/// being set up) and <see cref="Associated"/> (data channels, <see cref="SessionChannels"/>); <see cref="Closing"/>
/// once the owner closed it. ICE goes on in every state but the last: a restart keeps the state it happens in.
/// </para>
/// </summary>
public sealed class Session : ReceiveActor, IWithTimers
{
    /// <summary>The channel the session's own Send/DataReceived travel on, opened by the DTLS client.</summary>
    public const string DefaultChannel = "p2p";

    /// <summary>How many faults <see cref="SessionProtocol.GetFaults"/> lists (a session lives long: the oldest go).</summary>
    public const int FaultsKept = 100;

    private readonly IceSettings _settings;
    private readonly DtlsSettings _dtlsSettings;
    private readonly SctpSettings _sctpSettings;
    private readonly string _sessionId;
    private readonly IActorRef _owner;
    private readonly IActorRef _peer;
    private readonly IUdpWriter? _socket;
    private readonly uint _sessionTag;
    private readonly DtlsCertificate? _certificate;
    private readonly SetupAttribute _localSetup;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SessionChannels _channels;
    private readonly ChildFaultDecider _faultDecider;
    private readonly Queue<SessionProtocol.ChildFault> _faults = new();
    private int _faultCount;

    // ICE, in every state: the agent, which owns ICE's data (IceAgentState) and restarts ICE itself
    private readonly IActorRef _ice;
    private readonly List<string> _problems = [];
    private uint? _remoteSessionTag; // the remote multiplexes sessions on its socket: our datagrams carry this tag
    private NatReport? _localNat; // RFC 5780 discovery's report of our NAT (from the LocalPeer); the remote's comes in _remoteWithNat
    private bool _restarting, _failed;
    private bool _awaitingRelayCheck; // consent on a relayed pair was lost: the restart waits for the LocalPeer's RelayChecked
    private IceCandidate? _selectedRelay; // the local relay candidate of the pair selected last, if it was relayed

    // port prediction (Ice/PortPrediction): the remote's first description that carried its report (a=x-p2p-nat)
    private IceCredentials _credentials; // the current ones: renewed by an ICE restart
    private readonly ulong _tieBreaker;
    private readonly bool _controlling;
    private readonly PortPredictionSettings _predictionSettings;
    private readonly IUdpSocketFactory? _predictionSockets;
    private IceDescription? _remoteWithNat;
    private bool _natUpdatePending; // our report came after our description went out, before the remote showed it is one of ours
    private IActorRef? _prediction;
    private string? _predictionNote; // why prediction does not run, once decided

    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private long _firstCandidateAt, _dataPathAt, _iceConnectedAt, _dtlsConnectedAt, _associatedAt;

    /// <summary>What the peer's description settled for DTLS (RFC 8842, RFC 5763): its certificate's fingerprint and this side's role.</summary>
    private sealed record Security(CertificateFingerprint RemoteFingerprint, DtlsRole Role);

    /// <summary>
    /// The connection and the pairs it runs on: <see cref="StartedOn"/> is the valid pair a secure session's connection
    /// began on, until the first selection; <see cref="Selected"/> is ICE's selection, null until there is one.
    /// </summary>
    private sealed class Link(IActorRef connection, ConnectionPath path)
    {
        public IActorRef Connection { get; } = connection;
        public ConnectionPath Path { get; } = path;
        public SelectedPair? StartedOn { get; set; }
        public SelectedPair? Selected { get; set; }
    }

    /// <summary>The DTLS transport of a secure session on its link, and this side's role in it.</summary>
    private sealed record Secure(Link Link, IActorRef Dtls, DtlsRole Role);

    /// <summary>After the DTLS handshake: the SCTP association over it, and the peer's verified certificate fingerprint.</summary>
    private sealed record Association(Secure Secure, IActorRef Sctp, string RemoteFingerprint)
    {
        public Link Link => Secure.Link;
    }

    public Session(IceSettings settings, string sessionId, IceCredentials credentials, bool controlling, uint sessionTag, IActorRef peer, IActorRef owner,
        DtlsCertificate? certificate, IUdpWriter? socket, DtlsSettings? dtlsSettings = null, SctpSettings? sctpSettings = null,
        NatReport? nat = null, IUdpSocketFactory? predictionSockets = null, PortPredictionSettings? prediction = null)
    {
        _localNat = nat;
        _credentials = credentials;
        _controlling = controlling;
        _predictionSockets = predictionSockets;
        _predictionSettings = prediction ?? PortPredictionSettings.OrDefault(Context.System.Settings.Config);
        _socket = socket;
        _certificate = certificate;
        _localSetup = controlling ? SetupAttribute.ActPass : SetupAttribute.Active; // the side that opens offers; RFC 5763 §5
        _settings = settings;
        _dtlsSettings = dtlsSettings ?? DtlsSettings.OrDefault(Context.System.Settings.Config);
        _sctpSettings = sctpSettings ?? SctpSettings.OrDefault(Context.System.Settings.Config);
        _sessionId = sessionId;
        _owner = owner;
        _peer = peer;
        _sessionTag = sessionTag;
        _channels = new SessionChannels(sessionId);
        _faultDecider = new ChildFaultDecider(Context.System.Scheduler, _log, settings.ChildFaultsPerMinute);
        ulong tieBreaker = _tieBreaker = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        _ice = Context.ActorOf(SessionMailbox.For(IceAgent.Props(settings, sessionId, credentials, controlling, tieBreaker, sessionTag, peer), Context.System), AgentName);
        _faultDecider.Supervise(_ice, "ICE agent", sessionId);
        _owner.Tell(new SessionProtocol.Started(_sessionId, Self, credentials) { IceLite = _settings.Lite, Description = Describe(credentials, []) });
        Become(() => Checking(security: null)); // not registered as the constructor's handlers, which ReceiveActor would keep for the session's whole life
    }

    /// <summary>The name of the session's <see cref="IceAgent"/>.</summary>
    public const string AgentName = "ice";

    /// <param name="certificate">The peer's DTLS certificate for a secure session; null for plain datagrams.</param>
    /// <param name="socket">The peer's socket, written directly by the session's connection while its pair is not relayed (see <see cref="ConnectionPath"/>); null: always through the peer.</param>
    /// <param name="dtls">The DTLS settings of a secure session; null: p2p.dtls of the actor system's configuration.</param>
    /// <param name="sctp">The SCTP settings of a secure session; null: p2p.sctp of the actor system's configuration.</param>
    /// <param name="predictionSockets">Where port prediction's extra sockets come from (the LocalPeer's factory); null: this side never opens them.</param>
    /// <param name="prediction">Port prediction's limits; null: p2p.ice.port-prediction of the actor system's configuration.</param>
    public static Props Props(IceSettings settings, string sessionId, IceCredentials credentials, bool controlling, uint sessionTag, IActorRef peer, IActorRef owner,
        DtlsCertificate? certificate = null, IUdpWriter? socket = null, DtlsSettings? dtls = null, SctpSettings? sctp = null,
        NatReport? nat = null, IUdpSocketFactory? predictionSockets = null, PortPredictionSettings? prediction = null) =>
        Akka.Actor.Props.Create(() => new Session(settings, sessionId, credentials, controlling, sessionTag, peer, owner, certificate, socket, dtls, sctp, nat, predictionSockets, prediction));

    public ITimerScheduler Timers { get; set; } = null!;

    // ---- the states ---------------------------------------------------------------------------------------------

    /// <summary>
    /// No connection yet. A secure session needs the peer's fingerprint and a compatible a=setup from its description
    /// (<paramref name="security"/>, null until then), and starts the connection and the DTLS handshake on the first
    /// valid pair; a plain session starts its connection when ICE selects a pair.
    /// </summary>
    private void Checking(Security? security)
    {
        Receive<SessionProtocol.SetRemoteDescription>(m =>
        {
            if (_certificate is not null && security is null)
            {
                if (!TryAcceptSecurity(m.Description, out var accepted)) return;
                Become(() => Checking(accepted));
            }
            OnRemoteDescription(m);
        });
        Receive<IceAgentProtocol.PairValid>(_ => security is not null, m => OnPairValid(m.Pair, security!));
        Receive<IceAgentProtocol.Connected>(m =>
        {
            var link = StartConnection(m.Pair, security);
            link.StartedOn = m.Pair; // begun on the selection itself: nothing to switch
            var secure = security is null ? null : new Secure(link, StartDtls(link, security), security.Role);
            OnSelected(link, m.Pair, dtlsFingerprint: null);
            if (secure is null) Become(() => Carrying(link));
            else Become(() => Securing(secure));
        });
        Receive<IceTransportProtocol.Inbound>(m =>
        {
            if (PacketDemultiplexer.Classify(m.Payload.Span) == PacketKind.Stun) ToAgent(m);
        });
        Receive<SessionProtocol.Send>(m =>
        {
            if (_certificate is not null) _channels.Send(m.Data); // kept for the default channel: it cannot be open yet
            else _log.Warning("[{0}] dropped {1} bytes to send: not connected", _sessionId, m.Data.Length);
        });
        Receive<SessionProtocol.GetConnectionInfo>(_ => Sender.Tell(new SessionProtocol.NotConnected(_sessionId)));
        Receive<SessionProtocol.Close>(_ => CloseNow());
        ChannelsWaiting();
        Common();
    }

    /// <summary>A plain session: its data goes on the connection, on whatever pair ICE selects.</summary>
    private void Carrying(Link link)
    {
        Receive<SessionProtocol.Send>(m => link.Connection.Tell(new DatagramProtocol.Send(m.Data)));
        Receive<SessionProtocol.Close>(_ => CloseNow());
        ChannelsWaiting();
        Linked(link, dtlsFingerprint: null);
        Common(connection: link.Connection);
    }

    /// <summary>A secure session's DTLS handshake runs over the connection; channel commands and data wait for the association.</summary>
    private void Securing(Secure secure)
    {
        Receive<DtlsProtocol.Connected>(m =>
        {
            _dtlsConnectedAt = Stopwatch.GetTimestamp();
            _peer.Tell(new LocalPeerProtocol.SessionSecured()); // its place to check goes to the next session (CheckAdmission)
            var sctp = _sctpSettings with { MaxPacketSize = Math.Min(_sctpSettings.MaxPacketSize, m.MaxPayload), PmtuProbeMax = Math.Min(_sctpSettings.PmtuProbeMax, m.MaxPayload) };
            // the association writes to the DTLS transport and reads from it directly: no hop through this actor per packet
            var association = Context.ActorOf(SctpAssociation.Props(sctp, secure.Dtls, Self, secure.Role == DtlsRole.Client), "sctp");
            _faultDecider.Supervise(association, "SCTP association", _sessionId);
            secure.Dtls.Tell(new DatagramProtocol.Attach(association));
            // Both ends send INIT, whatever their DTLS role: libwebrtc (usrsctp/dcsctp) does the same, and
            // werift picks its SCTP initiator by ICE role (controlling sends INIT), so with a controlled
            // werift that is the DTLS client nobody would start. A crossing INIT is an ordinary collision (RFC 9260 §5.2.1).
            association.Tell(SctpProtocol.Associate.Instance);
            _log.Info("[{0}] DTLS up ({1}), peer certificate {2}", _sessionId, m.CipherSuite, m.RemoteFingerprint);
            if (secure.Link.Selected is { } pair) _owner.Tell(new SessionProtocol.Connected(_sessionId, pair) { RemoteFingerprint = m.RemoteFingerprint });
            Become(() => Secured(new Association(secure, association, m.RemoteFingerprint)));
        });
        Receive<SessionProtocol.Send>(m => _channels.Send(m.Data)); // kept for the default channel
        Receive<SessionProtocol.Close>(_ => CloseSecure(secure));
        ChannelsWaiting();
        Linked(secure.Link, dtlsFingerprint: null);
        Common(secure.Link.Connection, secure.Dtls);
    }

    /// <summary>DTLS is up and the SCTP association is being set up over it: channel commands still wait for it.</summary>
    private void Secured(Association a)
    {
        Receive<SctpProtocol.AssociationEstablished>(_ =>
        {
            _associatedAt = Stopwatch.GetTimestamp();
            // the DTLS client opens the session's default channel, which carries Send/DataReceived
            if (a.Secure.Role == DtlsRole.Client) a.Sctp.Tell(new SctpProtocol.OpenChannel(DefaultChannel));
            foreach (var waiting in _channels.TakeWaiting()) Self.Tell(waiting, _owner);
            Become(() => Associated(a));
        });
        ChannelsWaiting();
        AssociationEvents(a);
    }

    /// <summary>The association is up: data channels open, carry messages and close (<see cref="SessionChannels"/>).</summary>
    private void Associated(Association a)
    {
        Receive<SessionProtocol.OpenChannel>(m => Apply(_channels.Open(m), a.Sctp));
        Receive<SessionProtocol.SendOnChannel>(m => Apply(_channels.SendOn(m), a.Sctp));
        AssociationEvents(a);
    }

    /// <summary>Closed by the owner: waiting for close_notify to leave through the connection, then stopping.</summary>
    private void Closing(IActorRef connection)
    {
        Receive<DtlsProtocol.CloseSent>(_ =>
        {
            Context.Watch(connection);
            connection.Tell(PoisonPill.Instance); // after the alert already in its mailbox
        });
        Receive<Terminated>(t => t.ActorRef.Equals(connection), _ => Context.Stop(Self));
        ReceiveAny(_ => { });
        Timers.StartSingleTimer("closing", PoisonPill.Instance, TimeSpan.FromSeconds(2)); // whatever happens
    }

    // ---- what several states share ------------------------------------------------------------------------------

    /// <summary>The SCTP association's events, and what the secured states share.</summary>
    private void AssociationEvents(Association a)
    {
        // a record DTLS decrypted before the association was attached to it
        Receive<DatagramProtocol.Received>(_ => Sender.Equals(a.Secure.Dtls), m => a.Sctp.Tell(m));
        Receive<SctpProtocol.ChannelOpening>(_channels.Opening);
        Receive<SctpProtocol.ChannelOpened>(m =>
        {
            var opened = _channels.Opened(m, out var toSctp);
            foreach (var send in toSctp) a.Sctp.Tell(send);
            if (opened is not null) _owner.Tell(opened);
        });
        Receive<SctpProtocol.ChannelOpenFailed>(m => _owner.Tell(new SessionProtocol.ChannelError(_sessionId, m.Label, m.Reason)));
        Receive<SctpProtocol.MessageReceived>(m =>
        {
            if (_channels.Received(m) is { } received) _owner.Tell(received);
        });
        Receive<SctpProtocol.SendFailed>(m => _owner.Tell(_channels.SendFailed(m)));
        Receive<SctpProtocol.ChannelClosed>(m =>
        {
            if (_channels.Closed(m) is { } closed) _owner.Tell(closed);
        });
        Receive<SctpProtocol.AssociationAborted>(m =>
        {
            if (m.ByPeer && m.UserInitiated) ClosedByPeer($"the peer closed the session ({m.Reason})");
            else Fail($"the data channel association was aborted: {m.Reason}");
        });
        Receive<SctpProtocol.AssociationClosed>(_ => ClosedByPeer("the peer closed the data channel association"));
        Receive<SessionProtocol.Send>(m =>
        {
            // on the default data channel (reliable, ordered), once it is open
            if (_channels.Send(m.Data) is { } send) a.Sctp.Tell(send);
        });
        Receive<SessionProtocol.Close>(_ => CloseSecure(a.Secure));
        Linked(a.Link, a.RemoteFingerprint, a.Sctp);
        Common(a.Link.Connection, a.Secure.Dtls, a.Sctp);
    }

    /// <summary>
    /// Before the association: channel commands wait for it on a secure session (handled again once it is up), and
    /// are refused on a plain one, which has no channels.
    /// </summary>
    private void ChannelsWaiting()
    {
        Receive<SessionProtocol.OpenChannel>(m => WaitForChannels(m, m.Label));
        Receive<SessionProtocol.SendOnChannel>(m => WaitForChannels(m, m.Label));
    }

    private void WaitForChannels(object command, string label)
    {
        if (_certificate is null)
            _owner.Tell(new SessionProtocol.ChannelError(_sessionId, label, "data channels need a secure session (DTLS and SCTP); this one is plain"));
        else _channels.WaitForAssociation(command);
    }

    private void Apply(SessionChannels.Step step, IActorRef? sctp)
    {
        if (step.ToSctp is not null) sctp?.Tell(step.ToSctp);
        if (step.ToOwner is not null) _owner.Tell(step.ToOwner);
    }

    /// <summary>Every state with a connection: packets and consent go to it, ICE's selections switch its pair, and a lost consent restarts ICE.</summary>
    /// <param name="dtlsFingerprint">The peer's verified fingerprint once DTLS is up; a secure session tells its owner Connected only then.</param>
    /// <param name="sctp">The association of a session that has one: a restart's new selection tells it the path changed.</param>
    private void Linked(Link link, string? dtlsFingerprint, IActorRef? sctp = null)
    {
        Receive<SessionProtocol.SetRemoteDescription>(OnRemoteDescription);
        Receive<IceAgentProtocol.Connected>(m => OnSelected(link, m.Pair, dtlsFingerprint, sctp));
        // up from the connection of a plain session
        Receive<DatagramProtocol.Received>(_ => Sender.Equals(link.Connection), m => _owner.Tell(new SessionProtocol.DataReceived(_sessionId, m.Datagram)));
        // packets from the LocalPeer: STUN to the agent, the rest to the connection
        Receive<IceTransportProtocol.Inbound>(m =>
        {
            if (PacketDemultiplexer.Classify(m.Payload.Span) == PacketKind.Stun) ToAgent(m);
            else link.Connection.Forward(m);
        });
        Receive<PairCheckerProtocol.ConsentConfirmed>(m => link.Connection.Forward(m));
        Receive<ConnectionProtocol.ConsentLost>(m =>
        {
            if (_restarting) return; // the restart under way is the answer already
            _log.Warning("[{0}] {1}; restarting ICE", _sessionId, m.Reason);
            _owner.Tell(new SessionProtocol.Disconnected(_sessionId, m.Reason));
            _restarting = true;
            // a relayed pair: its relay may be gone (killed, or its fleet node down); the LocalPeer checks the allocation, and
            // replaces it from the configured server when a fleet had sent it elsewhere, before the restart pairs candidates
            _awaitingRelayCheck = link.Selected is { Local.Type: CandidateType.Relayed };
            if (_awaitingRelayCheck) _peer.Tell(new LocalPeerProtocol.RelayedPathLost(link.Selected!.Local));
            else _ice.Tell(IceAgentProtocol.Restart.Instance);
        });
        Receive<SessionProtocol.RelayChecked>(_ =>
        {
            if (!_awaitingRelayCheck) return; // the remote restarted meanwhile: that restart is the answer
            _awaitingRelayCheck = false;
            _ice.Tell(IceAgentProtocol.Restart.Instance);
        });
        Receive<SessionProtocol.GetConnectionInfo>(_ => link.Connection.Forward(new ConnectionProtocol.GetInfo()));
    }

    /// <summary>Every state but closing: ICE's candidates and events, diagnostics, faults, and the peer's closing.</summary>
    private void Common(IActorRef? connection = null, IActorRef? dtls = null, IActorRef? sctp = null)
    {
        Receive<SessionProtocol.LocalCandidatesGathered>(m =>
        {
            if (_firstCandidateAt == 0 && m.Candidates.Count > 0) _firstCandidateAt = Stopwatch.GetTimestamp();
            var candidates = Mdns.Publish(m.Candidates); // mDNS: host candidates under their names with p2p.ice.mdns = publish
            _ice.Tell(new IceAgentProtocol.AddLocalCandidates(candidates));
            foreach (var c in candidates) _owner.Tell(new SessionProtocol.LocalCandidate(_sessionId, c));
        });
        Receive<SessionProtocol.LocalGatheringComplete>(_ => _ice.Tell(new IceAgentProtocol.LocalGatheringComplete()));
        Receive<PairCheckerProtocol.LocalCandidatesComplete>(m => _owner.Tell(
            new SessionProtocol.LocalDescription(_sessionId, Describe(m.Credentials, m.Candidates) with { EndOfCandidates = true })));
        Receive<PairCheckerProtocol.Restarted>(m => OnRestarted(m, connection));
        Receive<SessionProtocol.GatheringProblem>(m => _problems.Add(m.Reason));
        Receive<SessionProtocol.GetNat>(_ => Sender.Tell(new SessionProtocol.NatReports(_sessionId, _localNat, _remoteWithNat?.Nat)));
        PortPredictionEvents();
        Receive<SessionProtocol.RelayedCandidateReplaced>(OnRelayedCandidateReplaced);
        // before RelayChecked, which the LocalPeer sends after it: the restart neither pairs nor signals the dead candidate
        Receive<SessionProtocol.RelayedCandidateLost>(m => _ice.Tell(new IceAgentProtocol.RemoveLocalCandidate(m.Lost)));
        Receive<SessionProtocol.AddRemoteCandidate>(m => { if (!Mdns.Take(m.Candidate)) _ice.Tell(new IceAgentProtocol.AddRemoteCandidate(m.Candidate)); });
        Receive<SessionProtocol.RemoteEndOfCandidates>(_ => { if (!Mdns.HoldEndOfCandidates()) _ice.Tell(new IceAgentProtocol.RemoteGatheringComplete()); });
        MdnsAnswers();
        Receive<IceAgentProtocol.Failed>(m => Fail(_problems.Count == 0 ? m.Reason : $"{m.Reason}; {string.Join("; ", _problems)}"));
        Receive<DtlsProtocol.Failed>(m => Fail(m.Reason));
        Receive<DtlsProtocol.Closed>(_ => ClosedByPeer("the peer closed the DTLS association"));
        Receive<PairCheckerProtocol.CheckConsent>(m => _ice.Tell(m));
        Receive<SessionProtocol.GetPairs>(_ => _ice.Forward(new PairCheckerProtocol.GetPairs()));
        Receive<PairCheckerProtocol.GetStats>(m => _ice.Forward(m));
        Receive<SessionProtocol.GetTimeline>(_ => Sender.Tell(
            new SessionProtocol.Timeline(_sessionId, _startedAt, _firstCandidateAt, _dataPathAt, _iceConnectedAt, _dtlsConnectedAt, _associatedAt)));
        Receive<InjectFault>(m =>
        {
            // the session itself (its LocalPeer supervises it), or the child of the target's role (the agent hands the pair checker's on)
            IActorRef? child = m.Target switch
            {
                FaultTarget.Receiver => throw new InjectedFaultException(m.Reason),
                FaultTarget.Agent or FaultTarget.PairChecker => _ice,
                FaultTarget.Connection => connection,
                FaultTarget.Dtls => dtls,
                _ => sctp,
            };
            if (child is null) _log.Warning("[{0}] no {1} to inject a fault into yet", _sessionId, m.Target);
            else child.Tell(m);
        });
        Receive<SessionProtocol.GetFaults>(_ => Sender.Tell(new SessionProtocol.Faults(_sessionId, _faults.ToList(), _faultCount)));
        Receive<SessionProtocol.ChildStopped>(m => Fail(m.Reason));
        // the session's data channels are closed on the association; before it no label is open (an error to the owner)
        Receive<SessionProtocol.CloseChannel>(m => Apply(_channels.Close(m), sctp));
        // a pair valid once the connection has begun (or on a plain session), a consent confirmation or data without a receiver yet: dropped
        Receive<IceAgentProtocol.PairValid>(_ => { });
        Receive<PairCheckerProtocol.ConsentConfirmed>(_ => { });
        Receive<DatagramProtocol.Received>(_ => { });
    }

    /// <summary>Closed by the owner before there is a DTLS association to close: the session stops at once.</summary>
    private void CloseNow()
    {
        _owner.Tell(new SessionProtocol.Closed(_sessionId));
        Context.Stop(Self);
    }

    /// <summary>
    /// Closed by the owner: tell the peer (close_notify) before going. The alert must leave through the connection,
    /// which a stop of this actor would end before it had sent it: the connection goes after what it was given, then us.
    /// </summary>
    private void CloseSecure(Secure secure)
    {
        _owner.Tell(new SessionProtocol.Closed(_sessionId));
        secure.Dtls.Tell(DtlsProtocol.Close.Instance);
        Become(() => Closing(secure.Link.Connection));
    }

    // ---- supervision --------------------------------------------------------------------------------------------

    /// <summary>
    /// None of the session's children can be rebuilt from its Props without losing what the remote peer shares with it:
    /// the agent its candidates, credentials and selected pair; the connection the pair it switched to and the DTLS
    /// transport it feeds; the DTLS transport its handshake and keys (a restart would send close_notify and start a
    /// handshake the peer does not expect); the SCTP association its TSNs, streams and channels. So none is restarted
    /// (the one child that can be rebuilt, the agent's pair checker, is restarted by the agent and rebuilds from the
    /// agent's data). A child that throws while handling one message (a bug, or an input its code did not expect) is resumed: that message is
    /// dropped, its state is kept, and the fault is logged and counted (<see cref="SessionProtocol.GetFaults"/>). A child
    /// that keeps throwing (more than <see cref="IceSettings.ChildFaultsPerMinute"/> within a minute), or that cannot be
    /// resumed (it failed to start, or was killed), is stopped, and the session fails with a reason the owner can show.
    /// The policy is <see cref="ChildFaultDecider"/>'s, the LocalPeer's for its sessions too.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new PerChildStrategy(Decide);

    private Directive Decide(IActorRef child, Exception cause)
    {
        if (!_faultDecider.TryDecide(child, cause, out var decision, stoppedNote: "; the session cannot go on without it"))
            return Akka.Actor.SupervisorStrategy.DefaultDecider.Decide(cause);
        bool resumed = decision.Directive == Directive.Resume;
        Record(new SessionProtocol.ChildFault(child.Path.Name, decision.Reason, resumed ? "resumed" : "stopped"));
        if (!resumed) Self.Tell(new SessionProtocol.ChildStopped(decision.StoppedBecause($"the session's {decision.Role}")));
        return decision.Directive;
    }

    private void Record(SessionProtocol.ChildFault fault)
    {
        _faultCount++;
        if (_faults.Count == FaultsKept) _faults.Dequeue();
        _faults.Enqueue(fault);
    }

    // ---- ICE ----------------------------------------------------------------------------------------------------

    /// <summary>This side's description: credentials, options, and for a secure session the fingerprint and a=setup (RFC 8842).</summary>
    private IceDescription Describe(IceCredentials credentials, IReadOnlyList<IceCandidate> candidates) => new(credentials, candidates)
    {
        Options = ["trickle"],
        IceLite = _settings.Lite,
        Pacing = _settings.Ta,
        SessionTag = _sessionTag,
        Nat = AnnouncedNat,
        FingerprintAlgorithm = _certificate is null ? null : _certificate.Fingerprint.Algorithm,
        Fingerprint = _certificate?.Fingerprint.Hex,
        Setup = _certificate is null ? null : DtlsSetup.Format(_localSetup),
    };

    /// <summary>
    /// The peer ended the session cleanly: this side ends too (its owner hears <see cref="SessionProtocol.Closed"/> with
    /// the reason, and its actors stop, which frees its routes in the LocalPeer), instead of waiting for consent to run out.
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
        _peer.Tell(new LocalPeerProtocol.SessionSecured());
        _log.Warning("[{0}] session failed: {1}", _sessionId, reason);
        _owner.Tell(new SessionProtocol.Failed(_sessionId, reason));
    }

    /// <summary>The remote's description goes to the agent, which also tells from its credentials whether the remote restarted ICE.</summary>
    private void OnRemoteDescription(SessionProtocol.SetRemoteDescription m)
    {
        _remoteSessionTag ??= m.Description.SessionTag;
        if (_natUpdatePending && _remoteSessionTag is not null) SendNatUpdate();
        if (m.Description.Nat is not null && _remoteWithNat is null)
        {
            _remoteWithNat = m.Description;
            MaybePredict();
        }
        _ice.Tell(new IceAgentProtocol.SetRemoteDescription(Mdns.Strip(m.Description)));
    }

    /// <summary>
    /// A secure session needs the peer's certificate fingerprint and a compatible a=setup (RFC 8842, RFC 5763);
    /// without a fingerprint the peer is most likely the original plain program.
    /// </summary>
    private bool TryAcceptSecurity(IceDescription remote, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Security? security)
    {
        security = null;
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
        if (!DtlsSetup.TryResolveRole(_localSetup, remoteSetup, isOfferer: _localSetup == SetupAttribute.ActPass, out var role, out var roleError))
        {
            Fail($"DTLS roles do not fit: {roleError}");
            return false;
        }
        security = new Security(fingerprint, role);
        return true;
    }

    /// <summary>
    /// The agent restarted ICE (RFC 8445 §9; asked here after consent was lost, or because the remote restarted): the
    /// LocalPeer routes the new ufrag here, the connection stays and waits for the new selection, and the owner signals
    /// the new credentials and the candidates to the remote.
    /// </summary>
    private void OnRestarted(PairCheckerProtocol.Restarted m, IActorRef? connection)
    {
        _predictionNote ??= "ICE restarted before port prediction could begin";
        _prediction?.Tell(new PortPredictionProtocol.Stop("ICE restarted"));
        _peer.Tell(new LocalPeerProtocol.CredentialsChanged(m.Credentials.Ufrag));
        // a restart the remote began (its relay or path died, maybe ours too): when our last pair was relayed, the LocalPeer
        // checks that allocation as well, and a replacement candidate joins this restart when it comes
        if (!_awaitingRelayCheck && _selectedRelay is { } relay) _peer.Tell(new LocalPeerProtocol.RelayedPathLost(relay));
        _awaitingRelayCheck = false;
        _credentials = m.Credentials;
        _restarting = true;
        connection?.Tell(new ConnectionProtocol.ResetConsent());
        _owner.Tell(new SessionProtocol.Restarted(_sessionId, m.Credentials));
        foreach (var c in m.Candidates) _owner.Tell(new SessionProtocol.LocalCandidate(_sessionId, c));
    }

    /// <summary>
    /// The relay candidate's allocation was dropped by the TURN server and a new one made: the new candidate is trickled
    /// to the remote and the agent pairs it with the remote candidates (RFC 8838 §4: pairs are formed as candidates
    /// arrive; the old candidate's pairs fail, as its data has no route any more). An ICE restart later uses it instead
    /// of the old one. A session already connected on another path is not disturbed.
    /// </summary>
    private void OnRelayedCandidateReplaced(SessionProtocol.RelayedCandidateReplaced m)
    {
        _log.Info("[{0}] relay candidate {1} replaces {2}, whose allocation the TURN server dropped", _sessionId, m.New.Address, m.Old.Address);
        _ice.Tell(new IceAgentProtocol.ReplaceLocalCandidate(m.Old, m.New));
        _owner.Tell(new SessionProtocol.LocalCandidate(_sessionId, m.New));
    }

    // ---- port prediction (Ice/PortPrediction; p2p.ice.port-prediction): once both NAT reports are known ----------

    private void PortPredictionEvents()
    {
        Receive<SessionProtocol.LocalNatReport>(m =>
        {
            bool late = _localNat is null; // our description went out without it (Started carries it when it came first)
            _localNat = m.Report;
            if (late)
            {
                if (_remoteSessionTag is not null) SendNatUpdate();
                else _natUpdatePending = true;
            }
            MaybePredict();
        });
        // the hard side's socket a probe met: a local candidate of the agent (not signalled: its address is private)
        Receive<PortPredictionProtocol.Found>(m => _ice.Tell(new IceAgentProtocol.AddLocalCandidates([m.Candidate])));
        Receive<PortPredictionProtocol.GetStats>(m =>
        {
            if (_prediction is { } prediction) prediction.Forward(m);
            else Sender.Tell(PortPredictionProtocol.Stats.NotRun(_predictionNote ?? "not decided yet: a NAT report is missing (ours, or the remote's a=x-p2p-nat)"));
        });
    }

    /// <summary>
    /// Our report as the remote learns it and as our own decision reads it: we take part in port prediction only when the
    /// report says so and this session's setting allows it.
    /// </summary>
    private NatReport? AnnouncedNat => _localNat is { } nat ? (_predictionSettings.Enabled ? nat : nat with { PortPrediction = false }) : null;

    /// <summary>Our report came after our description: the owner sends it to the remote (<see cref="SessionProtocol.LocalNatReported"/>).</summary>
    private void SendNatUpdate()
    {
        _natUpdatePending = false;
        _owner.Tell(new SessionProtocol.LocalNatReported(_sessionId, new IceDescription(_credentials, []) { SessionTag = _sessionTag, Nat = AnnouncedNat }));
    }

    /// <summary>Decides (<see cref="PredictionPlan"/>) once this side's report and the remote's are both known; starts the prediction when this side has a role.</summary>
    private void MaybePredict()
    {
        // our side of the decision is the report the remote got (AnnouncedNat): both sides decide from the same two
        if (_prediction is not null || _predictionNote is not null || AnnouncedNat is not { } local || _remoteWithNat?.Nat is not { } remote) return;
        var decision = PredictionPlan.Decide(local, remote);
        if (!decision.Runs)
        {
            _predictionNote = decision.Reason;
            _log.Info("[{0}] no port prediction: {1}", _sessionId, decision.Reason);
            return;
        }
        var hard = decision.Role == PredictionRole.OpenMappings ? local : remote;
        var start = new PortPredictionProtocol.Start(_credentials, _remoteWithNat.Credentials, _controlling, _tieBreaker, _sessionTag, hard.PublicAddress!);
        _prediction = Context.ActorOf(PortPrediction.Props(_predictionSettings, _sessionId, decision, start, _peer, _ice, _predictionSockets,
            _predictionSettings.Seed), "port-prediction");
        _faultDecider.Supervise(_prediction, "port prediction", _sessionId);
        _ice.Tell(PairCheckerProtocol.UpgradeFromRelay.Instance); // a relayed selection moves to the direct pair once found
    }

    /// <summary>STUN for the agent, but the answers to port prediction's probes, which its prediction sent.</summary>
    private void ToAgent(IceTransportProtocol.Inbound m)
    {
        if (_prediction is { } prediction && PortPrediction.IsProbeAnswer(m.Payload.Span, _sessionTag)) prediction.Forward(m);
        else _ice.Forward(m);
    }

    private static bool SamePath(SelectedPair a, SelectedPair b) =>
        a.Local.Address.Equals(b.Local.Address) && a.Remote.Address.Equals(b.Remote.Address) && a.Local.Type == b.Local.Type;

    // ---- mDNS candidates (p2p.ice.mdns; Mdns/MdnsCandidates): a remote ".local" candidate reaches the agent once --
    // ---- resolved, as an ordinary AddRemoteCandidate; end-of-candidates waits for it at most the resolve timeout ----

    private MdnsCandidates? _mdns;

    private MdnsCandidates Mdns => _mdns ??= new MdnsCandidates(_settings.Mdns, _sessionId, () => MdnsExtension.Get(Context.System).Responder, Self, _log);

    private void MdnsAnswers()
    {
        Receive<MdnsProtocol.Resolved>(m =>
        {
            var (candidates, endOfCandidates) = Mdns.OnResolved(m);
            foreach (var c in candidates) _ice.Tell(new IceAgentProtocol.AddRemoteCandidate(c));
            if (endOfCandidates) _ice.Tell(new IceAgentProtocol.RemoteGatheringComplete());
        });
        Receive<MdnsProtocol.Unresolved>(m =>
        {
            if (Mdns.OnUnresolved(m)) _ice.Tell(new IceAgentProtocol.RemoteGatheringComplete());
        });
    }

    // ---- the connection -----------------------------------------------------------------------------------------

    /// <summary>
    /// A secure session starts its connection and DTLS handshake on the first valid pair, before ICE selects one: RFC
    /// 8445 §8.1.1 lets data go on any valid pair without nomination, and the controlling agent's nomination waits Ta
    /// after its last check, time the handshake would otherwise spend waiting too (libwebrtc does the same). The owner
    /// still hears Connected once both the handshake is done and a pair is selected; a selected pair that differs
    /// from this one takes over the connection (<see cref="ConnectionProtocol.SwitchPair"/>). A plain session waits
    /// for the selection: nothing would go on the pair before its owner hears Connected anyway.
    /// </summary>
    private void OnPairValid(SelectedPair pair, Security security)
    {
        if (_dataPathAt == 0) _dataPathAt = Stopwatch.GetTimestamp();
        var link = StartConnection(pair, security);
        var secure = new Secure(link, StartDtls(link, security), security.Role);
        link.StartedOn = pair;
        _peer.Tell(new LocalPeerProtocol.DataPathSelected(pair.Remote.Address, link.Connection, link.Path));
        _log.Info("[{0}] DTLS starts over the valid pair {1} while ICE nominates", _sessionId, pair);
        Become(() => Securing(secure));
    }

    /// <summary>The connection on <paramref name="pair"/>; with <paramref name="security"/>, only DTLS goes up from it (RFC 7983: STUN goes to the agent before it).</summary>
    private Link StartConnection(SelectedPair pair, Security? security)
    {
        var path = new ConnectionPath(_socket, security is null ? null : PacketKind.Dtls);
        var connection = Context.ActorOf(SessionMailbox.For(Connection.Props(_settings, _sessionId, pair, _peer, _remoteSessionTag, path), Context.System), "connection");
        _faultDecider.Supervise(connection, "connection", _sessionId);
        return new Link(connection, path);
    }

    /// <summary>The DTLS association rides on whatever pair is selected: it survives path switches and ICE restarts.</summary>
    private IActorRef StartDtls(Link link, Security security)
    {
        var dtls = Context.ActorOf(DtlsTransport.Props(security.Role, _certificate!, security.RemoteFingerprint, new DatagramLink(link.Connection, link.Path), _dtlsSettings, Self), "dtls");
        _faultDecider.Supervise(dtls, "DTLS transport", _sessionId);
        link.Connection.Tell(new DatagramProtocol.Attach(dtls));
        return dtls;
    }

    /// <summary>ICE selected <paramref name="pair"/> (first, or again after a restart or a better nomination): the connection runs on it from now.</summary>
    private void OnSelected(Link link, SelectedPair pair, string? dtlsFingerprint, IActorRef? sctp = null)
    {
        // after an ICE restart (consent lost, a relay gone) the association's timers were backing off on a dead path
        if (_restarting) sctp?.Tell(SctpProtocol.PathChanged.Instance);
        link.Selected = pair;
        _selectedRelay = pair.Local.Type == CandidateType.Relayed ? pair.Local : null;
        _restarting = false;
        if (_iceConnectedAt == 0) _iceConnectedAt = Stopwatch.GetTimestamp();
        if (_dataPathAt == 0) _dataPathAt = _iceConnectedAt;
        if (link.StartedOn is not { } valid || !SamePath(valid, pair)) link.Connection.Tell(new ConnectionProtocol.SwitchPair(pair));
        link.StartedOn = null; // from now on every selection (a restart's too) is told to the connection
        if (pair.Local.Type != CandidateType.Relayed && pair.Remote.Type != CandidateType.Relayed) _prediction?.Tell(new PortPredictionProtocol.DirectPairSelected(pair));
        _peer.Tell(new LocalPeerProtocol.DataPathSelected(pair.Remote.Address, link.Connection, link.Path));
        _log.Info("[{0}] connected over {1}", _sessionId, pair);
        if (_certificate is null) _owner.Tell(new SessionProtocol.Connected(_sessionId, pair));
        else if (dtlsFingerprint is not null) _owner.Tell(new SessionProtocol.Connected(_sessionId, pair) { RemoteFingerprint = dtlsFingerprint });
    }
}
