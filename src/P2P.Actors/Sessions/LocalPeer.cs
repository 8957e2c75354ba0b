using System.Net;
using System.Security.Cryptography;
using Akka.Actor;
using P2P.Actors.Dispatch;
using Akka.Event;
using P2P.Actors.Dtls;
using P2P.Actors.Ice;
using P2P.Actors.Stun;
using P2P.Actors.Transport;
using P2P.Actors.Turn;
using P2P.Protocol;
using P2P.Protocol.Ice;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Sessions;

/// <summary>What a local peer is: its name, where its one socket binds, and the servers it gathers with.</summary>
public sealed record LocalPeerSettings(string Name, IPEndPoint Bind, IReadOnlyList<IPEndPoint> StunServers, IReadOnlyList<TurnServer> TurnServers)
{
    public IUdpSocketFactory Sockets { get; init; } = RealUdpSockets.WithReceiveThreads;

    /// <summary>Port prediction's limits for this peer's sessions; null: p2p.ice.port-prediction of the actor system's configuration.</summary>
    public PortPredictionSettings? PortPrediction { get; init; }
}

public static class LocalPeerProtocol
{
    /// <summary>Open a session; the owner gets <see cref="SessionProtocol.Started"/> and then every event of the session.</summary>
    /// <param name="Secure">DTLS 1.2 over the selected pair, with the certificate fingerprint in the description;
    /// false sends application data as plain datagrams, like the original program (--plain).</param>
    public sealed record OpenSession(string SessionId, bool Controlling, IActorRef Owner, CandidatePolicy? Policy = null, bool Secure = false);

    /// <summary>Answered with <see cref="Candidates"/>.</summary>
    public sealed record GetCandidates;

    /// <summary>
    /// More TURN servers, learnt after the peer started (from a signaling server's joined message: time-limited
    /// credentials). Their allocators start now; a server the peer already allocates on is skipped. When gathering was
    /// complete it opens again, so that sessions opened from now on wait for the relayed candidates (or the gathering
    /// timeout); sessions opened before keep the candidates they had, since they already told their remotes
    /// end-of-candidates (RFC 8838 §4.1).
    /// </summary>
    public sealed record AddTurnServers(IReadOnlyList<TurnServer> Servers);

    public sealed record Candidates(IReadOnlyList<IceCandidate> Local, bool Complete);

    public sealed record GetStats;

    /// <summary>
    /// Stop, releasing the peer's TURN allocations first (RFC 8656 §8, Refresh with LIFETIME 0) so that they do not
    /// stay on the servers, counted against the user's quota, until they expire; waits at most
    /// <see cref="TurnClientSettings.ReleaseTimeout"/> for the servers. The sender gets <see cref="Released"/>, then the peer stops.
    /// (A plain actor stop cannot do this: the socket, a child like the allocators, is closed along with them.)
    /// </summary>
    public sealed record Release;

    /// <summary>The allocations are released (or the servers did not answer in time); the peer stops now.</summary>
    public sealed record Released(string Name, int Allocations, int Unanswered);

    public sealed record Stats(int Sessions, long Unroutable, long Malformed)
    {
        /// <summary>Datagrams to peers the LocalPeer wrote as ChannelData itself (a UDP allocation's bound channel).</summary>
        public long ChannelDataSent { get; init; }

        /// <summary>ChannelData from TURN servers the LocalPeer routed itself, without a hop through the allocator.</summary>
        public long ChannelDataReceived { get; init; }

        /// <summary>Channels to peers the TURN allocators have bound and published, which the LocalPeer writes ChannelData on.</summary>
        public int ChannelsInUse { get; init; }

        /// <summary>Times a session threw and was resumed with its state.</summary>
        public long SessionFaultsResumed { get; init; }

        /// <summary>Sessions sending connectivity checks now, sessions waiting for a place to (<see cref="CheckAdmission{T}"/>), and the most that ever checked at once.</summary>
        public int SessionsChecking { get; init; }

        public int SessionsWaitingToCheck { get; init; }

        public int MostSessionsChecking { get; init; }

        /// <summary>Times the peer's last session went and the native heap was trimmed (<see cref="IceSettings.TrimNativeHeapWhenIdle"/>).</summary>
        public long NativeHeapTrims { get; init; }

        /// <summary>Datagrams the socket's thread handed straight to a session's connection path, not through this actor (<see cref="DirectRoutes"/>).</summary>
        public long RoutedDirectly { get; init; }
    }

    // events to the parent (PeerHost) or whoever created the peer
    public sealed record PeerReady(string Name, IPEndPoint Local);

    public sealed record PeerFailed(string Name, string Reason);

    public sealed record GatheringProblem(string Name, string Reason);

    /// <summary>A session restarted ICE (RFC 8445 §9) with new credentials: checks for the new ufrag go to it.</summary>
    internal sealed record CredentialsChanged(string NewUfrag);

    /// <summary>
    /// From a session that selected a pair: application data from <paramref name="Remote"/> is its own, and goes to
    /// <paramref name="Data"/> (its connection), or from the socket's thread straight through <paramref name="Path"/>
    /// (<see cref="DirectRoutes"/>) when that takes it.
    /// </summary>
    internal sealed record DataPathSelected(IPEndPoint Remote, IActorRef Data, IDatagramReceiver Path);

    /// <summary>From a secure session: its DTLS handshake is over (done or failed); the place it held to check goes to the next session.</summary>
    internal sealed record SessionSecured;

    /// <summary>
    /// From a session whose selected relayed pair lost consent (RFC 7675): is the allocation behind <paramref name="Local"/>
    /// still there? Answered with <see cref="SessionProtocol.RelayChecked"/> once it is known (refreshed, or lost and, when
    /// it had been redirected to another node of a relay fleet, replaced by a new one from the configured server).
    /// </summary>
    internal sealed record RelayedPathLost(IceCandidate Local);
}

