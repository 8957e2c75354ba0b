using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Relay.Fleet;
using P2P.Actors.Supervision;
using P2P.Actors.Transport;
using P2P.Actors.Transport.Tls;
using P2P.Protocol.Nat;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using TcpListener = P2P.Actors.Transport.TcpListener;

namespace P2P.Actors.Relay;

/// <summary>
/// The STUN/TURN server (RFC 8489, RFC 8656). Owns the listeners (a UDP socket from its
/// <see cref="IUdpSocketFactory"/> and, on real sockets, a <see cref="TcpListener"/> per listening address) and supervises one <see cref="Allocation"/> child
/// per allocation. It answers Binding requests for anyone, checks the long-term credentials of every
/// TURN request (stateless nonces, <see cref="RelayNonces"/>), creates allocations within the quota and
/// capacity, and routes the rest by 5-tuple to the allocation that owns it. A failing allocation is
/// stopped (its client gets 437 on its next request and allocates again); the others never notice.
/// Bad packets are counted and dropped, never thrown. Bad input of every kind (malformed datagrams, garbage or
/// refused TCP connections, failed authentications) is counted in <see cref="RelayServerProtocol.Stats"/> and
/// logged rate-limited (<see cref="LogRateLimit"/>). A TCP connection that carries an allocation is held open
/// for as long as the allocation lives; others close when idle (<see cref="TcpConnection"/>).
/// </summary>
public sealed class RelayServer : ReceiveActor
{
    private const int MaxBindAttempts = 8;
    private const int MaxListenerRestarts = 5;

    /// <param name="Reservation">The token of the port this allocation's Allocate reserved (EVEN-PORT with the R bit), if any.</param>
    private sealed record AllocationRecord(IActorRef Actor, string User, int Port, ClientPath Path, ulong? Reservation);

    /// <summary>An Allocate whose RESERVATION-TOKEN was taken: it is allocated once the port's holder has closed it.</summary>
    private sealed record Redemption(ClientPath Path, AllocationProtocol.AuthenticatedRequest Request, TimeSpan Lifetime);

    /// <summary>An Allocate with EVEN-PORT and the R bit: it is allocated on <paramref name="Relay"/> once the next port is held.</summary>
    private sealed record Reserving(ClientPath Path, AllocationProtocol.AuthenticatedRequest Request, IPEndPoint Relay, TimeSpan Lifetime, int Attempt, ulong Token);

    private sealed class Listener(IPEndPoint requested)
    {
        public IPEndPoint Requested { get; } = requested;
        public IPEndPoint? Udp { get; set; }
        public IPEndPoint? Tcp { get; set; }
        public IActorRef? UdpActor { get; set; }
        public IActorRef? TcpActor { get; set; }
        public bool TcpRetriedOnAnyPort { get; set; }
        /// <summary>The fast data path's receiver of this listener, or null when its packets all go through the actors.</summary>
        public RelayListenerPort? FastPort { get; set; }
        /// <summary>An RFC 5780 socket added beside the primary one (the next port, the alternate address): UDP only.</summary>
        public bool UdpOnly { get; init; }
    }

    /// <summary>A TURN-over-TLS listener (RFC 8656 §3.1): TCP only, with its own addresses.</summary>
    private sealed class TlsListener(IPEndPoint requested)
    {
        public IPEndPoint Requested { get; } = requested;
        public IPEndPoint? Bound { get; set; }
        public IActorRef? Actor { get; set; }
    }

    private sealed record UserKeys(StunIntegrityKey Md5, StunIntegrityKey Sha256, byte[] Md5Bytes, byte[] Sha256Bytes);

    private readonly RelaySettings _settings;
    private readonly IUdpSocketFactory _sockets;
    private readonly bool _servesTcp;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly RelayNonces _nonces;
    private readonly RelayPortPool _ports;
    private readonly RelayPortPoller? _poller;
    private readonly Dictionary<string, UserKeys> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _userHashes = new(StringComparer.Ordinal);
    /// <summary>TURN REST API users (shared secrets); the ones that authenticated are also in <see cref="_users"/> until swept.</summary>
    private readonly RelayRestUsers _restUsers;
    private readonly List<(byte[] Md5, byte[] Sha256)> _restKeys = [];
    /// <summary>Error responses sent, by code (401 includes the challenge every first request gets).</summary>
    private readonly Dictionary<int, long> _refusedByCode = [];
    private long _expiredCredentials, _childFaults;
    private readonly Dictionary<FiveTuple, AllocationRecord> _allocations = [];
    private readonly Dictionary<IActorRef, FiveTuple> _allocationByActor = [];
    private readonly Dictionary<string, int> _perUser = new(StringComparer.Ordinal);
    private readonly RelayReservations _reservations = new();
    private readonly Dictionary<IActorRef, Redemption> _redemptions = [];
    private readonly Dictionary<IActorRef, Reserving> _reserving = [];
    /// <summary>5-tuples whose Allocate waits for a <see cref="Reservation"/> (to hold or to free a port): retransmissions are dropped meanwhile.</summary>
    private readonly HashSet<FiveTuple> _waiting = [];
    /// <summary>RFC 6062: CONNECTION-ID → the TCP allocation that owns it (ConnectionBind arrives on a connection of its own).</summary>
    private readonly Dictionary<uint, IActorRef> _connectionIds = [];
    /// <summary>RFC 6062 data connections: the client's TCP connection → the <see cref="TcpPeerConnection"/> its raw bytes go to.</summary>
    private readonly Dictionary<IActorRef, IActorRef> _dataLinks = [];
    private readonly List<Listener> _listeners = [];
    /// <summary>RFC 5780 §6: the four sockets (primary address, primary port), (primary, next port), (alternate, primary port),
    /// (alternate, next port), indexed by <see cref="ChangeRequestGrid"/>; null without an alternate address.</summary>
    private readonly Listener?[]? _rfc5780;
    private readonly List<TlsListener> _tlsListeners = [];
    private TlsServerSettings? _tls;
    private X509Certificate2? _ownedCertificate;
    private readonly List<IActorRef> _awaitingListening = [];
    private RelayServerProtocol.Listening? _listening;
    private string? _listenFailure;
    private long _received, _malformed, _unrouted, _bindingRequests, _allocationsFailed, _allocationCounter, _reservationCounter;
    private long _tcpRefused, _tcpUnframeable, _tcpIdleClosed, _authFailures, _tlsHandshakes, _tlsHandshakesFailed;
    private readonly LogRateLimit _malformedLog, _tcpRefusedLog, _tcpUnframeableLog, _authLog, _tlsFailedLog;
    private int _listenerRestarts;
    // a fleet node (p2p relay --seed): what the other nodes published, and who publishes ours (null: alone)
    private readonly IActorRef? _fleet;
    private RelayFleetView _fleetView = RelayFleetView.Alone;
    private bool _draining;
    private readonly List<IActorRef> _drainWaiters = [];
    private long _redirected;