/// <summary>
/// One local identity (docs/ARCHITECTURE.md): owns its one UDP socket, gathers the candidates every session of it shares
/// (host candidates from the bound address or the interfaces; server-reflexive from each STUN server through a
/// <see cref="StunProber"/>; a relayed one from each TURN server through a <see cref="TurnClient"/> on the same
/// socket), and demultiplexes what arrives: packets from a STUN/TURN server to its prober/allocator, connectivity
/// checks by the ICE username (requests) or by the session tag in the transaction id (responses), and
/// application data by the remote address of each session's selected pair.
/// </summary>
public sealed class LocalPeer : ReceiveActor, IWithTimers
{
    private sealed record GatheringTimedOut
    {
        public static readonly GatheringTimedOut Instance = new();
    }

    /// <summary>Time to run RFC 5780 discovery against a server that announced OTHER-ADDRESS.</summary>
    private sealed record StartNatDiscovery(IPEndPoint Server);

    private sealed record ReleaseTimedOut
    {
        public static readonly ReleaseTimedOut Instance = new();
    }

    private readonly LocalPeerSettings _settings;
    private readonly IceSettings _ice;
    private readonly StunSettings _stun;
    private readonly TurnClientSettings _turn;
    private readonly DtlsSettings _dtls = DtlsSettings.OrDefault(Context.System.Settings.Config); // read once, for every session
    private readonly Sctp.SctpSettings _sctp = Sctp.SctpSettings.OrDefault(Context.System.Settings.Config);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _socket;
    private IActorRef? _iceTcp; // ICE-TCP listeners and connections (RFC 6544), on real sockets when p2p.ice.tcp is on
    private readonly CandidateGatherer _gathering = new();
    private readonly Dictionary<IPEndPoint, IActorRef> _probers = [];
    // STUN over TCP from each simultaneous-open port (RFC 6544 §5.2): the prober and the so port it learns the mapping of
    private readonly Dictionary<IActorRef, IPEndPoint> _tcpProbers = [];
    private readonly HashSet<IPEndPoint> _tcpProbeFailedLogged = [];
    private readonly Dictionary<IPEndPoint, IActorRef> _allocators = [];        // over UDP, by server: their packets come on our socket
    private readonly Dictionary<IActorRef, IPEndPoint> _allocatorServer = [];  // every allocator, UDP or TCP
    private readonly List<TurnServer> _lateTurnServers = [];                    // added before the socket was bound
    private readonly HashSet<IActorRef> _completeBefore = [];                  // sessions told complete before gathering opened again
    private bool _bound;
    private readonly Dictionary<IPEndPoint, IActorRef> _allocatorByRelayed = [];
    private readonly Dictionary<IActorRef, IceCandidate> _relayCandidateOf = [];
    private readonly Dictionary<IActorRef, IceCandidate> _reallocating = []; // the server dropped it: the candidate to replace
    private readonly Dictionary<IActorRef, TurnServer> _allocatorConfig = [];  // every allocator: the configured server it began with
    // allocators asked whether their allocation lives (a relayed path lost consent): the sessions waiting for the answer
    private readonly Dictionary<IActorRef, List<IActorRef>> _relayChecks = [];
    // UDP allocators' channels: ChannelData is written and read here, on the shared socket, without a hop through the allocator
    private readonly Dictionary<IActorRef, TurnClientProtocol.ChannelsChanged> _channelsOf = [];
    // port prediction's found sockets (Ice/PortPrediction): their candidate's address → the socket and the prediction that owns it
    private readonly Dictionary<IPEndPoint, (IActorRef Socket, IActorRef Owner)> _predictedSockets = [];
    private readonly PortPredictionSettings _portPrediction; // read once for all sessions
    private readonly Dictionary<IActorRef, (CandidatePolicy Policy, string Id, IActorRef Owner)> _sessions = [];
    // the sessions' faults against the per-minute budget; and how many were resumed in all
    private Supervision.ChildFaultDecider? _sessionFaults;
    private long _sessionFaultsResumed;
    private readonly PeerRoutes _routes;
    private DtlsCertificate? _certificate; // one per peer, made in the background when the peer starts (CertificateReady)
    private List<IActorRef>? _releaseRequesters; // set while releasing: who waits for Released
    private int _releasing;                    // allocations asked to release
    private int _unanswered;                   // of those, not confirmed by their server
    private bool _closingSessions;             // releasing: the sessions close first
    private bool _finishing;                   // releasing: the socket is sending what it has, then the peer stops
    private long _unroutable, _malformed, _channelDataSent, _channelDataReceived;
    private readonly CheckAdmission<IActorRef> _admission;              // which sessions' checkers may check now
    private readonly List<IActorRef> _admitted = [];
    private long _nativeHeapTrims;
    private int _replacements; // allocators made again after a redirected allocation was lost, for their names
    private readonly HashSet<IActorRef> _secureSessions = [];
    // RFC 5780 discovery, once in the background when a STUN server announces OTHER-ADDRESS; its report goes to every session
    private readonly NatDiscoverySettings? _natDiscovery = NatDiscoverySettings.OrNull(Context.System.Settings.Config);
    private bool _natDiscoveryScheduled;
    private P2P.Protocol.Nat.NatReport? _natReport;
    private readonly Dictionary<IActorRef, IActorRef> _securing = []; // secure session -> its checker, whose place it keeps until DTLS is up

    public LocalPeer(LocalPeerSettings settings, IceSettings ice, StunSettings stun, TurnClientSettings turn)
    {
        _settings = settings;
        _ice = ice;
        _stun = stun;
        _turn = turn;
        _portPrediction = settings.PortPrediction ?? PortPredictionSettings.OrDefault(Context.System.Settings.Config);
        _routes = new PeerRoutes(server => _allocators.ContainsKey(server) || _probers.ContainsKey(server));
        _socket = Context.ActorOf(settings.Sockets.Create(settings.Bind, Self, ice.SocketBufferBytes, _routes.Direct), "udp");
        _admission = new CheckAdmission<IActorRef>(ice.MaxCheckingSessions > 0 ? ice.MaxCheckingSessions : int.MaxValue);

        Receive<UdpSocketProtocol.Bound>(OnBound);
        Receive<UdpSocketProtocol.BindFailed>(m =>
        {
            Context.Parent.Tell(new LocalPeerProtocol.PeerFailed(_settings.Name, m.Reason));
            Context.Stop(Self);
        });
        Receive<UdpSocketProtocol.Received>(OnReceived);
        Receive<IceTcpProtocol.Listening>(OnTcpListening);
        Receive<IceTcpProtocol.Received>(m =>
        {
            if (_gathering.TcpHostFor(m.Local, m.Type) is { } local) Route(new Inbound(local, m.From, m.Datagram));
            else _unroutable++;
        });

        Receive<StunProberProtocol.MappedAddressDiscovered>(OnMapped);
        Receive<StunProberProtocol.StunProbeFailed>(m =>
        {
            if (_tcpProbers.Remove(Sender))
            {
                // no server-reflexive TCP candidate from this server: not a problem of the gathering (many STUN servers
                // serve UDP only), said once per server
                if (_tcpProbeFailedLogged.Add(m.Server))
                    _log.Info("[{0}] no server-reflexive ICE-TCP candidate from STUN server {1}: {2}", _settings.Name, m.Server, m.Reason);
                GathererDone();
                return;
            }
            Problem(m.Reason);
            _probers.Remove(m.Server);
            GathererDone();
        });
        Receive<TurnClientProtocol.AllocationSucceeded>(OnAllocated);
        Receive<TurnClientProtocol.AllocationFailed>(m =>
        {
            Problem(m.Reason);
            AnswerRelayCheck(Sender);
            if (!_reallocating.Remove(Sender)) GathererDone(); // a replacement was not part of the gathering
        });
        Receive<TurnClientProtocol.AllocationLost>(m =>
        {
            if (_relayCandidateOf.TryGetValue(Sender, out var relay)) _gathering.Remove(relay); // new sessions must not offer it
            Problem(m.Reason);
            if (relay is not null && ReplaceLostAllocation(Sender, relay)) return;
            // not replaced: the sessions' agents drop it (its pairs fail at once) before they hear RelayChecked and restart;
            // a restart would otherwise check it again, and signal it to the remote, which would check it too
            if (relay is not null) foreach (var session in _sessions.Keys) session.Tell(new SessionProtocol.RelayedCandidateLost(relay));
            AnswerRelayCheck(Sender);
        });
        Receive<TurnClientProtocol.AllocationRedirected>(OnRedirected);
        Receive<LocalPeerProtocol.RelayedPathLost>(m =>
        {
            if (!_allocatorByRelayed.TryGetValue(m.Local.Address, out var allocator))
            {
                Sender.Tell(new SessionProtocol.RelayChecked()); // gone already: the restart goes on without it
                return;
            }
            if (!_relayChecks.TryGetValue(allocator, out var waiting)) _relayChecks[allocator] = waiting = [];
            waiting.Add(Sender);
            allocator.Tell(TurnClientProtocol.CheckAllocation.Instance);
        });
        Receive<TurnClientProtocol.AllocationDropped>(OnAllocationDropped);
        Receive<TurnClientProtocol.ChannelsChanged>(m =>
        {
            if (m.ByNumber.Count == 0) _channelsOf.Remove(Sender);
            else _channelsOf[Sender] = m;
        });
        Receive<TurnClientProtocol.PeerData>(m =>
        {
            if (_relayCandidateOf.TryGetValue(Sender, out var relay)) Route(new Inbound(relay, m.Peer, m.Data));
        });
        Receive<GatheringTimedOut>(_ =>
        {
            foreach (var server in _probers.Keys)
                Problem($"STUN server {server} did not answer within {_ice.GatheringTimeout.TotalSeconds:0} s; UDP seems blocked on this network");
            foreach (var (allocator, server) in _allocatorServer)
                if (!_relayCandidateOf.ContainsKey(allocator))
                    Problem($"TURN server {server} did not answer within {_ice.GatheringTimeout.TotalSeconds:0} s, so there is no relay candidate (is it running there, on that port?)");
            CompleteGathering("gathering timed out");
        });
        Receive<LocalPeerProtocol.CredentialsChanged>(m =>
        {
            _routes.ChangeUfrag(Sender, m.NewUfrag);
        });

        Receive<StartNatDiscovery>(m => Context.ActorOf(NatDiscovery.Props(_natDiscovery! with { LifetimeProbe = false }, _settings.Sockets, m.Server,
            new IPEndPoint(_settings.Bind.Address, 0),
            _gathering.Candidates.Where(c => c.Type == CandidateType.Host).Select(c => c.Address.Address).Distinct().ToList(), Self), "nat-discovery"));
        Receive<NatDiscoveryProtocol.NatDiscovered>(m =>
        {
            _natReport = m.Report;
            _log.Info("[{0}] NAT: {1}", _settings.Name, P2P.Protocol.Nat.NatAttribute.Format(m.Report));
            foreach (var session in _sessions.Keys) session.Tell(new SessionProtocol.LocalNatReport(m.Report));
        });
        Receive<NatDiscoveryProtocol.NatDiscoveryFailed>(m => _log.Info("[{0}] NAT behaviour discovery with {1} failed: {2}", _settings.Name, m.Server, m.Reason));
        Receive<LocalPeerProtocol.OpenSession>(OnOpenSession);
        Receive<LocalPeerProtocol.AddTurnServers>(OnAddTurnServers);
        Receive<CertificateReady>(m => _certificate ??= m.Certificate);
        Receive<LocalPeerProtocol.DataPathSelected>(m =>
        {
            // what the remote sent before this side had selected the pair (its DTLS ClientHello, typically)
            foreach (var datagram in _routes.SelectDataPath(Sender, m.Remote, m.Data, m.Path, Context.System.Scheduler.Now)) m.Data.Tell(datagram);
        });
        Receive<LocalPeerProtocol.GetCandidates>(_ => Sender.Tell(new LocalPeerProtocol.Candidates(_gathering.Candidates.ToList(), _gathering.Complete)));
        Receive<LocalPeerProtocol.GetStats>(_ => Sender.Tell(new LocalPeerProtocol.Stats(_sessions.Count, _unroutable, _malformed)
        {
            ChannelDataSent = _channelDataSent,
            ChannelDataReceived = _channelDataReceived,
            SessionFaultsResumed = _sessionFaultsResumed,
            SessionsChecking = _admission.Checking,
            SessionsWaitingToCheck = _admission.Waiting,
            MostSessionsChecking = _admission.MostChecking,
            NativeHeapTrims = _nativeHeapTrims,
            RoutedDirectly = _routes.Direct.Routed,
            ChannelsInUse = _channelsOf.Values.Sum(c => c.ByPeer.Count),
        }));
        Receive<Transmit>(OnTransmit);
        Receive<PortPredictionProtocol.SocketFound>(m => _predictedSockets[m.Local] = (m.Socket, Sender));
        Receive<CheckAdmissionProtocol.Begin>(m =>
        {
            if (!_admission.Knows(Sender)) Context.Watch(Sender); // a checker that stops gives its place back
            if (_admission.Begin(Sender, m.RemoteIsChecking)) Sender.Tell(CheckAdmissionProtocol.MayBegin.Instance);
        });
        Receive<CheckAdmissionProtocol.Ended>(_ =>
        {
            Context.Unwatch(Sender);
            // a secure session keeps the place through its DTLS handshake: ICE is the cheap half of connecting it, and
            // handshakes started as fast as ICE finishes would pile up on a busy machine as the checks did
            var session = Context.Child(Sender.Path.Parent.Parent.Name);
            if (_secureSessions.Contains(session)) _securing[session] = Sender;
            else EndChecking(Sender);
        });
        Receive<LocalPeerProtocol.SessionSecured>(_ =>
        {
            _secureSessions.Remove(Sender);
            if (_securing.Remove(Sender, out var checker)) EndChecking(checker);
        });
        Receive<Terminated>(t =>
        {
            if (_admission.Knows(t.ActorRef))
            {
                EndChecking(t.ActorRef);
                return;
            }
            OnTerminated(t);
            if (_releaseRequesters is null) return;
            if (_finishing)
            {
                if (t.ActorRef.Equals(_socket)) Stopped();
            }
            else if (_closingSessions)
            {
                if (_sessions.Count == 0) ReleaseAllocations();
            }
            else if (_allocatorServer.Count == 0) FinishRelease();
        });
        Receive<LocalPeerProtocol.Release>(_ => StartRelease());
        Receive<ReleaseTimedOut>(_ => FinishRelease());
        Receive<TurnClientProtocol.Deallocated>(_ => { }); // the allocator stops next; its Terminated counts
        Receive<TurnClientProtocol.PermissionCreated>(_ => { });
        Receive<TurnClientProtocol.AllocationRefreshed>(_ => AnswerRelayCheck(Sender));
        Receive<TurnClientProtocol.PermissionFailed>(m => _log.Warning("[{0}] TURN permission for {1} failed: {2}", _settings.Name, m.Peer, m.Reason));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Leaving (the process stops, or <c>peer remove</c>): first every session is closed, so each remote hears it at
    /// once (close_notify) instead of losing consent half a minute later; then the TURN allocations are released
    /// (RFC 8656 §8); then the socket sends what it was given and stops, and the peer with it. All of it within
    /// <see cref="TurnClientSettings.ReleaseTimeout"/>.
    /// </summary>
    private void StartRelease()
    {
        bool started = _releaseRequesters is not null;
        (_releaseRequesters ??= []).Add(Sender);
        if (started) return;
        Timers.StartSingleTimer(ReleaseTimedOut.Instance, ReleaseTimedOut.Instance, _turn.ReleaseTimeout);
        if (_sessions.Count > 0)
        {
            _closingSessions = true;
            _log.Info("[{0}] closing {1} session(s) before stopping", _settings.Name, _sessions.Count);
            foreach (var session in _sessions.Keys) session.Tell(new SessionProtocol.Close());
            return;
        }
        ReleaseAllocations();
    }

    private void ReleaseAllocations()
    {
        _closingSessions = false;
        _releasing = _allocatorServer.Count;
        if (_releasing == 0)
        {
            FinishRelease();
            return;
        }
        _log.Info("[{0}] releasing {1} TURN allocation(s) before stopping", _settings.Name, _releasing);
        foreach (var allocator in _allocatorServer.Keys) allocator.Tell(TurnClientProtocol.Deallocate.Instance);
    }

    private void FinishRelease()
    {
        if (_finishing) return;
        _finishing = true;
        _unanswered = _allocatorServer.Count;
        if (_unanswered > 0)
            _log.Warning("[{0}] {1} TURN server(s) did not confirm the release within {2:0.#} s; the allocation(s) will expire there",
                _settings.Name, _unanswered, _turn.ReleaseTimeout.TotalSeconds);
        // the socket goes after what it was given (the sessions' close_notify, the last Refresh): a stop would drop it
        Context.Watch(_socket);
        _socket.Tell(PoisonPill.Instance);
    }

    private void Stopped()
    {
        foreach (var requester in _releaseRequesters ?? []) requester.Tell(new LocalPeerProtocol.Released(_settings.Name, _releasing, _unanswered));
        _releaseRequesters = [];
        Context.Stop(Self);
    }

    public static Props Props(LocalPeerSettings settings, IceSettings ice, StunSettings stun, TurnClientSettings turn) =>
        Akka.Actor.Props.Create(() => new LocalPeer(settings, ice, stun, turn));

    private sealed record CertificateReady(DtlsCertificate Certificate);

    /// <summary>
    /// The peer's DTLS certificate (a key pair and a signature, ~1 ms) is made off the actor as the peer starts, so that
    /// no secure session waits for it while it connects; one opened before it is ready makes it then (as before). The
    /// first peer of the process then warms DTLS up with it (<see cref="DtlsWarmUp"/>, p2p.dtls.warm-up).
    /// </summary>
    protected override void PreStart()
    {
        var dtls = DtlsSettings.OrDefault(Context.System.Settings.Config);
        Task.Run(() =>
        {
            var certificate = DtlsCertificate.Generate();
            if (dtls.WarmUp) DtlsWarmUp.Start(certificate, dtls);
            return new CertificateReady(certificate);
        }).PipeTo(Self);
    }

    // ---- gathering ---------------------------------------------------------------------------------

    private void OnBound(UdpSocketProtocol.Bound bound)
    {
        _routes.Direct.SocketBound(bound.Writer);
        var hosts = _gathering.AddHosts(bound.LocalEndPoint);
        _log.Info("[{0}] bound {1}; host candidates {2}", _settings.Name, bound.LocalEndPoint, string.Join(", ", hosts.Select(c => c.Address)));
        Context.Parent.Tell(new LocalPeerProtocol.PeerReady(_settings.Name, bound.LocalEndPoint));
        Publish(hosts);

        if (_ice.Tcp && _settings.Sockets is not Transport.Virtual.VirtualUdpSockets && hosts.Count > 0)
        {
            _iceTcp = Context.ActorOf(IceTcp.Props(hosts.Select(h => h.Address.Address).Distinct().ToList(), Self, _ice.TcpConnections), "ice-tcp");
            _gathering.Started();
        }
        foreach (var server in _settings.StunServers)
        {
            _probers[server] = Context.ActorOf(StunProber.Props(_stun, server, _socket, Self), $"stun-{server}".Replace('[', '_').Replace(']', '_'));
            _gathering.Started();
        }
        foreach (var turn in _settings.TurnServers.Concat(_lateTurnServers))
        {
            StartAllocator(turn, string.Empty);
            _gathering.Started();
        }
        _bound = true;
        if (_gathering.NothingPending) CompleteGathering("host candidates only");
        else Timers.StartSingleTimer(GatheringTimedOut.Instance, GatheringTimedOut.Instance, _ice.GatheringTimeout);
    }

    /// <summary>TURN servers learnt late (<see cref="LocalPeerProtocol.AddTurnServers"/>): before the socket is bound they wait for it.</summary>
    private void OnAddTurnServers(LocalPeerProtocol.AddTurnServers m)
    {
        var known = (_bound ? _allocatorConfig.Values : _settings.TurnServers.Concat(_lateTurnServers)).Select(t => (t.Server, t.Transport)).ToHashSet();
        var fresh = m.Servers.Where(t => known.Add((t.Server, t.Transport))).ToList();
        if (fresh.Count == 0) return;
        _log.Info("[{0}] TURN servers added: {1}", _settings.Name, string.Join(", ", fresh.Select(t => $"{t.Server} ({t.Transport})")));
        if (!_bound)
        {
            _lateTurnServers.AddRange(fresh);
            return;
        }
        if (_gathering.Complete)
        {
            // the sessions there are have told end-of-candidates: they keep what they had; new ones wait for the relay
            _gathering.Reopen();
            _completeBefore.UnionWith(_sessions.Keys);
            Timers.StartSingleTimer(GatheringTimedOut.Instance, GatheringTimedOut.Instance, _ice.GatheringTimeout);
        }
        foreach (var turn in fresh)
        {
            StartAllocator(turn, string.Empty);
            _gathering.Started();
        }
    }

    /// <summary>The ICE-TCP listeners are bound: their passive, active and simultaneous-open host candidates (RFC 6544 §4) go to the sessions.</summary>
    private void OnTcpListening(IceTcpProtocol.Listening m)
    {
        foreach (var problem in m.Problems) Problem(problem);
        var added = _gathering.AddTcpHosts(m.Passive, m.SimultaneousOpen);
        _log.Info("[{0}] ICE-TCP listening on {1}{2}", _settings.Name, string.Join(", ", m.Passive),
            m.SimultaneousOpen.Count == 0 ? "" : $"; simultaneous-open on {string.Join(", ", m.SimultaneousOpen)}");
        Publish(added);
        ProbeTcpMappings(m.SimultaneousOpen);
        GathererDone();
    }

    /// <summary>
    /// A STUN Binding over TCP from each simultaneous-open port to each STUN server of its family: the port's mapping in
    /// the NAT is its server-reflexive so candidate (RFC 6544 §5.2; why only so: <see cref="CandidateGatherer.AddTcpServerReflexive"/>).
    /// </summary>
    private void ProbeTcpMappings(IReadOnlyList<IPEndPoint> simultaneousOpen)
    {
        int n = 0;
        foreach (var so in simultaneousOpen)
        foreach (var server in _settings.StunServers.Where(s => s.AddressFamily == so.AddressFamily))
        {
            var prober = Context.ActorOf(StunProber.PropsOverTcp(_stun, server, so, _ice.TcpConnections.ConnectTimeout, Self),
                $"stun-tcp-{++n}-{server}".Replace('[', '_').Replace(']', '_'));
            _tcpProbers[prober] = so;
            _gathering.Started();
        }
    }

    private void OnMapped(StunProberProtocol.MappedAddressDiscovered m)
    {
        if (_tcpProbers.Remove(Sender, out var so))
        {
            var srflx = _gathering.AddTcpServerReflexive(m.Mapped, so, m.Server);
            if (srflx.Count > 0) _log.Info("[{0}] server-reflexive ICE-TCP candidate {1} (simultaneous-open, from {2})", _settings.Name, m.Mapped, so);
            Publish(srflx);
            GathererDone();
            return;
        }
        _probers.Remove(m.Server);
        AddServerReflexive(m.Mapped, m.Server);
        if (m.OtherAddress is not null && _natDiscovery is { Background: true } && !_natDiscoveryScheduled)
        {
            // after gathering's own answer and a delay, so that it never holds up gathering or the first connects
            _natDiscoveryScheduled = true;
            Timers.StartSingleTimer(nameof(StartNatDiscovery), new StartNatDiscovery(m.Server), _natDiscovery.BackgroundDelay);
        }
        GathererDone();
    }

    private void OnAllocated(TurnClientProtocol.AllocationSucceeded m)
    {
        var server = _allocatorServer[Sender];
        bool replacing = _reallocating.Remove(Sender, out var old);
        var relayed = _gathering.Relayed(m.Relayed, m.Mapped, server, replacing);
        _allocatorByRelayed[m.Relayed] = Sender;
        _relayCandidateOf[Sender] = relayed;
        if (replacing && old is not null)
        {
            // the server dropped the old allocation: every session swaps the relay candidate (trickled to its remote)
            _gathering.Add([relayed]);
            _log.Info("[{0}] TURN server {1} gave a new allocation: relay candidate {2} replaces {3}", _settings.Name, server, m.Relayed, old.Address);
            foreach (var session in _sessions.Keys) session.Tell(new SessionProtocol.RelayedCandidateReplaced(old, relayed));
            AnswerRelayCheck(Sender);
            return;
        }
        AnswerRelayCheck(Sender);
        var added = new List<IceCandidate> { relayed };
        // over TCP the mapped address is the TCP connection's mapping: it says nothing about UDP
        if (m.Mapped is not null && m.Transport == TurnTransport.Udp) added.AddRange(_gathering.ServerReflexive(m.Mapped, server));
        _gathering.Add(added);
        Publish(added);
        GathererDone();
    }

    /// <summary>
    /// The TURN server dropped an allocation and the allocator asks for a new one: its relay candidate goes (new sessions
    /// do not get it; data sent from it is unroutable until the new one comes, <see cref="OnAllocated"/>), and the reason
    /// is a problem every session that fails names.
    /// </summary>
    private void OnAllocationDropped(TurnClientProtocol.AllocationDropped m)
    {
        if (_relayCandidateOf.Remove(Sender, out var old))
        {
            _gathering.Remove(old);
            _allocatorByRelayed.Remove(old.Address);
            _reallocating[Sender] = old;
        }
        Problem($"{m.Reason}; allocating again");
    }

    /// <summary>
    /// A 300 Try Alternate sent the allocator to another server (RFC 8489 §10): over the shared UDP socket its packets come
    /// from there now. A server this peer already allocates on over UDP cannot take a second allocation from the same
    /// 5-tuple (RFC 8656 §7.2), so that redirect ends the allocator.
    /// </summary>
    private void OnRedirected(TurnClientProtocol.AllocationRedirected m)
    {
        if (!_allocatorServer.ContainsKey(Sender)) return;
        if (_allocators.TryGetValue(m.From, out var udp) && udp.Equals(Sender))
        {
            if (_allocators.TryGetValue(m.To, out var other) && !other.Equals(Sender))
            {
                Problem($"TURN server {m.From} redirects to {m.To}, where this peer allocates already");
                Context.Stop(Sender);
                GathererDone();
                return;
            }
            _allocators.Remove(m.From);
            _allocators[m.To] = Sender;
        }
        _allocatorServer[Sender] = m.To;
        _log.Info("[{0}] TURN server {1} redirects to {2} (300 Try Alternate)", _settings.Name, m.From, m.To);
    }

    /// <summary>
    /// An allocation that sessions used is lost. When a fleet had redirected it to another node (that node died or
    /// stopped), a new allocator asks the configured server again, which serves it or redirects it to a live node; its
    /// relay candidate replaces the lost one in every session (<see cref="SessionProtocol.RelayedCandidateReplaced"/>),
    /// and the sessions waiting to restart ICE go on once it is there. An allocation lost on the configured server
    /// itself is not asked again: that server is what failed, and the restart goes on with the other candidates (false).
    /// </summary>
    private bool ReplaceLostAllocation(IActorRef lost, IceCandidate relay)
    {
        if (!_allocatorConfig.TryGetValue(lost, out var turn) || !_allocatorServer.TryGetValue(lost, out var server) || server.Equals(turn.Server)
            || _releaseRequesters is not null || turn.Transport == TurnTransport.Udp && _allocators.ContainsKey(turn.Server) && !_allocators[turn.Server].Equals(lost))
            return false;
        _log.Info("[{0}] the allocation on {1} (redirected from {2}) is lost: asking {2} again", _settings.Name, server, turn.Server);
        if (_allocators.TryGetValue(server, out var current) && current.Equals(lost)) _allocators.Remove(server);
        var allocator = StartAllocator(turn, $"-r{++_replacements}");
        _reallocating[allocator] = relay;
        if (_relayChecks.Remove(lost, out var waiting)) _relayChecks[allocator] = waiting;
        return true;
    }

    /// <summary>A <see cref="TurnClient"/> for a configured server: over UDP on the peer's socket, else on a TCP/TLS connection of its own.</summary>
    private IActorRef StartAllocator(TurnServer turn, string nameSuffix)
    {
        string name = $"turn-{(turn.Transport == TurnTransport.Udp ? "" : turn.Transport == TurnTransport.Tcp ? "tcp-" : "tls-")}{turn.Server}{nameSuffix}".Replace('[', '_').Replace(']', '_');
        IActorRef allocator;
        if (turn.Transport != TurnTransport.Udp)
            allocator = Context.ActorOf(TurnClient.PropsOverTcp(_turn, turn.Server, turn.Credentials, Self, turn.TlsOptions), name); // its own TCP/TLS connection
        else
            _allocators[turn.Server] = allocator = Context.ActorOf(
                TurnClient.Props(_turn, turn.Server, turn.Credentials, _socket, Self, publishChannels: true), name);
        _allocatorServer[allocator] = turn.Server;
        _allocatorConfig[allocator] = turn;
        Context.Watch(allocator);
        return allocator;
    }

    /// <summary>The sessions that asked about <paramref name="allocator"/>'s allocation (<see cref="LocalPeerProtocol.RelayedPathLost"/>) restart ICE now.</summary>
    private void AnswerRelayCheck(IActorRef allocator)
    {
        if (!_relayChecks.Remove(allocator, out var waiting)) return;
        foreach (var session in waiting) session.Tell(new SessionProtocol.RelayChecked());
    }

    private void AddServerReflexive(IPEndPoint mapped, IPEndPoint server) => Publish(_gathering.AddServerReflexive(mapped, server));

    /// <summary>Something went wrong while gathering: the parent hears it, and every session keeps it for its failure reason.</summary>
    private void Problem(string reason)
    {
        if (!_gathering.AddProblem(reason)) return;
        _log.Warning("[{0}] {1}", _settings.Name, reason);
        Context.Parent.Tell(new LocalPeerProtocol.GatheringProblem(_settings.Name, reason));
        foreach (var session in _sessions.Keys) session.Tell(new SessionProtocol.GatheringProblem(reason));
    }

    private void GathererDone()
    {
        if (_gathering.Done()) CompleteGathering("all servers answered or gave up");
    }

    private void CompleteGathering(string why)
    {
        if (!_gathering.MarkComplete()) return;
        Timers.Cancel(GatheringTimedOut.Instance);
        _log.Info("[{0}] gathering complete ({1}): {2} candidates", _settings.Name, why, _gathering.Candidates.Count);
        foreach (var session in _sessions.Keys)
            if (!_completeBefore.Contains(session)) session.Tell(new SessionProtocol.LocalGatheringComplete());
    }

    /// <summary>
    /// Trickles new candidates to the sessions (RFC 8838). Once gathering is complete the sessions have told their
    /// remotes end-of-candidates, so a late answer (after the gathering timeout) goes only to sessions opened later.
    /// </summary>
    private void Publish(IReadOnlyList<IceCandidate> added)
    {
        if (added.Count == 0 || _gathering.Complete) return;
        foreach (var (session, info) in _sessions)
        {
            if (_completeBefore.Contains(session)) continue;
            var visible = CandidateGatherer.Visible(added, info.Policy);
            if (visible.Count > 0) session.Tell(new SessionProtocol.LocalCandidatesGathered(visible));
        }
    }

    // ---- sessions ----------------------------------------------------------------------------------

    private void OnOpenSession(LocalPeerProtocol.OpenSession m)
    {
        string name = $"session-{Uri.EscapeDataString(m.SessionId)}";
        if (!Context.Child(name).IsNobody())
        {
            m.Owner.Tell(new SessionProtocol.Failed(m.SessionId, $"peer {_settings.Name} already has a session '{m.SessionId}'; close it first or pick another name"));
            return;
        }
        IceCredentials credentials;
        do credentials = IceCredentials.Generate(); while (_routes.HasUfrag(credentials.Ufrag));
        uint tag;
        do tag = BitConverter.ToUInt32(RandomNumberGenerator.GetBytes(4)); while (_routes.HasTag(tag));
        var policy = m.Policy ?? _ice.Policy;
        var certificate = m.Secure ? _certificate ??= DtlsCertificate.Generate() : null;
        var session = Context.ActorOf(SessionMailbox.For(Session.Props(_ice, m.SessionId, credentials, m.Controlling, tag, Self, m.Owner, certificate, _routes.Direct, _dtls, _sctp, _natReport,
            PredictionSockets, _portPrediction), Context.System), name);
        Context.Watch(session);
        SessionFaults.Supervise(session, "session", m.SessionId);
        _sessions[session] = (policy, m.SessionId, m.Owner);
        _routes.AddSession(session, credentials.Ufrag, tag);
        if (m.Secure) _secureSessions.Add(session);
        var visible = CandidateGatherer.Visible(_gathering.Candidates, policy);
        if (visible.Count > 0) session.Tell(new SessionProtocol.LocalCandidatesGathered(visible.ToList()));
        foreach (var problem in _gathering.Problems) session.Tell(new SessionProtocol.GatheringProblem(problem));
        if (_gathering.Complete) session.Tell(new SessionProtocol.LocalGatheringComplete());
    }

    /// <summary>
    /// A session that throws (a bug, or an input its code did not expect) is resumed with its state, as the session
    /// resumes its own children: a restarted session would start ICE and DTLS afresh behind the remote's back, which
    /// drops it with no word to its owner. Only the message that caused the fault is lost; the fault is logged and
    /// counted. Past <see cref="IceSettings.ChildFaultsPerMinute"/> faults within a minute, or for a session that
    /// cannot be resumed, it is stopped and its owner told <see cref="SessionProtocol.Failed"/> with the reason. The
    /// Peer's other children (socket, STUN probers, TURN allocators, gatherer) keep Akka's default.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new Supervision.PerChildStrategy(Decide);

    private Directive Decide(IActorRef child, Exception cause)
    {
        if (!SessionFaults.TryDecide(child, cause, out var decision) || !_sessions.TryGetValue(child, out var session))
            return Akka.Actor.SupervisorStrategy.DefaultDecider.Decide(cause);
        if (decision.Directive == Directive.Resume) _sessionFaultsResumed++;
        else session.Owner.Tell(new SessionProtocol.Failed(session.Id, decision.StoppedBecause("the session")));
        return decision.Directive;
    }

    private Supervision.ChildFaultDecider SessionFaults => _sessionFaults ??= new(Context.System.Scheduler, _log, _ice.ChildFaultsPerMinute);

    private void OnTerminated(Terminated t)
    {
        _completeBefore.Remove(t.ActorRef);
        if (_sessions.Remove(t.ActorRef, out var info))
        {
            _secureSessions.Remove(t.ActorRef);
            if (_securing.Remove(t.ActorRef, out var checker)) EndChecking(checker);
            SessionFaults.Forget(t.ActorRef);
            _routes.RemoveSession(t.ActorRef);
            foreach (var found in _predictedSockets.Where(kv => kv.Value.Owner.Path.Parent.Equals(t.ActorRef.Path)).Select(kv => kv.Key).ToList())
                _predictedSockets.Remove(found);
            // the last session went: what its native state (OpenSSL's HMAC, ECDSA and AES-GCM contexts) used goes back
            // to the system, not only to the C library's arenas, which would keep it as their high-water mark
            if (_sessions.Count == 0 && _ice.TrimNativeHeapWhenIdle)
            {
                _nativeHeapTrims++;
                Task.Run(Runtime.NativeHeap.Trim);
            }
            return;
        }
        if (_allocatorServer.Remove(t.ActorRef, out var server))
        {
            if (_allocators.TryGetValue(server, out var udp) && udp.Equals(t.ActorRef)) _allocators.Remove(server);
            if (_relayCandidateOf.Remove(t.ActorRef, out var relay)) _allocatorByRelayed.Remove(relay.Address);
            _reallocating.Remove(t.ActorRef);
            _channelsOf.Remove(t.ActorRef);
            _allocatorConfig.Remove(t.ActorRef);
            AnswerRelayCheck(t.ActorRef);
        }
    }

    /// <summary>A checker is done (or gone): the sessions waiting longest get its place.</summary>
    private void EndChecking(IActorRef checker)
    {
        _admission.End(checker, _admitted);
        foreach (var next in _admitted) next.Tell(CheckAdmissionProtocol.MayBegin.Instance);
        _admitted.Clear();
    }

    // ---- packets -----------------------------------------------------------------------------------

    private void OnTransmit(Transmit m)
    {
        if (m.Local.Transport == CandidateTransport.Tcp)
        {
            if (_iceTcp is null) _unroutable++;
            else _iceTcp.Tell(new IceTcpProtocol.Send(m.Local.Address, m.Local.TcpType, m.To, m.Payload));
            return;
        }
        if (m.Local.Type == CandidateType.Relayed)
        {
            if (!_allocatorByRelayed.TryGetValue(m.Local.Address, out var allocator)) _unroutable++;
            else if (!TrySendChannelData(allocator, m)) allocator.Tell(new TurnClientProtocol.SendToPeer(m.To, m.Payload));
            return;
        }
        if (_predictedSockets.TryGetValue(m.Local.Address, out var predicted) && PortPrediction.IsFound(m.Local))
        {
            predicted.Socket.Tell(new UdpSocketProtocol.Send(m.To, m.Payload));
            return;
        }
        _socket.Tell(new UdpSocketProtocol.Send(m.To, m.Payload));
    }

    /// <summary>Data to a peer with a bound channel, written as ChannelData (framed by the allocator's published table) straight onto the socket.</summary>
    private bool TrySendChannelData(IActorRef allocator, Transmit m)
    {
        if (!_channelsOf.TryGetValue(allocator, out var channels) || !_allocatorServer.TryGetValue(allocator, out var server)) return false;
        if (channels.Frame(m.To, m.Payload.Span) is not { } packet) return false;
        _socket.Tell(new UdpSocketProtocol.Send(server, packet));
        _channelDataSent++;
        return true;
    }

    /// <summary>ChannelData from a UDP allocator's server on a number it gave a peer: routed as that peer's data, a slice of the datagram.</summary>
    private bool TryReceiveChannelData(IActorRef allocator, UdpSocketProtocol.Received r)
    {
        if (!_channelsOf.TryGetValue(allocator, out var channels) || !_relayCandidateOf.TryGetValue(allocator, out var relay)) return false;
        if (!channels.TryRead(r.Payload, out var peer, out var data)) return false;
        Route(new Inbound(relay, peer, data));
        _channelDataReceived++;
        return true;
    }

    private void OnReceived(UdpSocketProtocol.Received r)
    {
        // one server may be both our STUN and our TURN server: Binding answers go to the prober
        if (_probers.TryGetValue(r.From, out var prober)
            && StunMessage.TryParse(r.Payload.Span, out var stun, out _) && stun.Method == StunMethod.Binding && stun.Class != StunClass.Request)
        {
            prober.Forward(r);
            return;
        }
        if (_allocators.TryGetValue(r.From, out var allocator))
        {
            if (!TryReceiveChannelData(allocator, r)) allocator.Forward(r);
            return;
        }
        var local = _gathering.HostFor(r.Local, r.From);
        if (local is null)
        {
            _unroutable++;
            return;
        }
        Route(new Inbound(local, r.From, r.Payload));
    }

    /// <summary>Port prediction's extra sockets (up to hundreds per session, short-lived): real ones without a receive thread each.</summary>
    private IUdpSocketFactory PredictionSockets => _settings.Sockets is RealUdpSockets ? RealUdpSockets.Instance : _settings.Sockets;

    /// <summary>To the session the datagram belongs to (<see cref="PeerRoutes.Route"/>); what none takes yet is held or counted.</summary>
    private void Route(Inbound inbound)
    {
        var routed = _routes.Route(inbound, Context.System.Scheduler.Now);
        switch (routed.Outcome)
        {
            case PeerRoutes.Outcome.Deliver: routed.Target!.Tell(routed.Message!); break;
            case PeerRoutes.Outcome.Malformed: _malformed++; break;
            default: _unroutable++; break;
        }
    }
}