    public RelayServer(RelaySettings settings, IUdpSocketFactory sockets, IActorRef? fleet = null)
    {
        _settings = settings;
        _sockets = sockets;
        _fleet = fleet;
        _servesTcp = sockets is RealUdpSockets;
        // The fast data path batches datagrams with Linux system calls; elsewhere every datagram goes through the actors.
        if (settings.FastDataPath && sockets is RealUdpSockets && LinuxUdp.IsSupported) _poller = new RelayPortPoller();
        _nonces = new RelayNonces(settings.NonceLifetime);
        _restUsers = new RelayRestUsers(settings.AuthSecrets, settings.Realm);
        _malformedLog = new LogRateLimit(settings.LogBurst, settings.LogInterval);
        _tcpRefusedLog = new LogRateLimit(settings.LogBurst, settings.LogInterval);
        _tcpUnframeableLog = new LogRateLimit(settings.LogBurst, settings.LogInterval);
        _authLog = new LogRateLimit(settings.LogBurst, settings.LogInterval);
        _tlsFailedLog = new LogRateLimit(settings.LogBurst, settings.LogInterval);
        _ports = new RelayPortPool(settings.MinPort, settings.MaxPort);
        if (settings.AlternateIp is not null && settings.Rfc5780Primary is not null) _rfc5780 = new Listener?[ChangeRequestGrid.Size];
        foreach (var (name, password) in settings.Users)
        {
            if (!StunCredentials.TryDeriveLongTermKey(PasswordAlgorithm.Md5, name, settings.Realm, password, out var md5, out var error)
                || !StunCredentials.TryDeriveLongTermKey(PasswordAlgorithm.Sha256, name, settings.Realm, password, out var sha, out error))
            {
                _log.Warning("User {0} is skipped: its password or the realm cannot be prepared ({1})", name, error);
                continue;
            }
            _users[name] = new UserKeys(new StunIntegrityKey(md5), new StunIntegrityKey(sha), md5, sha);
            if (StunCredentials.TryComputeUserHash(name, settings.Realm, out var hash, out _))
                _userHashes[Convert.ToHexString(hash)] = name;
        }

        Receive<UdpSocketProtocol.Received>(r => OnPacket(new ClientPath(new FiveTuple(ClientTransport.Udp, EndPoints.Unmapped(r.From), r.Local), Sender), r.Payload));
        Receive<TcpConnectionProtocol.Received>(r =>
        {
            if (_dataLinks.Count > 0 && _dataLinks.TryGetValue(Sender, out var link)) link.Tell(new TcpRelayProtocol.FromClient(r.Payload));
            else OnPacket(new ClientPath(new FiveTuple(ClientTransport.Tcp, r.Remote, r.Local), Sender), r.Payload);
        });
        Receive<AllocationProtocol.ConnectionIdAdded>(c => _connectionIds[c.Id] = Sender);
        Receive<AllocationProtocol.ConnectionIdRemoved>(c =>
        {
            if (_connectionIds.TryGetValue(c.Id, out var owner) && Equals(owner, Sender)) _connectionIds.Remove(c.Id);
        });
        Receive<AllocationProtocol.DataConnectionBound>(b => _dataLinks[b.Connection] = b.Link);
        Receive<TcpConnectionProtocol.Connected>(c =>
        {
            if (c.Tls is { } tls)
            {
                _tlsHandshakes++;
                _log.Debug("TLS client {0} connected to {1}: {2}, {3}, ALPN {4}", c.Remote, c.Local, tls.Protocol, tls.CipherSuite,
                    tls.ApplicationProtocol.Length > 0 ? tls.ApplicationProtocol : "none");
            }
            else
            {
                _log.Debug("TCP client {0} connected to {1}", c.Remote, c.Local);
            }
        });
        Receive<TcpConnectionProtocol.Closed>(OnTcpClosed);
        Receive<UdpSocketProtocol.Bound>(OnUdpBound);
        Receive<UdpSocketProtocol.BindFailed>(f => FailListening(f.Reason));
        Receive<TcpListenerProtocol.Bound>(OnTcpBound);
        Receive<TcpListenerProtocol.BindFailed>(OnTcpBindFailed);
        Receive<TcpListenerProtocol.Refused>(r =>
        {
            _tcpRefused++;
            if (_tcpRefusedLog.TryLog(Now, out long leftOut))
                _log.Warning("TCP connection from {0} closed at once: {1}; {2} refused so far{3}", r.Remote, r.Reason, _tcpRefused, LogRateLimit.LeftOutNote(leftOut));
        });
        Receive<AllocationProtocol.Allocated>(a => _log.Info("Allocation {0} for {1} relays on {2}", a.FiveTuple, UserOf(a.FiveTuple), a.Relayed));
        Receive<AllocationProtocol.RelayBindFailed>(OnRelayBindFailed);
        Receive<ReservationProtocol.Held>(_ =>
        {
            if (!_reserving.Remove(Sender, out var r)) return;
            _waiting.Remove(r.Path.FiveTuple);
            StartAllocation(r.Path, r.Request, r.Relay, r.Lifetime, r.Attempt, r.Token);
        });
        Receive<Terminated>(OnTerminated);
        Receive<RelayServerProtocol.AwaitListening>(_ =>
        {
            if (_listening is not null) Sender.Tell(_listening);
            else if (_listenFailure is not null) Sender.Tell(new RelayServerProtocol.ListenFailed(_listenFailure));
            else _awaitingListening.Add(Sender);
        });
        Receive<RelayServerProtocol.GetStats>(_ => Sender.Tell(new RelayServerProtocol.Stats(
            _received + _listeners.Sum(l => l.FastPort?.Relayed ?? 0), _malformed, _unrouted, _bindingRequests, _allocations.Count, _allocationsFailed,
            _tcpRefused, _tcpUnframeable, _tcpIdleClosed, _authFailures, _tlsHandshakes, _tlsHandshakesFailed)
        {
            ExpiredCredentials = _expiredCredentials,
            ChildFaults = _childFaults,
            Users = _perUser.Count,
            RefusedByCode = new Dictionary<int, long>(_refusedByCode),
        }));
        Receive<RelayServerProtocol.GetAllocations>(_ => Sender.Tell(new RelayServerProtocol.AllocationList(
            _allocations.Select(kv => new RelayServerProtocol.AllocationEntry(kv.Key, kv.Value.User, kv.Value.Actor)).ToList())));
        Receive<RelayFleetProtocol.ViewChanged>(v => _fleetView = v.View);
        Receive<RelayServerProtocol.Drain>(_ =>
        {
            if (!_draining) _log.Info("Draining: new allocations go to other nodes of the fleet (300 Try Alternate) or get 508; {0} allocations keep working", _allocations.Count);
            _draining = true;
            _drainWaiters.Add(Sender);
            PublishToFleet();
            DrainedWhenEmpty();
        });
        Receive<RelayServerProtocol.GetFleetStats>(_ => Sender.Tell(new RelayServerProtocol.FleetStats(_redirected, _draining, _fleetView)));
    }

    /// <param name="settings">The server's settings.</param>
    /// <param name="sockets">
    /// Where the listening and relayed UDP sockets come from: real sockets by default, or the ports of a host on a
    /// <see cref="Transport.Virtual.VirtualNetwork"/>. TCP (RFC 8656 §3.1) is served only with real sockets: the
    /// virtual network models UDP alone, so on it the server listens on UDP and is ready once those are bound.
    /// </param>
    /// <param name="fleet">A fleet node's <see cref="RelayFleet"/>: it gets this node's entry (<see cref="RelayFleetProtocol.Publish"/>) and
    /// sends back the other nodes' (<see cref="RelayFleetProtocol.ViewChanged"/>), so that quotas count the whole fleet and a full or draining
    /// node redirects new Allocates (300 Try Alternate). Null: the relay runs alone.</param>
    public static Props Props(RelaySettings settings, IUdpSocketFactory? sockets = null, IActorRef? fleet = null)
    {
        var factory = sockets ?? RealUdpSockets.Instance;
        return Akka.Actor.Props.Create(() => new RelayServer(settings, factory, fleet));
    }

    /// <summary>
    /// Every child that throws is stopped: an allocation's state (permissions, channels) cannot be rebuilt
    /// behind its client's back, and a failed listener is re-created by <see cref="OnTerminated"/>.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _childFaults++;
        _log.Warning("A relay child failed and is stopped: {0}", e.Message);
        return Directive.Stop;
    });

    protected override void PreStart()
    {
        if (!_settings.TurnEnabled)
            _log.Warning("No TURN user is configured: only STUN Binding is served, every TURN request is refused (add --user name:password)");
        foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            bool listens = _settings.Listen.Any(l => l.AddressFamily == family);
            if (_settings.TurnEnabled && listens && _settings.Listen.All(l => _settings.RelayAddressFor(family, l.Address) is null))
                _log.Warning("Listening on a wildcard address without --relay-ip for {0}: allocations of that family get 440", family);
        }
        for (int i = 0; i < _settings.Listen.Count; i++)
        {
            var listener = new Listener(_settings.Listen[i]);
            _listeners.Add(listener);
            // The fast data path needs a specific listening address: on a wildcard the 5-tuple's server side is only
            // known per datagram (IP_PKTINFO), which the actor's receive loop asks for.
            if (_poller is not null && !listener.Requested.Address.Equals(IPAddress.Any) && !listener.Requested.Address.Equals(IPAddress.IPv6Any))
                listener.FastPort = new RelayListenerPort();
            listener.UdpActor = Context.ActorOf(ListenerSocket(listener, listener.Requested), $"udp-{i}");
            Context.Watch(listener.UdpActor);
            if (_rfc5780 is not null && _rfc5780[0] is null && listener.Requested.Equals(_settings.Rfc5780Primary)) _rfc5780[0] = listener;
        }
        StartTlsListeners();
    }

    /// <summary>TURN over TLS (RFC 8656 §3.1): one TLS listener per <c>tls-listen</c> address, all serving one certificate.</summary>
    private void StartTlsListeners()
    {
        if (_settings.TlsListen.Count == 0) return;
        if (!_servesTcp)
        {
            _log.Warning("TURN over TLS is served on real sockets only: tls-listen is ignored on the virtual network");
            return;
        }
        X509Certificate2 certificate;
        if (_settings.TlsCertificate is { } given) certificate = given;
        else if (_settings.TlsCertificateFile.Length > 0)
        {
            if (!TlsCertificates.TryLoadPem(_settings.TlsCertificateFile, _settings.TlsKeyFile, out certificate, out var error))
            {
                FailListening(error!);
                return;
            }
            _ownedCertificate = certificate;
        }
        else
        {
            certificate = TlsCertificates.CreateSelfSigned(_settings.TlsListen.Select(l => l.Address.ToString()), _settings.TlsSelfSignedValidity);
            _ownedCertificate = certificate;
        }
        _tls = new TlsServerSettings(certificate, _settings.TlsHandshakeTimeout);
        foreach (var requested in _settings.TlsListen)
        {
            var listener = new TlsListener(requested);
            _tlsListeners.Add(listener);
            StartTls(listener, requested);
        }
    }

    private void StartTls(TlsListener listener, IPEndPoint bind)
    {
        var limits = new TcpServerLimits(_settings.TcpIdleTimeout, _settings.MaxTcpConnections, _settings.MaxTcpConnectionsPerIp);
        listener.Actor = Context.ActorOf(TcpListener.Props(bind, Self, _settings.TcpWriteQueueBytes, limits, _tls),
            $"tls-{_tlsListeners.IndexOf(listener)}-{bind.Port}-r{_listenerRestarts}");
        Context.Watch(listener.Actor);
    }

    private Props ListenerSocket(Listener listener, IPEndPoint bind) =>
        listener.FastPort is { } port
            ? UdpSocket.Props(bind, Self, _settings.SocketBufferBytes, port)
            : _sockets.Create(bind, Self, _settings.SocketBufferBytes);

    protected override void PostStop()
    {
        _ownedCertificate?.Dispose();
        _poller?.Dispose();
        _nonces.Dispose();
        foreach (var keys in _users.Values)
        {
            keys.Md5.Dispose();
            keys.Sha256.Dispose();
        }
    }


    private string UserOf(FiveTuple t) => _allocations.TryGetValue(t, out var r) ? r.User : "?";

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    // ------------------------------------------------------------------ listening

    private void OnUdpBound(UdpSocketProtocol.Bound bound)
    {
        var listener = _listeners.FirstOrDefault(l => Equals(l.UdpActor, Sender));
        if (listener is null) return;
        bool first = listener.Udp is null;
        listener.Udp = bound.LocalEndPoint;
        if (first && _rfc5780 is not null) StartRfc5780Sockets(listener);
        if (!_servesTcp || listener.UdpOnly)
        {
            if (first) AnnounceListeningWhenReady();
            return;
        }
        if (!first || listener.TcpActor is not null) return;
        int port = listener.Requested.Port == 0 ? bound.LocalEndPoint.Port : listener.Requested.Port;
        StartTcp(listener, new IPEndPoint(listener.Requested.Address, port));
    }

    /// <summary>
    /// RFC 5780 §6: once the primary socket has its port, the primary address also listens on the next port (a free one
    /// when the primary asked for port 0); once that one is bound, the alternate address listens on both ports. Every one
    /// of them is a listener like the others (Binding and TURN), UDP only, and the server is listening once all are bound.
    /// </summary>
    private void StartRfc5780Sockets(Listener bound)
    {
        var grid = _rfc5780!;
        int slot = Array.IndexOf(grid, bound);
        var at = bound.Udp!;
        if (slot == 0)
        {
            grid[1] = AddRfc5780Listener(new IPEndPoint(at.Address, bound.Requested.Port == 0 ? 0 : at.Port + 1));
        }
        else if (slot == 1)
        {
            // the alternate address takes the same two ports, so that "change IP" alone keeps the port (RFC 5780 §6.1, Table 1)
            grid[2] = AddRfc5780Listener(new IPEndPoint(_settings.AlternateIp!, grid[0]!.Udp!.Port));
            grid[3] = AddRfc5780Listener(new IPEndPoint(_settings.AlternateIp!, at.Port));
        }
    }

    private Listener AddRfc5780Listener(IPEndPoint bind)
    {
        var listener = new Listener(bind) { UdpOnly = true };
        _listeners.Add(listener);
        listener.UdpActor = Context.ActorOf(_sockets.Create(bind, Self, _settings.SocketBufferBytes), $"udp-{_listeners.Count - 1}");
        Context.Watch(listener.UdpActor);
        return listener;
    }

    private void StartTcp(Listener listener, IPEndPoint bind)
    {
        int index = _listeners.IndexOf(listener);
        var limits = new TcpServerLimits(_settings.TcpIdleTimeout, _settings.MaxTcpConnections, _settings.MaxTcpConnectionsPerIp);
        listener.TcpActor = Context.ActorOf(TcpListener.Props(bind, Self, _settings.TcpWriteQueueBytes, limits), $"tcp-{index}-{bind.Port}");
        Context.Watch(listener.TcpActor);
    }

    private void OnTcpBound(TcpListenerProtocol.Bound bound)
    {
        var listener = _listeners.FirstOrDefault(l => Equals(l.TcpActor, Sender));
        if (listener is not null) listener.Tcp = bound.LocalEndPoint;
        else if (_tlsListeners.FirstOrDefault(l => Equals(l.Actor, Sender)) is { } tls) tls.Bound = bound.LocalEndPoint;
        else return;
        AnnounceListeningWhenReady();
    }

    /// <summary>Once every listener is bound (UDP, and TCP when served), tells whoever waits for <see cref="RelayServerProtocol.Listening"/>.</summary>
    private void AnnounceListeningWhenReady()
    {
        if (_listening is null && _listenFailure is null && _listeners.All(l => l.Udp is not null && (l.Tcp is not null || !_servesTcp || l.UdpOnly))
            && _tlsListeners.All(l => l.Bound is not null))
        {
            var tls = _tlsListeners.Count > 0 ? _tlsListeners.Select(l => l.Bound!).ToList() : null;
            string? fingerprint = _tls is null ? null : TlsCertificates.Sha256Fingerprint(_tls.Certificate).ToString();
            _listening = new RelayServerProtocol.Listening(_listeners.Select(l => l.Udp!).ToList(), _listeners.Where(l => l.Tcp is not null).Select(l => l.Tcp!).ToList(),
                tls, fingerprint);
            var fast = _listeners.Where(l => l.FastPort is not null).Select(l => l.Udp!).ToList();
            _log.Info("Relay listening on udp {0}, tcp {1}; ChannelData relayed on the receiving threads for {2}", string.Join(", ", _listening.Udp),
                string.Join(", ", _listening.Tcp), fast.Count > 0 ? "udp " + string.Join(", ", fast) : "no listener (through the actors)");
            if (tls is not null) _log.Info("Relay listening for TURN over TLS on {0}, certificate {1} ({2})", string.Join(", ", tls), fingerprint, _tls!.Certificate.Subject);
            foreach (var waiter in _awaitingListening) waiter.Tell(_listening);
            _awaitingListening.Clear();
            PublishToFleet();
        }
    }

    // ------------------------------------------------------------------ fleet

    /// <summary>This node's entry for the fleet (<see cref="RelayFleet"/> coalesces and replicates it): addresses, counts, draining.</summary>
    private void PublishToFleet()
    {
        if (_fleet is null || _listening is null) return;
        static List<string> Texts(IEnumerable<IPEndPoint>? endpoints) => endpoints?.Select(e => e.ToString()).ToList() ?? [];
        var primary = _listeners.Where(l => !l.UdpOnly || _rfc5780 is null || ReferenceEquals(l, _rfc5780[0])).ToList();
        _fleet.Tell(new RelayFleetProtocol.Publish(new RelayNodeEntry(
            Texts(primary.Select(l => l.Udp).OfType<IPEndPoint>()), Texts(primary.Select(l => l.Tcp).OfType<IPEndPoint>()), Texts(_listening.Tls),
            AllocationsInUse, _settings.MaxAllocations, _draining, new Dictionary<string, int>(_perUser, StringComparer.Ordinal))));
    }

    /// <summary>Allocations made and being made (waiting for a reserved port): what capacity counts.</summary>
    private int AllocationsInUse => _allocations.Count + _redemptions.Count + _reserving.Count;

    private void DrainedWhenEmpty()
    {
        if (!_draining || _drainWaiters.Count == 0 || AllocationsInUse > 0) return;
        _log.Info("Drained: no allocation left");
        foreach (var waiter in _drainWaiters) waiter.Tell(RelayServerProtocol.Drained.Instance);
        _drainWaiters.Clear();
    }

    private ListenerKind KindOf(ClientPath path) =>
        !path.IsStream ? ListenerKind.Udp : _tlsListeners.Any(l => path.FiveTuple.Server.Equals(l.Bound)) ? ListenerKind.Tls : ListenerKind.Tcp;

    private void OnTcpBindFailed(TcpListenerProtocol.BindFailed failed)
    {
        if (_tlsListeners.Any(l => Equals(l.Actor, Sender)))
        {
            FailListening($"TLS: {failed.Reason}");
            return;
        }
        var listener = _listeners.FirstOrDefault(l => Equals(l.TcpActor, Sender));
        if (listener is not null && listener.Requested.Port == 0 && !listener.TcpRetriedOnAnyPort)
        {
            // Port 0 asked for "any port": the UDP one was taken for TCP by someone else, so take another.
            listener.TcpRetriedOnAnyPort = true;
            Context.Unwatch(Sender);
            StartTcp(listener, new IPEndPoint(listener.Requested.Address, 0));
            return;
        }
        FailListening(failed.Reason);
    }

    private void FailListening(string reason)
    {
        if (_listening is not null || _listenFailure is not null)
        {
            _log.Error("A relay listener could not be bound again: {0}", reason);
            return;
        }
        _listenFailure = reason;
        _log.Error("Relay cannot listen: {0}", reason);
        foreach (var waiter in _awaitingListening) waiter.Tell(new RelayServerProtocol.ListenFailed(reason));
        _awaitingListening.Clear();
        foreach (var l in _listeners)
        {
            if (l.UdpActor is not null) { Context.Unwatch(l.UdpActor); Context.Stop(l.UdpActor); }
            if (l.TcpActor is not null) { Context.Unwatch(l.TcpActor); Context.Stop(l.TcpActor); }
        }
        foreach (var l in _tlsListeners)
            if (l.Actor is not null) { Context.Unwatch(l.Actor); Context.Stop(l.Actor); }
    }

    private void OnTerminated(Terminated t)
    {
        if (_allocationByActor.Remove(t.ActorRef, out var tuple))
        {
            if (_allocations.Remove(tuple, out var record)) Forget(record);
            foreach (var id in _connectionIds.Where(c => Equals(c.Value, t.ActorRef)).Select(c => c.Key).ToList()) _connectionIds.Remove(id);
            _log.Debug("Allocation {0} is gone", tuple);
            return;
        }
        if (_reservations.TryRemove(t.ActorRef, out var held))
        {
            // The holder's socket is closed: the port goes to the Allocate that redeemed it, or back to the pool.
            if (_redemptions.Remove(t.ActorRef, out var redemption))
            {
                _waiting.Remove(redemption.Path.FiveTuple);
                StartAllocation(redemption.Path, redemption.Request, held, redemption.Lifetime, MaxBindAttempts, null);
                return;
            }
            _ports.Release(held.Port);
            if (_reserving.Remove(t.ActorRef, out var reserving))
            {
                // The next port could not be held: the pair is given up and another one tried.
                _waiting.Remove(reserving.Path.FiveTuple);
                _ports.Release(reserving.Relay.Port);
                RetryAllocate(reserving.Path, reserving.Request, reserving.Attempt, $"port {held} could not be reserved");
            }
            return;
        }
        if (_tlsListeners.FirstOrDefault(l => Equals(l.Actor, t.ActorRef)) is { } tlsListener)
        {
            if (_listenFailure is not null || ++_listenerRestarts > MaxListenerRestarts)
            {
                _log.Error("Relay TLS listener {0} stopped and is not restarted", tlsListener.Bound);
                return;
            }
            _log.Warning("Relay TLS listener {0} stopped; re-creating it", tlsListener.Bound);
            StartTls(tlsListener, tlsListener.Bound ?? tlsListener.Requested);
            return;
        }
        foreach (var l in _listeners)
        {
            bool udp = Equals(l.UdpActor, t.ActorRef), tcp = Equals(l.TcpActor, t.ActorRef);
            if (!udp && !tcp) continue;
            if (_listenFailure is not null || ++_listenerRestarts > MaxListenerRestarts)
            {
                _log.Error("Relay listener {0} stopped and is not restarted", udp ? l.Udp : l.Tcp);
                return;
            }
            _log.Warning("Relay listener {0} stopped; re-creating it", udp ? l.Udp : l.Tcp);
            int index = _listeners.IndexOf(l);
            if (udp)
            {
                l.UdpActor = Context.ActorOf(ListenerSocket(l, l.Udp ?? l.Requested), $"udp-{index}-r{_listenerRestarts}");
                Context.Watch(l.UdpActor);
            }
            else
            {
                StartTcp(l, l.Tcp ?? l.Requested);
            }
            return;
        }
    }

    private void Forget(AllocationRecord record)
    {
        _ports.Release(record.Port);
        if (record.Path.IsStream) record.Path.Socket.Tell(new TcpConnectionProtocol.KeepOpen(false)); // idle rules again
        if (_perUser.TryGetValue(record.User, out int n))
        {
            if (n <= 1) _perUser.Remove(record.User);
            else _perUser[record.User] = n - 1;
        }
        PublishToFleet();
        DrainedWhenEmpty();
    }

    private void OnTcpClosed(TcpConnectionProtocol.Closed closed)
    {
        // RFC 8656 §3.1: an allocation over TCP lives as long as its connection.
        var tuple = new FiveTuple(ClientTransport.Tcp, closed.Remote, closed.Local);
        _log.Debug("TCP client {0} disconnected: {1}", closed.Remote, closed.Reason);
        if (_dataLinks.Remove(Sender, out var link)) link.Tell(new TcpRelayProtocol.ClientClosed()); // RFC 6062 §5.5
        switch (closed.Cause)
        {
            case TcpCloseCause.Idle:
                _tcpIdleClosed++;
                break;
            case TcpCloseCause.Unframeable:
                _tcpUnframeable++;
                if (_tcpUnframeableLog.TryLog(Now, out long leftOut))
                    _log.Warning("TCP {0}: {1}, connection closed; {2} such connections so far{3}", closed.Remote, closed.Reason, _tcpUnframeable, LogRateLimit.LeftOutNote(leftOut));
                break;
            case TcpCloseCause.TlsHandshakeFailed:
                _tlsHandshakesFailed++;
                if (_tlsFailedLog.TryLog(Now, out long tlsLeftOut))
                    _log.Warning("TLS {0} -> {1}: {2}, connection closed; {3} failed handshakes so far{4}", closed.Remote, closed.Local, closed.Reason,
                        _tlsHandshakesFailed, LogRateLimit.LeftOutNote(tlsLeftOut));
                break;
        }
        if (_allocations.TryGetValue(tuple, out var record)) Context.Stop(record.Actor);
    }

    // ------------------------------------------------------------------ packets

    private void OnPacket(ClientPath path, ReadOnlyMemory<byte> payload)
    {
        _received++;
        var bytes = payload.Span;
        if (bytes.Length > 0 && ChannelData.StartsServerChannelData(bytes[0]))
        {
            // ChannelData, also in RFC 5766's channel numbers (ChannelData.IsAcceptedByServer)
            if (_allocations.TryGetValue(path.FiveTuple, out var owner)) owner.Actor.Tell(new AllocationProtocol.FromClient(payload));
            else Unrouted(path, "ChannelData");
            return;
        }
        if (!StunMessage.TryParse(bytes, out var message, out var error))
        {
            Malformed(path, error.ToString());
            return;
        }
        switch (message.Class)
        {
            case StunClass.Request:
                OnRequest(path, message, payload);
                break;
            case StunClass.Indication when message.Method == StunMethod.Send:
                if (_allocations.TryGetValue(path.FiveTuple, out var allocation)) allocation.Actor.Tell(new AllocationProtocol.FromClient(payload));
                else Unrouted(path, "Send indication");
                break;
            case StunClass.Indication when message.Method == StunMethod.Binding:
                break; // keepalive (RFC 8489 §6.3.2): nothing to do
            default:
                Malformed(path, $"unexpected {message.Class} {message.Method}");
                break;
        }
    }

    private void Malformed(ClientPath path, string why)
    {
        _malformed++;
        if (_malformedLog.TryLog(Now, out long leftOut))
            _log.Warning("Dropped malformed packet from {0} ({1}); {2} so far{3}", path.FiveTuple, why, _malformed, LogRateLimit.LeftOutNote(leftOut));
        else
            _log.Debug("Dropped malformed packet from {0} ({1})", path.FiveTuple, why);
    }

    private void Unrouted(ClientPath path, string what)
    {
        _unrouted++;
        _log.Debug("Dropped {0} from {1}: no allocation on this 5-tuple", what, path.FiveTuple);
    }

    private void Reply(ClientPath path, ReadOnlyMemory<byte> response)
    {
        // error responses only (class bits 0b11 in the message type, RFC 8489 §5): counted by code for the operators' metrics
        if (response.Length >= 2 && (response.Span[0] & 0x01) != 0 && (response.Span[1] & 0x10) != 0
            && StunMessage.TryParse(response.Span, out var sent, out _) && sent.TryGetErrorCode(out int code, out _))
            _refusedByCode[code] = _refusedByCode.GetValueOrDefault(code) + 1;
        path.Send(response, Self);
    }

    private void OnRequest(ClientPath path, StunMessage request, ReadOnlyMemory<byte> payload)
    {
        var id = request.TransactionId;
        var method = request.Method;
        Span<ushort> unknown = stackalloc ushort[8];
        if (method == StunMethod.Binding)
        {
            _bindingRequests++;
            int count = request.GetUnknownComprehensionRequired(unknown);
            if (count > 0)
            {
                Reply(path, StunReplies.Error(method, id, 420, _settings.Software, null, unknownAttributes: unknown[..Math.Min(count, unknown.Length)]));
                return;
            }
            if (request.Has(StunAttributeType.ChangeRequest) || _rfc5780 is not null)
            {
                AnswerRfc5780Binding(path, request);
                return;
            }
            Reply(path, BindingSuccess(id, path.Client));
            return;
        }
        if (method is not (StunMethod.Allocate or StunMethod.Refresh or StunMethod.CreatePermission or StunMethod.ChannelBind
            or StunMethod.Connect or StunMethod.ConnectionBind))
        {
            Reply(path, StunReplies.Error(method, id, 400, _settings.Software, null, "Unsupported method"));
            return;
        }
        if (!_settings.TurnEnabled || (_users.Count == 0 && !_restUsers.Enabled))
        {
            Reply(path, StunReplies.Error(method, id, 403, _settings.Software, null, "TURN is disabled on this server (no users configured)"));
            return;
        }
        // RFC 6062 §5.4: a ConnectionBind comes on a new connection with the credentials, and so the nonce, of its allocation's.
        FiveTuple? nonceTuple = null;
        if (method == StunMethod.ConnectionBind && request.TryGetUInt32(StunAttributeType.ConnectionId, out uint bindId)
            && _connectionIds.TryGetValue(bindId, out var bindOwner) && _allocationByActor.TryGetValue(bindOwner, out var controlTuple))
            nonceTuple = controlTuple;
        if (!TryAuthenticate(path, request, out var user, out var algorithm, nonceTuple))
            return;
        var keys = _users[user];
        var signing = new ResponseSigning(algorithm == PasswordAlgorithm.Sha256 ? keys.Sha256 : keys.Md5, request.HasMessageIntegritySha256);

        int unknownCount = request.GetUnknownComprehensionRequired(unknown);
        if (method == StunMethod.Allocate && request.Has(StunAttributeType.DontFragment) && unknownCount < unknown.Length)
            unknown[unknownCount++] = (ushort)StunAttributeType.DontFragment; // RFC 8656 §7.2: DF not supported → treated as unknown
        if (unknownCount > 0)
        {
            Reply(path, StunReplies.Error(method, id, 420, _settings.Software, signing, unknownAttributes: unknown[..Math.Min(unknownCount, unknown.Length)]));
            return;
        }

        var authenticated = new AllocationProtocol.AuthenticatedRequest(payload, user, algorithm, request.HasMessageIntegritySha256);
        if (method == StunMethod.ConnectionBind)
        {
            // RFC 6062 §5.4: on a connection of its own, for a CONNECTION-ID of some TCP allocation.
            if (path.IsStream && !_allocations.ContainsKey(path.FiveTuple) && request.TryGetUInt32(StunAttributeType.ConnectionId, out uint connection)
                && _connectionIds.TryGetValue(connection, out var owner))
                owner.Tell(new AllocationProtocol.BindConnection(path, authenticated));
            else
                Reply(path, StunReplies.Error(method, id, 400, _settings.Software, signing,
                    path.IsStream ? "Unknown CONNECTION-ID, or a connection that carries an allocation" : "ConnectionBind needs a TCP or TLS connection"));
            return;
        }
        if (_waiting.Contains(path.FiveTuple)) return; // its Allocate is answered once its reservation is settled
        if (_allocations.TryGetValue(path.FiveTuple, out var existing))
        {
            existing.Actor.Tell(authenticated);
            return;
        }
        if (method != StunMethod.Allocate)
        {
            Reply(path, StunReplies.Error(method, id, 437, _settings.Software, signing));
            return;
        }
        Allocate(path, request, authenticated, signing, attempt: 1);
    }

    private ReadOnlyMemory<byte> BindingSuccess(TransactionId id, IPEndPoint client, IPEndPoint? origin = null, IPEndPoint? other = null)
    {
        var buffer = new byte[StunReplies.MaxResponse];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.SuccessResponse, id);
        var mapped = StunAddress.From(client);
        w.AddAddress(StunAttributeType.XorMappedAddress, mapped);
        w.AddAddress(StunAttributeType.MappedAddress, mapped);
        if (origin is not null) w.AddAddress(StunAttributeType.ResponseOrigin, StunAddress.From(origin));
        if (other is not null) w.AddAddress(StunAttributeType.OtherAddress, StunAddress.From(other));
        return StunReplies.Finish(ref w, buffer, _settings.Software, null);
    }

    /// <summary>
    /// RFC 5780 §6.1: on one of the four sockets of the alternate address, the answer carries RESPONSE-ORIGIN and
    /// OTHER-ADDRESS and goes out from the socket CHANGE-REQUEST asks for. A CHANGE-REQUEST the server cannot honour (no
    /// alternate address, or a socket outside the four, or TCP) gets 420 with the attribute in UNKNOWN-ATTRIBUTES. RESPONSE-PORT
    /// (§7.5) is honoured on the four sockets.
    /// </summary>
    private void AnswerRfc5780Binding(ClientPath path, StunMessage request)
    {
        var id = request.TransactionId;
        var grid = _rfc5780;
        int slot = grid is null || path.IsStream ? -1 : Array.FindIndex(grid, l => l is not null && Equals(l.UdpActor, path.Socket));
        bool changes = request.Has(StunAttributeType.ChangeRequest);
        if (grid is null || slot < 0 || grid.Any(l => l?.Udp is null || l.UdpActor is null))
        {
            if (changes)
            {
                _log.Debug("CHANGE-REQUEST from {0} answered 420: {1}", path.FiveTuple, _rfc5780 is null ? "no alternate address" : "not on an RFC 5780 socket");
                Reply(path, StunReplies.Error(StunMethod.Binding, id, 420, _settings.Software, null,
                    "CHANGE-REQUEST needs a server with an alternate address", [(ushort)StunAttributeType.ChangeRequest]));
            }
            else
            {
                Reply(path, BindingSuccess(id, path.Client));
            }
            return;
        }
        bool changeIp = false, changePort = false;
        if (changes && !request.TryGetChangeRequest(out changeIp, out changePort))
        {
            Reply(path, StunReplies.Error(StunMethod.Binding, id, 400, _settings.Software, null, "CHANGE-REQUEST must be 4 bytes"));
            return;
        }
        var source = grid[ChangeRequestGrid.Source(slot, changeIp, changePort)]!;
        var other = grid[ChangeRequestGrid.Other(slot)]!;
        // RFC 5780 §7.5: RESPONSE-PORT sends the answer to another port of the client's address (the lifetime test of §4.6)
        var to = request.TryGetUInt32(StunAttributeType.ResponsePort, out uint responsePort) && responsePort >> 16 != 0
            ? new IPEndPoint(path.Client.Address, (int)(responsePort >> 16))
            : path.Client;
        source.UdpActor!.Tell(new UdpSocketProtocol.Send(to, BindingSuccess(id, path.Client, source.Udp, other.Udp)), Self);
    }

    /// <summary>
    /// RFC 8489 §9.2.4 in its order; answers the client itself when the request is not authenticated. Nonces are bound to
    /// the request's 5-tuple, or to <paramref name="nonceTuple"/> when given.
    /// </summary>
    private bool TryAuthenticate(ClientPath path, StunMessage request, out string user, out PasswordAlgorithm algorithm, FiveTuple? nonceTuple = null)
    {
        user = string.Empty;
        algorithm = PasswordAlgorithm.Md5;
        var now = DateTimeOffset.UtcNow;
        var method = request.Method;
        var id = request.TransactionId;
        var tuple = nonceTuple ?? path.FiveTuple;
        if (!request.HasMessageIntegrity && !request.HasMessageIntegritySha256)
        {
            Reply(path, StunReplies.Challenge(method, id, 401, _settings.Realm, _nonces.Create(now, tuple), _settings.Software));
            return false;
        }
        bool hasName = request.TryGetString(StunAttributeType.Username, out var name);
        bool hasHash = request.TryGetAttribute(StunAttributeType.UserHash, out var userHash);
        if ((!hasName && !hasHash) || !request.TryGetString(StunAttributeType.Realm, out var realm) || !request.TryGetString(StunAttributeType.Nonce, out var nonce))
        {
            Reply(path, StunReplies.Error(method, id, 400, _settings.Software, null, "Missing USERNAME, REALM or NONCE"));
            return false;
        }

        // Our nonces carry the PASSWORD-ALGORITHMS feature bit: a client that uses it must echo the list
        // unchanged and pick one; a client that uses neither attribute gets MD5 (RFC 8489 §9.2.4).
        bool hasList = request.Has(StunAttributeType.PasswordAlgorithms);
        bool hasChoice = request.TryGetPasswordAlgorithm(out var chosen);
        if (hasList || hasChoice)
        {
            Span<PasswordAlgorithm> list = stackalloc PasswordAlgorithm[4];
            if (!hasList || !hasChoice || !request.TryGetPasswordAlgorithms(list, out int n) || n != 2
                || list[0] != PasswordAlgorithm.Md5 || list[1] != PasswordAlgorithm.Sha256
                || chosen is not (PasswordAlgorithm.Md5 or PasswordAlgorithm.Sha256))
            {
                Reply(path, StunReplies.Error(method, id, 400, _settings.Software, null, "PASSWORD-ALGORITHMS do not match the ones offered"));
                return false;
            }
            algorithm = chosen;
        }

        if (_nonces.Check(nonce, now, tuple) != NonceCheck.Valid)
        {
            Reply(path, StunReplies.Challenge(method, id, 438, _settings.Realm, _nonces.Create(now, tuple), _settings.Software));
            return false;
        }

        string? known = null;
        if (hasName && _restUsers.Enabled && !IsStaticUser(name) && !TryRestUser(path, request, name, now, out known)) return false;
        if (hasName && _users.ContainsKey(name)) known = name;
        else if (!hasName && hasHash && _userHashes.TryGetValue(Convert.ToHexString(userHash), out var byHash)) known = byHash;
        if (known is null || !string.Equals(realm, _settings.Realm, StringComparison.Ordinal))
        {
            _authFailures++;
            if (_authLog.TryLog(now, out long leftOut)) _log.Info("TURN {0} from {1}: unknown user or realm{2}", method, path.FiveTuple, LogRateLimit.LeftOutNote(leftOut));
            Reply(path, StunReplies.Challenge(method, id, 401, _settings.Realm, _nonces.Create(now, tuple), _settings.Software));
            return false;
        }
        var keys = _users[known];
        if (request.VerifyIntegrity(algorithm == PasswordAlgorithm.Sha256 ? keys.Sha256 : keys.Md5) != StunError.None)
        {
            _authFailures++;
            if (_authLog.TryLog(now, out long leftOut)) _log.Info("TURN {0} from {1}: wrong password for user {2}{3}", method, path.FiveTuple, known, LogRateLimit.LeftOutNote(leftOut));
            Reply(path, StunReplies.Challenge(method, id, 401, _settings.Realm, _nonces.Create(now, tuple), _settings.Software));
            return false;
        }
        user = known;
        return true;
    }

    private bool IsStaticUser(string name) => _settings.Users.ContainsKey(name);

    /// <summary>
    /// A username that is not a configured user, when the server has REST secrets: false (answered) when it is a REST
    /// username that expired, or whose password fits no secret; true otherwise, with <paramref name="known"/> set when it
    /// is now a user (its keys in <see cref="_users"/>). A name that is not a REST username goes on as an unknown user.
    /// </summary>
    private bool TryRestUser(ClientPath path, StunMessage request, string name, DateTimeOffset now, out string? known)
    {
        known = null;
        long unix = now.ToUnixTimeSeconds();
        var check = _restUsers.HasExpired(name, unix) ? TurnRestCheck.Expired : _users.ContainsKey(name) ? TurnRestCheck.Valid : _restUsers.CandidateKeys(name, unix, _restKeys);
        if (check == TurnRestCheck.NotRestUsername) return true;
        var tuple = path.FiveTuple;
        if (check == TurnRestCheck.Expired)
        {
            _authFailures++;
            _expiredCredentials++;
            TurnRestCredentials.TryParse(name, out long expiresAt, out _);
            if (_authLog.TryLog(now, out long leftOut))
                _log.Info("TURN {0} from {1}: the credentials of {2} expired at {3:u} ({4:0} s ago); the client needs fresh ones from its signaling server{5}",
                    request.Method, tuple, name, DateTimeOffset.FromUnixTimeSeconds(expiresAt), unix - expiresAt, LogRateLimit.LeftOutNote(leftOut));
            Reply(path, StunReplies.Challenge(request.Method, request.TransactionId, 401, _settings.Realm, _nonces.Create(now, tuple), _settings.Software));
            return false;
        }
        if (_users.ContainsKey(name)) { known = name; return true; }
        foreach (var (md5Bytes, shaBytes) in _restKeys)
        {
            var md5 = new StunIntegrityKey(md5Bytes);
            var sha = new StunIntegrityKey(shaBytes);
            if (request.VerifyIntegrity(md5) == StunError.None || request.VerifyIntegrity(sha) == StunError.None)
            {
                _users[name] = new UserKeys(md5, sha, md5Bytes, shaBytes);
                _restUsers.Remember(name);
                foreach (var gone in _restUsers.Sweep(unix, user => _perUser.GetValueOrDefault(user) > 0))
                    if (_users.Remove(gone, out var keys)) { keys.Md5.Dispose(); keys.Sha256.Dispose(); }
                known = name;
                return true;
            }
            md5.Dispose();
            sha.Dispose();
        }
        _authFailures++;
        if (_authLog.TryLog(now, out long left))
            _log.Info("TURN {0} from {1}: wrong password for REST user {2} (no auth secret of this server made it){3}", request.Method, tuple, name, LogRateLimit.LeftOutNote(left));
        Reply(path, StunReplies.Challenge(request.Method, request.TransactionId, 401, _settings.Realm, _nonces.Create(now, tuple), _settings.Software));
        return false;
    }

    // ------------------------------------------------------------------ Allocate (RFC 8656 §7.2)

    private void Allocate(ClientPath path, StunMessage request, AllocationProtocol.AuthenticatedRequest authenticated, ResponseSigning signing, int attempt)
    {
        var method = request.Method;
        var id = request.TransactionId;
        void Fail(int code, string? reason = null) => Reply(path, StunReplies.Error(method, id, code, _settings.Software, signing, reason));

        if (!request.TryGetRequestedTransport(out byte protocol)) { Fail(400, "REQUESTED-TRANSPORT is missing"); return; }
        // RFC 6062 §5.1: TCP (6) relaying only over a TCP or TLS control connection.
        if (protocol is not (17 or 6)) { Fail(442); return; }
        bool tcpRelay = protocol == 6;
        if (tcpRelay && !path.IsStream) { Fail(400, "A TCP allocation needs a TCP or TLS connection to the server"); return; }
        bool hasReservation = request.Has(StunAttributeType.ReservationToken);
        bool hasEvenPort = request.TryGetEvenPort(out bool reserveNext);
        if (hasReservation && hasEvenPort) { Fail(400, "EVEN-PORT and RESERVATION-TOKEN together"); return; }
        if (tcpRelay && (hasReservation || hasEvenPort)) { Fail(400, "EVEN-PORT and RESERVATION-TOKEN are for UDP allocations"); return; }
        if (hasReservation && request.Has(StunAttributeType.RequestedAddressFamily)) { Fail(400, "REQUESTED-ADDRESS-FAMILY and RESERVATION-TOKEN together"); return; }
        ulong token = 0;
        if (hasReservation && !request.TryGetUInt64(StunAttributeType.ReservationToken, out token)) { Fail(400, "Bad RESERVATION-TOKEN"); return; }

        var family = AddressFamily.InterNetwork;
        bool hasFamily = request.TryGetAddressFamily(StunAttributeType.RequestedAddressFamily, out byte familyCode);
        if (hasFamily && request.Has(StunAttributeType.AdditionalAddressFamily)) { Fail(400, "REQUESTED- and ADDITIONAL-ADDRESS-FAMILY together"); return; }
        if (request.Has(StunAttributeType.RequestedAddressFamily) && !hasFamily) { Fail(400, "Bad REQUESTED-ADDRESS-FAMILY"); return; }
        if (hasFamily)
        {
            if (familyCode == StunAddress.FamilyIPv6) family = AddressFamily.InterNetworkV6;
            else if (familyCode != StunAddress.FamilyIPv4) { Fail(440); return; }
        }
        var relayIp = _settings.RelayAddressFor(family, path.FiveTuple.Server.Address);
        if (relayIp is null && !hasReservation) { Fail(440); return; }

        string user = authenticated.User;
        // RFC 8656 §7.2 across the fleet: the user's allocations here (exact) and on the other nodes (as last published);
        // a full or draining node sends the client to one with room (RFC 8489 §10), signed like any answer to it
        var (admission, alternate) = RelayAdmission.Decide(user, _perUser.GetValueOrDefault(user), _settings.UserQuota, AllocationsInUse,
            _settings.MaxAllocations, _draining, _fleetView, path.FiveTuple.Server.AddressFamily, KindOf(path), redirectable: !hasReservation);
        switch (admission)
        {
            case AdmissionOutcome.QuotaReached: Fail(486); return;
            case AdmissionOutcome.InsufficientCapacity: Fail(508, _draining ? "Draining, and no other node of the fleet has room" : null); return;
            case AdmissionOutcome.TryAlternate:
                _redirected++;
                _log.Debug("Allocate from {0} for {1} redirected to {2} ({3})", path.FiveTuple, user, alternate, _draining ? "draining" : "full");
                Reply(path, StunReplies.TryAlternate(method, id, alternate!, _settings.Software, signing));
                return;
        }

        var lifetime = _settings.DefaultLifetime;
        if (request.TryGetUInt32(StunAttributeType.Lifetime, out uint requested))
            lifetime = ClampLifetime(requested);

        if (hasReservation)
        {
            // RFC 8656 §7.2: the reserved port, once; the token is gone whatever happens next.
            if (!_reservations.TryRedeem(token, out var holder, out _)) { Fail(508, "Unknown or expired reservation token"); return; }
            _redemptions[holder] = new Redemption(path, authenticated, lifetime);
            _waiting.Add(path.FiveTuple);
            Context.Stop(holder); // closes the held socket; OnTerminated then binds the port for this allocation
            return;
        }
        int port;
        if (hasEvenPort && reserveNext)
        {
            if (!_ports.TryTakePair(out port)) { Fail(508, "No pair of relay ports is free"); return; }
            // RFC 8656 §7.2: the next port is held first; the allocation (whose success carries the token) follows.
            var next = new IPEndPoint(relayIp!, port + 1);
            ulong newToken = _reservations.NewToken();
            var holder = Context.ActorOf(Reservation.Props(next, _settings.ReservationLifetime, _sockets), $"reservation-{++_reservationCounter}");
            Context.Watch(holder);
            _reservations.Add(newToken, holder, next);
            _reserving[holder] = new Reserving(path, authenticated, new IPEndPoint(relayIp!, port), lifetime, attempt, newToken);
            _waiting.Add(path.FiveTuple);
            return;
        }
        if (!_ports.TryTake(hasEvenPort, out port)) { Fail(508, "No relay port is free"); return; }
        StartAllocation(path, authenticated, new IPEndPoint(relayIp!, port), lifetime, attempt, null, tcpRelay);
    }

    /// <summary>Gives up a reservation before its time (its allocation could not be made): the port returns to the pool.</summary>
    private void CancelReservation(ulong? token)
    {
        if (token is { } t && _reservations.TryRedeem(t, out var holder, out _)) Context.Stop(holder);
    }

    private void StartAllocation(ClientPath path, AllocationProtocol.AuthenticatedRequest authenticated, IPEndPoint relayBind, TimeSpan lifetime, int attempt,
        ulong? reservation, bool tcpRelay = false)
    {
        string user = authenticated.User;
        int port = relayBind.Port;
        var keys = _users[user];
        var fastPort = path.IsStream || tcpRelay || _poller is null ? null : _listeners.FirstOrDefault(l => Equals(l.UdpActor, path.Socket))?.FastPort;
        var props = fastPort is null
            ? Allocation.Props(_settings, path, user, keys.Md5Bytes, keys.Sha256Bytes, relayBind, lifetime, authenticated, attempt, _sockets, reservation, tcpRelay)
            : Allocation.Props(_settings, path, user, keys.Md5Bytes, keys.Sha256Bytes, relayBind, lifetime, authenticated, attempt,
                new AllocationDataPath(fastPort, path.Client.Serialize(), new RelayPort(_poller!)), reservation);
        var actor = Context.ActorOf(props, $"allocation-{++_allocationCounter}");
        Context.Watch(actor);
        _allocations[path.FiveTuple] = new AllocationRecord(actor, user, port, path, reservation);
        if (path.IsStream) path.Socket.Tell(new TcpConnectionProtocol.KeepOpen(true)); // RFC 8656 §3.1: it lives as long as the allocation
        _allocationByActor[actor] = path.FiveTuple;
        _perUser[user] = _perUser.GetValueOrDefault(user) + 1;
        PublishToFleet();
    }

    /// <summary>RFC 8656 §7.2, §7.5: at least the default, at most the maximum.</summary>
    private TimeSpan ClampLifetime(uint requestedSeconds)
    {
        var requested = TimeSpan.FromSeconds(requestedSeconds);
        if (requested > _settings.MaxLifetime) return _settings.MaxLifetime;
        return requested < _settings.DefaultLifetime ? _settings.DefaultLifetime : requested;
    }

    private void OnRelayBindFailed(AllocationProtocol.RelayBindFailed failed)
    {
        Context.Unwatch(Sender);
        var tuple = failed.Path.FiveTuple;
        if (_allocationByActor.Remove(Sender) && _allocations.Remove(tuple, out var record))
        {
            Forget(record);
            CancelReservation(record.Reservation);
        }
        _log.Debug("Relay port {0} could not be bound ({1}), attempt {2}", failed.Port, failed.Reason, failed.Attempt);
        RetryAllocate(failed.Path, failed.Request, failed.Attempt, failed.Reason);
    }

    /// <summary>Tries the Allocate again on other ports after <paramref name="attempt"/> failed to bind, or answers 508 after the last.</summary>
    private void RetryAllocate(ClientPath path, AllocationProtocol.AuthenticatedRequest authenticated, int attempt, string reason)
    {
        if (!StunMessage.TryParse(authenticated.Request.Span, out var request, out _)) return;
        var keys = _users[authenticated.User];
        var signing = new ResponseSigning(authenticated.Algorithm == PasswordAlgorithm.Sha256 ? keys.Sha256 : keys.Md5, authenticated.UsedSha256);
        if (attempt >= MaxBindAttempts)
        {
            _allocationsFailed++;
            _log.Warning("No relay port could be bound for {0}: {1}", path.FiveTuple, reason);
            Reply(path, StunReplies.Error(StunMethod.Allocate, request.TransactionId, 508, _settings.Software, signing, "No relay port could be bound"));
            return;
        }
        Allocate(path, request, authenticated, signing, attempt + 1);
    }
}
