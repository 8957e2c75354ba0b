using System.Net;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Stun;
using P2P.Actors.Transport;
using P2P.Actors.Transport.Tls;
using P2P.Protocol;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using static P2P.Actors.Turn.TurnClientProtocol;

namespace P2P.Actors.Turn;

/// <summary>
/// The TURN client of one relay candidate (RFC 8656): makes one allocation on one TURN server, reached over UDP
/// TCP or TLS over TCP (<see cref="TurnTransport"/>, RFC 8656 §3.1),
/// answers the long-term credential challenge (401, RFC 8489 §9.2) and stale nonces (438), keeps the
/// allocation, its permissions (§9) and channel bindings (§12) refreshed, and relays datagrams to and
/// from peers. Events go to the owner (by default the parent).
/// <para>
/// The allocator does not own a socket: it sends through the given socket actor
/// (<see cref="UdpSocketProtocol.Send"/>), and whoever handles that socket forwards to it the
/// <see cref="UdpSocketProtocol.Received"/> packets that come from the server's address, so that the
/// relay candidate can share a peer's one socket with its other candidates.
/// </para>
/// <para>
/// Over TCP (<see cref="PropsOverTcp"/>) the allocator owns its connection: a <see cref="StunTcpClient"/> child
/// whose handler it is, since an allocation is tied to its 5-tuple and so to one connection of its own. Requests
/// are then sent once and time out after Ti (RFC 8489 §6.2.2), ChannelData is written padded to a multiple of four
/// bytes (RFC 8656 §12.5; the padding is done here, where the message is built, and the client only checks that
/// each write is one whole frame), and losing the connection loses the allocation (<see cref="AllocationLost"/>:
/// "TURN server … closed the TCP connection"). Over TLS the same, the child doing the handshake first (its
/// <see cref="TlsClientOptions"/> say how the server's certificate is checked). With <see cref="Props"/> and <see cref="TurnTransport.Tcp"/> the
/// caller may instead hand over a connected <see cref="StunTcpClient"/> it owns, forwarding its
/// <see cref="UdpSocketProtocol.Received"/> and <see cref="TcpClientProtocol.Disconnected"/> here.
/// </para>
/// States: <see cref="Connecting"/> (own TCP connection only) → <see cref="Allocating"/> (commands are stashed)
/// → <see cref="Allocated"/> → <see cref="Deallocating"/>; a server that drops the allocation (437, or 438 then 400 on a
/// request for it) sends the allocator from <see cref="Allocated"/> back to <see cref="Allocating"/>
/// (<see cref="AllocationDropped"/>, RFC 8656 §7, §9), within <see cref="TurnClientSettings.MaxReallocations"/>.
/// The actor stops itself after <see cref="AllocationFailed"/>, <see cref="AllocationLost"/> or
/// <see cref="Deallocated"/>; if it is stopped while the allocation exists it sends a best-effort
/// Refresh with LIFETIME 0 (no retransmission), except over its own TCP connection, whose close ends the allocation.
/// </summary>
public sealed class TurnClient : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private const byte UdpProtocolNumber = 17; // REQUESTED-TRANSPORT, RFC 8656 §18.7

    /// <summary>Largest datagram relayed to a peer: a Send indication around it must still fit one UDP datagram (65,507 bytes).</summary>
    public const int MaxPeerData = 65_507 - 64;

    /// <summary>Bounds for scheduling the allocation refresh, whatever LIFETIME the server grants (0 or 136 years).</summary>
    private static readonly TimeSpan MinRefreshDelay = TimeSpan.FromSeconds(1), MaxRefreshDelay = TimeSpan.FromHours(1);

    // ---- requests, remembered per transaction -------------------------------------------------

    private abstract record Request(bool Authenticated, int StaleRetries)
    {
        public abstract StunMethod Method { get; }
        public abstract string Describe();
    }

    private sealed record AllocateRequest(bool Authenticated, int StaleRetries) : Request(Authenticated, StaleRetries)
    {
        public override StunMethod Method => StunMethod.Allocate;
        public override string Describe() => "Allocate";
    }

    /// <summary>Refresh; a zero lifetime is the deallocation (RFC 8656 §8).</summary>
    private sealed record RefreshRequest(TimeSpan Lifetime, bool Authenticated, int StaleRetries) : Request(Authenticated, StaleRetries)
    {
        public override StunMethod Method => StunMethod.Refresh;
        public override string Describe() => Lifetime == TimeSpan.Zero ? "Refresh (deallocate)" : "Refresh";
    }

    private sealed record PermissionRequest(IPAddress Peer, bool IsRefresh, bool Authenticated, int StaleRetries) : Request(Authenticated, StaleRetries)
    {
        public override StunMethod Method => StunMethod.CreatePermission;
        public override string Describe() => $"CreatePermission for {Peer}";
    }

    private sealed record ChannelBindRequest(IPEndPoint Peer, ushort Channel, bool IsRefresh, bool Authenticated, int StaleRetries) : Request(Authenticated, StaleRetries)
    {
        public override StunMethod Method => StunMethod.ChannelBind;
        public override string Describe() => $"ChannelBind 0x{Channel:X4} to {Peer}";
    }

    // ---- timers (each message is also its own timer key) ---------------------------------------

    private sealed record AllocationRefreshTimer
    {
        public static readonly AllocationRefreshTimer Instance = new();
    }

    private sealed record PermissionRefreshTimer(IPAddress Peer);

    /// <summary>Data went to a private peer address for the first time: is the allocation still there?</summary>
    private sealed record AllocationCheckTimer
    {
        public static readonly AllocationCheckTimer Instance = new();
    }

    private sealed record ChannelRefreshTimer(IPEndPoint Peer);

    /// <summary>The Refresh of a <see cref="CheckAllocation"/> got no answer in time.</summary>
    private sealed record AllocationCheckTimedOut
    {
        public static readonly AllocationCheckTimedOut Instance = new();
    }

    // ---- per-peer state ------------------------------------------------------------------------

    private sealed class Permission
    {
        public bool Installed { get; set; }
        public bool RequestPending { get; set; }
        /// <summary>Someone asked with <see cref="CreatePermission"/> and waits for the answer.</summary>
        public bool Announce { get; set; }
        public Queue<SendToPeer> Waiting { get; } = new();
    }

    private sealed class Channel(ushort number, bool automatic)
    {
        public ushort Number { get; } = number;
        public bool Bound { get; set; }

        /// <summary>Bound by the allocator itself for data (<see cref="TurnClientSettings.BindChannels"/>): nobody asked, nobody is told.</summary>
        public bool Automatic { get; set; } = automatic;
    }

    private readonly TurnClientSettings _settings;
    private IPEndPoint _server;                         // changes only when a 300 Try Alternate is followed (RFC 8489 §10)
    private readonly List<IPEndPoint> _triedServers = []; // this allocation attempt's servers: never redirected back to one
    private readonly TurnCredentials _credentials;
    private readonly TurnTransport _transport;
    private readonly TlsClientOptions? _tls; // own connection over TLS
    private readonly bool _ownsConnection;
    private IActorRef _socket;
    private readonly IActorRef _owner;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private StunTransactions<Request> _transactions = null!; // made in PreStart, once Akka has set Timers

    // long-term credential state (RFC 8489 §9.2)
    private string? _realm;
    private string? _nonce;
    private PasswordAlgorithm? _passwordAlgorithm;     // sent in PASSWORD-ALGORITHM when negotiated
    private byte[]? _passwordAlgorithmsValue;          // PASSWORD-ALGORITHMS echoed as received
    private StunIntegrityKey? _key;
    private (PasswordAlgorithm Algorithm, PasswordPreparation Preparation, string Realm)? _keyFor;

    // the allocation
    private IPEndPoint? _relayed;
    private bool _allocationExists;
    private bool _deallocating;
    private readonly Dictionary<IPAddress, Permission> _permissions = [];
    private readonly Dictionary<IPEndPoint, Channel> _channelsByPeer = [];
    private readonly Dictionary<ushort, IPEndPoint> _peersByChannel = [];
    private readonly HashSet<IPEndPoint> _noAutomaticChannel = []; // the server refused one: Send indications for good
    private readonly Dictionary<IPEndPoint, int> _sentWithoutChannel = []; // datagrams as Send indications, until one is asked for
    // for telling which peer a server that dropped the allocation could not reach: who was sent data, who answered
    private readonly HashSet<IPEndPoint> _sentTo = [];
    private readonly HashSet<IPAddress> _heardFrom = [];
    private readonly HashSet<IPEndPoint> _notRelayedTo = []; // private peers sent to, never heard from, before a drop
    private readonly Queue<DateTimeOffset> _drops = new();  // when the server dropped an allocation, within the window
    private string? _reallocatingAfter;                      // set while allocating again: why the last one was dropped
    private bool _serverIsPublic; // on the Internet, as far as its address tells
    private int _connections = 1;                            // own TCP connections made, for the child's name
    private readonly bool _publishChannels;
    private ushort _nextChannel = ChannelData.MinChannel;

    private long _malformed, _strayResponses, _badIntegrity, _foreignSource, _unknownChannel, _ignored, _sendsDropped;

    public ITimerScheduler Timers { get; set; } = null!;
    public IStash Stash { get; set; } = null!;

    public TurnClient(TurnClientSettings settings, IPEndPoint server, TurnCredentials credentials, IActorRef? socket, IActorRef? owner, TurnTransport transport,
        bool publishChannels = false, TlsClientOptions? tls = null)
    {
        _publishChannels = publishChannels && transport == TurnTransport.Udp;
        if (socket is null && transport == TurnTransport.Udp)
            throw new ArgumentException("a socket actor is needed to reach a TURN server over UDP", nameof(socket));
        if (socket is null && transport == TurnTransport.Tls && tls is null)
            throw new ArgumentException("TLS options are needed for a connection of its own over TLS", nameof(tls));
        _tls = socket is null ? tls : null;
        _settings = settings;
        _server = EndPoints.Unmapped(server);
        _serverIsPublic = PeerAddressPolicy.IsAllowed(_server.Address, allowLoopback: false, allowPrivate: false);
        _credentials = credentials;
        _transport = transport;
        _ownsConnection = socket is null;
        _socket = socket ?? ActorRefs.Nobody;
        _owner = owner ?? Context.Parent;
        if (_ownsConnection) Connecting();
        else Allocating();
    }

    /// <summary>The allocator sends through a socket actor someone else owns (a peer's one UDP socket, shared).</summary>
    /// <param name="settings">From <see cref="TurnClientSettings.From"/>.</param>
    /// <param name="server">The TURN server's transport address.</param>
    /// <param name="credentials">Long-term credentials for the server.</param>
    /// <param name="socket">The socket actor to send through; its handler must forward the server's packets here
    /// (and, for a <see cref="StunTcpClient"/>, its <see cref="TcpClientProtocol.Disconnected"/>).</param>
    /// <param name="owner">Gets the events; null means the parent.</param>
    /// <param name="transport">What <paramref name="socket"/> is: a UDP socket, or a connected <see cref="StunTcpClient"/> to the server.</param>
    /// <param name="publishChannels">Over UDP: tell the owner the channels whenever they change (<see cref="TurnClientProtocol.ChannelsChanged"/>),
    /// so that it can move ChannelData on the shared socket itself.</param>
    public static Props Props(TurnClientSettings settings, IPEndPoint server, TurnCredentials credentials, IActorRef socket, IActorRef? owner = null,
        TurnTransport transport = TurnTransport.Udp, bool publishChannels = false)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return Akka.Actor.Props.Create(() => new TurnClient(settings, server, credentials, socket, owner, transport, publishChannels));
    }

    /// <summary>
    /// The allocator reaches the server over TCP (RFC 8656 §3.1) through a connection of its own: it creates a
    /// <see cref="StunTcpClient"/> child named <c>tcp</c>, allocates once connected, and needs nobody to forward
    /// anything to it. A refused or timed-out connection ends in <see cref="AllocationFailed"/>; a connection lost
    /// later in <see cref="AllocationLost"/>.
    /// </summary>
    /// <param name="settings">From <see cref="TurnClientSettings.From"/> (Ti, connect timeout, write queue).</param>
    /// <param name="server">The TURN server's TCP transport address (usually the same address and port as for UDP, 3478).</param>
    /// <param name="credentials">Long-term credentials for the server.</param>
    /// <param name="owner">Gets the events; null means the parent.</param>
    /// <param name="tls">Null: plain TCP. Else TLS over the connection (RFC 8656 §3.1, RFC 8489 §6.2.3), the server's
    /// certificate checked as these say; a failed handshake ends in <see cref="AllocationFailed"/> ("TLS handshake with …").</param>
    public static Props PropsOverTcp(TurnClientSettings settings, IPEndPoint server, TurnCredentials credentials, IActorRef? owner = null,
        TlsClientOptions? tls = null) =>
        Akka.Actor.Props.Create(() => new TurnClient(settings, server, credentials, null, owner, tls == null ? TurnTransport.Tcp : TurnTransport.Tls, false, tls));

    /// <summary>Over TCP or TLS: requests sent once (Ti), ChannelData padded, the allocation tied to the connection.</summary>
    private bool Reliable => _transport != TurnTransport.Udp;

    private string StreamName => _transport == TurnTransport.Tls ? "TLS" : "TCP";

    private IActorRef StartConnection(string name) => Context.ActorOf(StunTcpClient.Props(_server, Self, _settings.TcpWriteQueueBytes,
        _settings.TcpConnectTimeout, tls: _tls, handshakeTimeout: _settings.TlsHandshakeTimeout), name);

    /// <summary>A failing connection is never restarted: a new connection would be a new 5-tuple without the allocation.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        _transactions = new StunTransactions<Request>(_settings.Retransmission, Reliable, Timers, Transmit);
        if (_ownsConnection)
        {
            _socket = StartConnection("tcp");
            Context.Watch(_socket);
            return;
        }
        SendAllocate(new AllocateRequest(Authenticated: false, StaleRetries: 0));
    }

    protected override void PostStop()
    {
        _transactions?.CancelAll();
        if (_allocationExists && _ownsConnection)
        {
            _allocationExists = false; // the connection, our child, is closed already: the server ends the allocation with it
        }
        else if (_allocationExists)
        {
            // Best effort: one Refresh with LIFETIME 0, no retransmission, nobody waits for the answer.
            Transmit(BuildRequest(new RefreshRequest(TimeSpan.Zero, _key is not null, 0)));
            _allocationExists = false;
        }
        _key?.Dispose();
        _key = null;
    }

    // ---- states ----------------------------------------------------------------------------------

    /// <summary>Own TCP connection only: waiting for it before the first Allocate; commands are stashed.</summary>
    private void Connecting()
    {
        Receive<UdpSocketProtocol.Bound>(b =>
        {
            _log.Debug("Connected to TURN server {0} over {1} from {2}", _server, StreamName, b.LocalEndPoint);
            Become(Allocating);
            SendAllocate(new AllocateRequest(Authenticated: false, StaleRetries: 0));
        });
        Receive<UdpSocketProtocol.BindFailed>(f => Fail(f.Reason, null));
        ConnectionEvents();
        Receive<GetStats>(_ => ReplyStats());
        StashUntilAllocated();
    }

    /// <summary>Losing the TCP connection ends the allocation (RFC 8656 §3.1), in every state.</summary>
    private void ConnectionEvents()
    {
        Receive<TcpClientProtocol.Disconnected>(d =>
        {
            if (!_ownsConnection || Sender.Equals(_socket)) OnConnectionLost(d.Reason); // not a connection given up after a drop
        });
        Receive<Terminated>(t =>
        {
            if (t.ActorRef.Equals(_socket)) OnConnectionLost($"the {StreamName} connection to TURN server {_server} failed");
        });
    }

    /// <summary>Before the allocation exists (connecting, allocating): the owner's commands wait, and are unstashed once it does.</summary>
    private void StashUntilAllocated()
    {
        Receive<CheckAllocation>(_ => { }); // being made: its own requests will tell
        Receive<CreatePermission>(_ => Stash.Stash());
        Receive<BindChannel>(_ => Stash.Stash());
        Receive<SendToPeer>(_ => Stash.Stash());
        Receive<Deallocate>(_ => Stash.Stash());
    }

    private void Allocating()
    {
        ConnectionEvents();
        Receive<UdpSocketProtocol.Received>(OnReceived);
        Receive<StunTransactionTimer>(OnTransactionTimer);
        Receive<GetStats>(_ => ReplyStats());
        StashUntilAllocated();
    }

    private void Allocated()
    {
        ConnectionEvents();
        Receive<UdpSocketProtocol.Received>(OnReceived);
        Receive<StunTransactionTimer>(OnTransactionTimer);
        Receive<GetStats>(_ => ReplyStats());
        Receive<CreatePermission>(OnCreatePermission);
        Receive<BindChannel>(OnBindChannel);
        Receive<SendToPeer>(OnSendToPeer);
        Receive<Deallocate>(_ => StartDeallocation());
        Receive<AllocationRefreshTimer>(_ => SendRefresh(new RefreshRequest(_settings.RequestedLifetime, _key is not null, 0)));
        Receive<AllocationCheckTimer>(_ => SendRefresh(new RefreshRequest(_settings.RequestedLifetime, _key is not null, 0)));
        Receive<CheckAllocation>(_ =>
        {
            if (Timers.IsTimerActive(AllocationCheckTimedOut.Instance)) return;
            _log.Info("Checking the allocation {0} on TURN server {1}: a relayed path lost consent", _relayed, _server);
            Timers.StartSingleTimer(AllocationCheckTimedOut.Instance, AllocationCheckTimedOut.Instance, _settings.AllocationCheckTimeout);
            SendRefresh(new RefreshRequest(_settings.RequestedLifetime, _key is not null, 0));
        });
        Receive<AllocationCheckTimedOut>(_ => Lose(
            $"TURN server {_server} did not answer a Refresh within {_settings.AllocationCheckTimeout.TotalSeconds:0.#} s after a relayed path lost consent", null));
        Receive<PermissionRefreshTimer>(t => RefreshPermission(t.Peer));
        Receive<ChannelRefreshTimer>(t => RefreshChannel(t.Peer));
    }

    private void Deallocating()
    {
        ConnectionEvents();
        Receive<UdpSocketProtocol.Received>(OnReceived);
        Receive<StunTransactionTimer>(OnTransactionTimer);
        Receive<GetStats>(_ => ReplyStats());
        Receive<SendToPeer>(_ => _sendsDropped++);
        Receive<CreatePermission>(c => _owner.Tell(new PermissionFailed(c.Peer, "the allocation is being released", null)));
        Receive<BindChannel>(c => _owner.Tell(new ChannelBindFailed(c.Peer, "the allocation is being released", null)));
        Receive<Deallocate>(_ => { });
        Receive<CheckAllocation>(_ => { });
        Receive<AllocationCheckTimedOut>(_ => { });
        Receive<AllocationRefreshTimer>(_ => { });
        Receive<AllocationCheckTimer>(_ => { });
        Receive<PermissionRefreshTimer>(_ => { });
        Receive<ChannelRefreshTimer>(_ => { });
    }

    // ---- commands --------------------------------------------------------------------------------

    private void OnCreatePermission(CreatePermission command)
    {
        var peer = EndPoints.Unmapped(command.Peer);
        var permission = GetOrAddPermission(peer);
        if (permission.Installed)
        {
            _owner.Tell(new PermissionCreated(peer));
            return;
        }
        permission.Announce = true;
        if (!permission.RequestPending) RequestPermission(peer, permission, isRefresh: false);
    }

    private void OnBindChannel(BindChannel command)
    {
        var peer = EndPoints.Unmapped(command.Peer);
        if (_channelsByPeer.TryGetValue(peer, out var existing))
        {
            existing.Automatic = false; // asked for now: its answer is told
            if (existing.Bound) _owner.Tell(new ChannelBound(peer, existing.Number));
            return; // a bind for it is in flight; its answer will be told
        }
        if (_nextChannel > ChannelData.MaxChannel)
        {
            _owner.Tell(new ChannelBindFailed(peer, "no free channel numbers left on this allocation (RFC 8656 §12)", null));
            return;
        }
        // Channel numbers are never reused for another peer during the allocation (RFC 8656 §12: a number
        // stays tied to its peer until the binding has expired for 5 minutes).
        StartChannel(peer, automatic: false);
    }

    private void StartChannel(IPEndPoint peer, bool automatic)
    {
        var channel = new Channel(_nextChannel++, automatic);
        _channelsByPeer[peer] = channel;
        _peersByChannel[channel.Number] = peer;
        Start(new ChannelBindRequest(peer, channel.Number, IsRefresh: false, _key is not null, 0));
    }

    private int CountSend(IPEndPoint peer)
    {
        int sent = _sentWithoutChannel.GetValueOrDefault(peer) + 1;
        _sentWithoutChannel[peer] = sent;
        return sent;
    }

    private void PublishChannels()
    {
        if (!_publishChannels || _deallocating) return;
        var byPeer = new Dictionary<IPEndPoint, ushort>();
        foreach (var (peer, channel) in _channelsByPeer)
            if (channel.Bound) byPeer[peer] = channel.Number;
        _owner.Tell(new ChannelsChanged(byPeer, new Dictionary<ushort, IPEndPoint>(_peersByChannel)));
    }

    private void OnSendToPeer(SendToPeer command)
    {
        var peer = EndPoints.Unmapped(command.Peer);
        if (command.Data.Length > MaxPeerData)
        {
            _sendsDropped++;
            _log.Warning("Dropped a datagram of {0} bytes to {1}: larger than a relayed datagram can be ({2})", command.Data.Length, peer, MaxPeerData);
            return;
        }
        if ((_notRelayedTo.Count > 0 && _notRelayedTo.Contains(peer)) || (_serverIsPublic && !_settings.PrivatePeersThroughPublicServer && IsPrivate(peer.Address)))
        {
            // the server dropped an allocation after data to this peer, which never answered; or the server is on the
            // Internet and the peer on a private network it has no route to (a host candidate behind a NAT)
            _sendsDropped++;
            return;
        }
        if (_channelsByPeer.TryGetValue(peer, out var channel) && channel.Bound)
        {
            // Over TCP the message is padded to a multiple of four bytes (RFC 8656 §12.5); over UDP it is not.
            Transmit(ChannelData.Encode(channel.Number, command.Data.Span, padForStream: Reliable));
            return;
        }
        var permission = GetOrAddPermission(peer.Address);
        if (permission.Installed)
        {
            Transmit(BuildSendIndication(peer, command.Data.Span));
            if (_sentTo.Add(peer) && _settings.AllocationCheckDelay > TimeSpan.Zero
                && IsPrivate(peer.Address) && !Timers.IsTimerActive(AllocationCheckTimer.Instance))
            {
                // A server that cannot reach this address may close the allocation for it (coturn 4.6 does) and say
                // nothing until the next request: ask soon instead of at the next refresh, minutes away.
                Timers.StartSingleTimer(AllocationCheckTimer.Instance, AllocationCheckTimer.Instance, _settings.AllocationCheckDelay);
            }
            // Data keeps flowing to this peer: a channel makes each datagram 32 bytes shorter and lets the relay forward
            // it without parsing STUN. Numbers are never reused within an allocation; when they run out, indications stay.
            if (_settings.BindChannels && channel is null && _nextChannel <= ChannelData.MaxChannel && !_noAutomaticChannel.Contains(peer)
                && CountSend(peer) >= _settings.BindChannelAfter)
            {
                _sentWithoutChannel.Remove(peer);
                StartChannel(peer, automatic: true);
            }
            return;
        }
        // No permission yet: the server would drop the data (RFC 8656 §9), so ask for one explicitly
        // and let the datagram wait for the answer.
        if (permission.Waiting.Count >= _settings.MaxQueuedPerPeer)
        {
            _sendsDropped++;
        }
        else
        {
            permission.Waiting.Enqueue(command with { Peer = peer });
        }
        if (!permission.RequestPending) RequestPermission(peer.Address, permission, isRefresh: false);
    }

    private void StartDeallocation()
    {
        if (_publishChannels) _owner.Tell(ChannelsChanged.None);
        Timers.CancelAll();
        _transactions.CancelAll();
        _deallocating = true;
        Become(Deallocating);
        Start(new RefreshRequest(TimeSpan.Zero, _key is not null, 0));
    }

    // ---- refreshes -------------------------------------------------------------------------------

    private void SendRefresh(RefreshRequest request) => Start(request);

    private void RefreshPermission(IPAddress peer)
    {
        if (_permissions.TryGetValue(peer, out var permission) && permission.Installed && !permission.RequestPending)
            RequestPermission(peer, permission, isRefresh: true);
    }

    private void RefreshChannel(IPEndPoint peer)
    {
        if (_channelsByPeer.TryGetValue(peer, out var channel) && channel.Bound)
            Start(new ChannelBindRequest(peer, channel.Number, IsRefresh: true, _key is not null, 0));
    }

    private void RequestPermission(IPAddress peer, Permission permission, bool isRefresh)
    {
        permission.RequestPending = true;
        Start(new PermissionRequest(peer, isRefresh, _key is not null, 0));
    }

    private Permission GetOrAddPermission(IPAddress peer)
    {
        if (!_permissions.TryGetValue(peer, out var permission))
        {
            permission = new Permission();
            _permissions[peer] = permission;
        }
        return permission;
    }

    private void ScheduleAllocationRefresh(TimeSpan lifetime)
    {
        // Refresh a margin before expiry; for short lifetimes at half of it (RFC 8656 §8).
        var margin = _settings.RefreshBeforeExpiry;
        var delay = lifetime > margin + margin ? lifetime - margin : lifetime / 2;
        delay = delay < MinRefreshDelay ? MinRefreshDelay : delay > MaxRefreshDelay ? MaxRefreshDelay : delay;
        Timers.StartSingleTimer(AllocationRefreshTimer.Instance, AllocationRefreshTimer.Instance, delay);
    }

    // ---- packets from the server -----------------------------------------------------------------

    private void OnReceived(UdpSocketProtocol.Received received)
    {
        if (!EndPoints.Unmapped(received.From).Equals(_server))
        {
            _foreignSource++;
            return;
        }
        var packet = received.Payload.Span;
        if (PacketDemultiplexer.Classify(packet) == PacketKind.Stun) OnStun(packet);
        else if (ChannelData.LooksLikeChannelData(packet)) OnChannelData(packet);
        else _malformed++;
    }

    private void OnStun(ReadOnlySpan<byte> packet)
    {
        if (!StunMessage.TryParse(packet, out var message, out var error))
        {
            _malformed++;
            _log.Debug("Dropped a bad STUN packet from TURN server {0}: {1}", _server, error);
            return;
        }
        switch (message.Class)
        {
            case StunClass.SuccessResponse:
            case StunClass.ErrorResponse:
                OnResponse(message);
                break;
            case StunClass.Indication when message.Method == StunMethod.Data:
                OnDataIndication(message);
                break;
            default:
                _ignored++;
                break;
        }
    }

    private void OnDataIndication(in StunMessage message)
    {
        if (_relayed is null)
        {
            _ignored++;
            return;
        }
        if (!message.TryGetAddress(StunAttributeType.XorPeerAddress, out var peer) || !message.TryGetAttribute(StunAttributeType.Data, out var data))
        {
            _malformed++;
            return;
        }
        var from = peer.ToEndPoint();
        _heardFrom.Add(from.Address);
        _owner.Tell(new PeerData(from, data.ToArray(), ViaChannel: false));
    }

    private void OnChannelData(ReadOnlySpan<byte> packet)
    {
        if (!ChannelData.TryParse(packet, out ushort number, out var data, out _))
        {
            _malformed++;
            return;
        }
        if (!_peersByChannel.TryGetValue(number, out var peer))
        {
            _unknownChannel++;
            return;
        }
        _heardFrom.Add(peer.Address);
        _owner.Tell(new PeerData(peer, data.ToArray(), ViaChannel: true));
    }

    private void OnResponse(in StunMessage message)
    {
        if (!_transactions.TryPeek(message.TransactionId, out var request) || message.Method != request.Method)
        {
            _strayResponses++;
            return;
        }
        int code = 0;
        string reason = string.Empty;
        bool isError = message.Class == StunClass.ErrorResponse;
        if (isError && !message.TryGetErrorCode(out code, out reason))
        {
            _malformed++; // an error response without a valid ERROR-CODE: as if never received
            return;
        }
        // RFC 8489 §9.2.5: 401 and 438 are challenges (the server cannot sign them with a key it refused).
        // Any other response to an authenticated request must carry integrity that verifies, or it is
        // discarded as if never received and retransmissions go on. Error responses without any integrity
        // are accepted, as servers commonly send them that way (for example 403 or 508).
        bool challenge = isError && code is 401 or 438;
        if (!challenge && request.Authenticated && _key is not null)
        {
            bool signed = message.HasMessageIntegrity || message.HasMessageIntegritySha256;
            // RFC 8489 §10: an unsigned 300 to an authenticated request is not trusted (it could send us anywhere)
            if ((signed && message.VerifyIntegrity(_key) != StunError.None) || (!signed && (!isError || code == 300)))
            {
                _badIntegrity++;
                return;
            }
        }
        _transactions.TryComplete(message.TransactionId, out _);

        switch (request)
        {
            case AllocateRequest allocate: OnAllocateResponse(allocate, message, code, reason); break;
            case RefreshRequest refresh: OnRefreshResponse(refresh, message, code, reason); break;
            case PermissionRequest permission: OnPermissionResponse(permission, message, code, reason); break;
            case ChannelBindRequest bind: OnChannelBindResponse(bind, message, code, reason); break;
        }
    }

    private void OnAllocateResponse(AllocateRequest request, in StunMessage message, int code, string reason)
    {
        if (message.Class == StunClass.SuccessResponse)
        {
            if (!message.TryGetAddress(StunAttributeType.XorRelayedAddress, out var relayed))
            {
                Fail($"TURN server {_server} answered Allocate without a relayed address (XOR-RELAYED-ADDRESS)", null);
                return;
            }
            IPEndPoint? mapped = message.TryGetAddress(StunAttributeType.XorMappedAddress, out var m) ? m.ToEndPoint() : null;
            var lifetime = message.TryGetUInt32(StunAttributeType.Lifetime, out uint seconds) ? TimeSpan.FromSeconds(seconds) : _settings.RequestedLifetime;
            _relayed = relayed.ToEndPoint();
            _allocationExists = true;
            _reallocatingAfter = null;
            _triedServers.Clear(); // the attempt is over: a later one may be redirected afresh
            _log.Info("TURN allocation on {0}: relayed {1}, mapped {2}, lifetime {3}", _server, _relayed, mapped, lifetime);
            ScheduleAllocationRefresh(lifetime);
            Become(Allocated);
            _owner.Tell(new AllocationSucceeded(_relayed, mapped, lifetime, _transport));
            Stash.UnstashAll();
            return;
        }
        switch (code)
        {
            case 401 when !request.Authenticated:
                if (TryTakeChallenge(message, out string? problem)) SendAllocate(new AllocateRequest(Authenticated: true, request.StaleRetries));
                else Fail(problem!, code);
                return;
            case 401:
                Fail($"TURN server {_server} refused credentials for user '{_credentials.Username}' ({Describe(code, reason)})", code);
                return;
            case 438 when request.StaleRetries < _settings.MaxStaleNonceRetries:
                if (TryTakeChallenge(message, out problem)) SendAllocate(new AllocateRequest(Authenticated: true, request.StaleRetries + 1));
                else Fail(problem!, code);
                return;
            case 438:
                Fail($"TURN server {_server} kept answering Allocate with {Describe(code, reason)} after {request.StaleRetries} fresh nonces", code);
                return;
            case 300:
                if (!message.TryGetAddress(StunAttributeType.AlternateServer, out var alternate))
                {
                    Fail($"TURN server {_server} answered {Describe(code, reason)} without an ALTERNATE-SERVER", code);
                    return;
                }
                if (RedirectRefusal(alternate.ToEndPoint()) is { } refusal)
                {
                    Fail($"TURN server {_server} redirects to {alternate.ToEndPoint()} ({Describe(code, reason)}), which is not followed: {refusal}", code);
                    return;
                }
                Redirect(alternate.ToEndPoint());
                return;
            default:
                Fail($"TURN server {_server} rejected the allocation ({Describe(code, reason)})", code);
                return;
        }
    }

    private void OnRefreshResponse(RefreshRequest request, in StunMessage message, int code, string reason)
    {
        bool deallocating = request.Lifetime == TimeSpan.Zero;
        if (code == 438 && request.StaleRetries < _settings.MaxStaleNonceRetries && TryTakeChallenge(message, out _))
        {
            Start(request with { Authenticated = _key is not null, StaleRetries = request.StaleRetries + 1 });
            return;
        }
        if (deallocating)
        {
            // Success, 437 (no such allocation any more) or any other answer: it is gone or will expire.
            FinishDeallocation(message.Class == StunClass.SuccessResponse ? "released" : $"release answered {Describe(code, reason)}");
            return;
        }
        if (message.Class == StunClass.SuccessResponse)
        {
            var lifetime = message.TryGetUInt32(StunAttributeType.Lifetime, out uint seconds) ? TimeSpan.FromSeconds(seconds) : request.Lifetime;
            Timers.Cancel(AllocationCheckTimedOut.Instance);
            ScheduleAllocationRefresh(lifetime);
            _owner.Tell(new AllocationRefreshed(lifetime));
            return;
        }
        if (IsDropped(request, code))
        {
            Drop(request, code, reason);
            return;
        }
        Lose($"TURN server {_server} refused to refresh the allocation ({Describe(code, reason)})", code);
    }

    private void OnPermissionResponse(PermissionRequest request, in StunMessage message, int code, string reason)
    {
        if (!_permissions.TryGetValue(request.Peer, out var permission)) return; // forgotten meanwhile
        if (code == 438 && request.StaleRetries < _settings.MaxStaleNonceRetries && TryTakeChallenge(message, out _))
        {
            Start(request with { Authenticated = _key is not null, StaleRetries = request.StaleRetries + 1 });
            return;
        }
        permission.RequestPending = false;
        if (message.Class == StunClass.SuccessResponse)
        {
            PermissionInstalled(request.Peer, permission);
            return;
        }
        if (IsDropped(request, code))
        {
            Drop(request, code, reason);
            return;
        }
        PermissionFailedFor(request.Peer, permission, $"TURN server {_server} refused a permission for {request.Peer} ({Describe(code, reason)})", code);
    }

    private void OnChannelBindResponse(ChannelBindRequest request, in StunMessage message, int code, string reason)
    {
        if (!_channelsByPeer.TryGetValue(request.Peer, out var channel) || channel.Number != request.Channel) return;
        if (code == 438 && request.StaleRetries < _settings.MaxStaleNonceRetries && TryTakeChallenge(message, out _))
        {
            Start(request with { Authenticated = _key is not null, StaleRetries = request.StaleRetries + 1 });
            return;
        }
        if (message.Class == StunClass.SuccessResponse)
        {
            bool announce = !channel.Bound;
            channel.Bound = true;
            Timers.StartSingleTimer(new ChannelRefreshTimer(request.Peer), new ChannelRefreshTimer(request.Peer), _settings.ChannelRefreshInterval);
            // A channel binding installs or refreshes the permission for the peer's address too (RFC 8656 §12).
            var permission = GetOrAddPermission(request.Peer.Address);
            if (!permission.Installed || permission.Waiting.Count > 0) PermissionInstalled(request.Peer.Address, permission);
            if (announce && !channel.Automatic) _owner.Tell(new ChannelBound(request.Peer, channel.Number));
            if (announce) PublishChannels();
            return;
        }
        if (IsDropped(request, code))
        {
            Drop(request, code, reason);
            return;
        }
        ChannelFailed(request.Peer, channel, $"TURN server {_server} refused to bind channel 0x{request.Channel:X4} to {request.Peer} ({Describe(code, reason)})", code);
    }

    private void PermissionInstalled(IPAddress peer, Permission permission)
    {
        bool announce = permission.Announce || !permission.Installed; // told once, and to whoever asked; not on refreshes
        permission.Installed = true;
        permission.Announce = false;
        Timers.StartSingleTimer(new PermissionRefreshTimer(peer), new PermissionRefreshTimer(peer), _settings.PermissionRefreshInterval);
        if (announce) _owner.Tell(new PermissionCreated(peer));
        while (permission.Waiting.TryDequeue(out var send)) OnSendToPeer(send);
    }

    private void PermissionFailedFor(IPAddress peer, Permission permission, string why, int? code)
    {
        _log.Warning("{0}", why);
        _sendsDropped += permission.Waiting.Count;
        _permissions.Remove(peer);
        Timers.Cancel(new PermissionRefreshTimer(peer));
        _owner.Tell(new PermissionFailed(peer, why, code));
    }

    private void ChannelFailed(IPEndPoint peer, Channel channel, string why, int? code)
    {
        _channelsByPeer.Remove(peer);
        if (channel.Bound) PublishChannels();
        // The number stays reserved in _peersByChannel: late ChannelData on it still names the right peer.
        Timers.Cancel(new ChannelRefreshTimer(peer));
        if (channel.Automatic)
        {
            // Nobody asked for it; the data goes on as Send indications, and the server is not asked again for this peer.
            _noAutomaticChannel.Add(peer);
            _log.Info("{0}; data to {1} goes on as Send indications", why, peer);
            return;
        }
        _log.Warning("{0}", why);
        _owner.Tell(new ChannelBindFailed(peer, why, code));
    }

    private void OnTransactionTimer(StunTransactionTimer timer)
    {
        if (_transactions.OnTimer(timer, out var request, out int sent) != StunTransactionTimerResult.TimedOut) return;
        var total = _settings.Retransmission.TotalTimeout(Reliable);
        string why = $"TURN server {_server} did not answer {request.Describe()} ({sent} {(sent == 1 ? "request" : "requests")} over {total.TotalSeconds:0.#} s{(Reliable ? $" over {StreamName}" : string.Empty)})";
        switch (request)
        {
            case AllocateRequest:
                Fail(why, null);
                break;
            case RefreshRequest { Lifetime.Ticks: 0 }:
                FinishDeallocation("release not answered");
                break;
            case RefreshRequest:
                Lose(why, null);
                break;
            case PermissionRequest p when _permissions.TryGetValue(p.Peer, out var permission):
                permission.RequestPending = false;
                PermissionFailedFor(p.Peer, permission, why, null);
                break;
            case ChannelBindRequest c when _channelsByPeer.TryGetValue(c.Peer, out var channel) && channel.Number == c.Channel:
                ChannelFailed(c.Peer, channel, why, null);
                break;
        }
    }

    // ---- 300 Try Alternate (RFC 8489 §10) -----------------------------------------------------------

    /// <summary>Why a redirect to <paramref name="to"/> is not followed, or null when it is.</summary>
    private string? RedirectRefusal(IPEndPoint to)
    {
        to = EndPoints.Unmapped(to);
        if (_triedServers.Count == 0) _triedServers.Add(_server);
        if (_triedServers.Contains(to)) return "this allocation was already asked there (no redirect loops, RFC 8489 §10)";
        if (_triedServers.Count > _settings.MaxRedirects) return $"{_settings.MaxRedirects} redirects were followed already (p2p.turn-client.max-redirects)";
        if (to.AddressFamily != _server.AddressFamily) return "another address family";
        if (to.Port == 0 || to.Address.Equals(IPAddress.Any) || to.Address.Equals(IPAddress.IPv6Any)) return "not a usable address";
        if (!_ownsConnection && _transport != TurnTransport.Udp) return "the connection to the server was given to this allocator, which cannot open another";
        return null;
    }

    /// <summary>
    /// Asks the alternate server instead, over the same transport (RFC 8489 §10): the owner is told first (over its UDP
    /// socket it must forward the new server's packets here); over an own TCP or TLS connection a new connection to the
    /// new server comes first. The credentials are the same; the new server's nonce and realm come with its challenge.
    /// </summary>
    private void Redirect(IPEndPoint to)
    {
        to = EndPoints.Unmapped(to);
        var from = _server;
        _triedServers.Add(to);
        _log.Info("TURN server {0} redirects the allocation to {1} (300 Try Alternate)", from, to);
        _server = to;
        _serverIsPublic = PeerAddressPolicy.IsAllowed(_server.Address, allowLoopback: false, allowPrivate: false);
        _nonce = null;
        _realm = null;
        _passwordAlgorithm = null;
        _passwordAlgorithmsValue = null;
        _owner.Tell(new AllocationRedirected(from, to));
        if (_ownsConnection)
        {
            Context.Unwatch(_socket);
            Context.Stop(_socket);
            _socket = StartConnection($"tcp-{++_connections}");
            Context.Watch(_socket);
            Become(Connecting);
            return;
        }
        SendAllocate(new AllocateRequest(Authenticated: false, StaleRetries: 0));
    }

    // ---- the server dropped the allocation ---------------------------------------------------------

    /// <summary>
    /// Whether an answer to a request for the allocation says the server no longer has it: 437 Allocation Mismatch
    /// (RFC 8656 §7.2, §9), or 400 to a request retried after 438 Stale Nonce: a server that has closed an allocation
    /// (coturn 4.6 does when a relayed send to a peer fails) treats the 5-tuple's next request as a new client's,
    /// challenges it with a fresh nonce, then refuses it since there is no allocation for it.
    /// </summary>
    /// <summary>RFC 1918, RFC 6598, ULA, link-local: not reachable from the Internet (loopback is not counted).</summary>
    private static bool IsPrivate(IPAddress address) => !PeerAddressPolicy.IsAllowed(address, allowLoopback: true, allowPrivate: false);

    private static bool IsDropped(Request request, int code) => code == 437 || (code == 400 && request.StaleRetries > 0);

    /// <summary>
    /// The server dropped the allocation: tell the owner, forget the allocation's permissions and channels, and allocate
    /// again from the same 5-tuple (RFC 8656 §7: a client whose allocation is gone may allocate anew), within
    /// <see cref="TurnClientSettings.MaxReallocations"/> per <see cref="TurnClientSettings.ReallocationWindow"/>. A private
    /// peer address that was sent data and never answered is what a server on the Internet cannot reach, and what makes
    /// coturn close the allocation: no more data goes to it through this allocator.
    /// </summary>
    private void Drop(Request request, int code, string reason)
    {
        string how = code == 437 ? Describe(code, reason) : $"438 Stale Nonce, then {Describe(code, reason)}";
        Drop($"TURN server {_server} dropped the allocation {_relayed} ({request.Describe()} answered {how})", code, reconnect: false);
    }

    /// <param name="reconnect">Over its own TCP connection, which the server closed with the allocation: a new connection first.</param>
    private void Drop(string why, int? code, bool reconnect)
    {
        var now = Context.System.Scheduler.Now;
        while (_drops.Count > 0 && now - _drops.Peek() >= _settings.ReallocationWindow) _drops.Dequeue();
        _drops.Enqueue(now);
        if (_drops.Count > _settings.MaxReallocations)
        {
            Lose($"{why}; it dropped {_drops.Count} allocations within {_settings.ReallocationWindow.TotalMinutes:0.#} min, so no new one is asked for", code);
            return;
        }
        var unreachable = new List<IPEndPoint>();
        foreach (var peer in _sentTo)
        {
            bool channelBound = _channelsByPeer.TryGetValue(peer, out var channel) && channel.Bound;
            if (!channelBound && !_heardFrom.Contains(peer.Address) && IsPrivate(peer.Address)
                && _notRelayedTo.Add(peer))
                unreachable.Add(peer);
        }
        var dropped = _relayed!;
        ForgetAllocation();
        _log.Warning("{0}; allocating again (RFC 8656 §7){1}", why,
            unreachable.Count == 0 ? string.Empty : $"; no more data to {string.Join(", ", unreachable)} through it (private, never answered)");
        _owner.Tell(new AllocationDropped(dropped, why, code, unreachable));
        _reallocatingAfter = why;
        if (reconnect)
        {
            _socket = StartConnection($"tcp-{++_connections}");
            Context.Watch(_socket);
            Become(Connecting);
            return;
        }
        Become(Allocating);
        SendAllocate(new AllocateRequest(Authenticated: false, StaleRetries: 0));
    }

    /// <summary>Everything that belonged to the allocation the server dropped; the credentials and the peers it could not reach stay.</summary>
    private void ForgetAllocation()
    {
        if (_publishChannels) _owner.Tell(ChannelsChanged.None);
        Timers.CancelAll();
        _transactions.CancelAll();
        foreach (var permission in _permissions.Values) _sendsDropped += permission.Waiting.Count;
        _permissions.Clear();
        _channelsByPeer.Clear();
        _peersByChannel.Clear();
        _noAutomaticChannel.Clear();
        _sentWithoutChannel.Clear();
        _sentTo.Clear();
        _heardFrom.Clear();
        _nextChannel = ChannelData.MinChannel;
        _relayed = null;
        _allocationExists = false;
    }

    // ---- endings ---------------------------------------------------------------------------------

    private void OnConnectionLost(string reason)
    {
        if (_relayed is null) Fail(reason, null);
        else if (!_allocationExists) return; // already told
        else if (_deallocating) FinishDeallocation($"released with the {StreamName} connection ({reason})");
        else if (_ownsConnection) Drop($"TURN server {_server} dropped the allocation {_relayed}: {reason}", null, reconnect: true); // coturn resets it
        else Lose(reason, null);
    }

    private void Fail(string reason, int? code)
    {
        if (_reallocatingAfter is { } dropped)
        {
            Lose($"{dropped}, and allocating again failed: {reason}", code);
            return;
        }
        _log.Warning("TURN allocation failed: {0}", reason);
        _owner.Tell(new AllocationFailed(reason, code));
        Context.Stop(Self);
    }

    private void Lose(string reason, int? code)
    {
        _log.Warning("TURN allocation lost: {0}", reason);
        if (_publishChannels) _owner.Tell(ChannelsChanged.None);
        _allocationExists = false;
        _owner.Tell(new AllocationLost(reason, code));
        Context.Stop(Self);
    }

    private void FinishDeallocation(string how)
    {
        _log.Info("TURN allocation {0} on {1}: {2}", _relayed, _server, how);
        _allocationExists = false;
        _owner.Tell(Deallocated.Instance);
        Context.Stop(Self);
    }

    // ---- credentials -----------------------------------------------------------------------------

    /// <summary>
    /// Takes REALM, NONCE and, when the nonce carries the RFC 8489 cookie with the password-algorithms
    /// bit, PASSWORD-ALGORITHMS from a 401 or 438, and derives the key (RFC 8489 §9.2.4, §9.2.5).
    /// SHA-256 is preferred when offered; a server without the cookie (RFC 5389) gets MD5 and SASLprep.
    /// </summary>
    private bool TryTakeChallenge(in StunMessage message, out string? problem)
    {
        problem = null;
        if (!message.TryGetString(StunAttributeType.Nonce, out string nonce) || nonce.Length == 0)
        {
            problem = $"TURN server {_server} sent a challenge without a NONCE";
            return false;
        }
        string? realm = message.TryGetString(StunAttributeType.Realm, out string r) ? r : _realm;
        if (realm is null)
        {
            problem = $"TURN server {_server} sent a challenge without a REALM";
            return false;
        }

        var algorithm = PasswordAlgorithm.Md5;
        var preparation = PasswordPreparation.SaslPrep;
        PasswordAlgorithm? sentAlgorithm = null;
        byte[]? algorithmsValue = null;
        if (NonceCookie.TryParse(nonce, out var features) && features.HasFlag(SecurityFeatures.PasswordAlgorithms))
        {
            preparation = PasswordPreparation.OpaqueString;
            Span<PasswordAlgorithm> offered = stackalloc PasswordAlgorithm[16];
            if (message.TryGetAttribute(StunAttributeType.PasswordAlgorithms, out var raw))
            {
                if (!message.TryGetPasswordAlgorithms(offered, out int count) || count == 0)
                {
                    problem = $"TURN server {_server} sent a malformed PASSWORD-ALGORITHMS";
                    return false;
                }
                offered = offered[..count];
                if (offered.Contains(PasswordAlgorithm.Sha256)) algorithm = PasswordAlgorithm.Sha256;
                else if (offered.Contains(PasswordAlgorithm.Md5)) algorithm = PasswordAlgorithm.Md5;
                else
                {
                    problem = $"TURN server {_server} offers no password algorithm this client supports (MD5, SHA-256)";
                    return false;
                }
                sentAlgorithm = algorithm;
                algorithmsValue = raw.ToArray();
            }
        }

        if (_key is null || _keyFor != (algorithm, preparation, realm))
        {
            if (!StunCredentials.TryDeriveLongTermKey(algorithm, _credentials.Username, realm, _credentials.Password, out byte[] key, out string? error, preparation))
            {
                problem = $"cannot use the credentials for TURN server {_server}: {error}";
                return false;
            }
            _key?.Dispose();
            _key = new StunIntegrityKey(key);
            _keyFor = (algorithm, preparation, realm);
        }
        _realm = realm;
        _nonce = nonce;
        _passwordAlgorithm = sentAlgorithm;
        _passwordAlgorithmsValue = algorithmsValue;
        return true;
    }

    // ---- building and sending ----------------------------------------------------------------------

    private void SendAllocate(AllocateRequest request) => Start(request);

    private void Start(Request request) => _transactions.Start(BuildRequest(request), request);

    private void Transmit(ReadOnlyMemory<byte> packet) => _socket.Tell(new UdpSocketProtocol.Send(_server, packet), Self);

    private byte[] BuildRequest(Request request)
    {
        Span<byte> buffer = stackalloc byte[4096]; // USERNAME, REALM, NONCE, SOFTWARE are each < 764 bytes
        var writer = new StunMessageWriter(buffer, request.Method, StunClass.Request, TransactionId.NewRandom());
        switch (request)
        {
            case AllocateRequest:
                writer.AddRequestedTransport(UdpProtocolNumber);
                writer.AddUInt32(StunAttributeType.Lifetime, Seconds(_settings.RequestedLifetime));
                break;
            case RefreshRequest refresh:
                writer.AddUInt32(StunAttributeType.Lifetime, Seconds(refresh.Lifetime));
                break;
            case PermissionRequest permission:
                writer.AddAddress(StunAttributeType.XorPeerAddress, StunAddress.From(new IPEndPoint(permission.Peer, 0)));
                break;
            case ChannelBindRequest bind:
                writer.AddChannelNumber(bind.Channel);
                writer.AddAddress(StunAttributeType.XorPeerAddress, StunAddress.From(bind.Peer));
                break;
        }
        if (_settings.Software.Length > 0) writer.AddString(StunAttributeType.Software, _settings.Software);
        if (request.Authenticated && _key is not null)
        {
            writer.AddString(StunAttributeType.Username, _credentials.Username);
            writer.AddString(StunAttributeType.Realm, _realm!);
            writer.AddString(StunAttributeType.Nonce, _nonce!);
            if (_passwordAlgorithmsValue is not null) writer.AddBytes(StunAttributeType.PasswordAlgorithms, _passwordAlgorithmsValue);
            if (_passwordAlgorithm is { } algorithm) writer.AddPasswordAlgorithm(algorithm);
            if (_keyFor?.Algorithm == PasswordAlgorithm.Sha256) writer.AddMessageIntegritySha256(_key);
            else writer.AddMessageIntegrity(_key);
        }
        if (_settings.Fingerprint) writer.AddFingerprint();
        return writer.ToArray();
    }

    private byte[] BuildSendIndication(IPEndPoint peer, ReadOnlySpan<byte> data)
    {
        var address = StunAddress.From(peer);
        int size = StunMessage.HeaderLength + 4 + address.EncodedLength + 4 + ((data.Length + 3) & ~3) + (_settings.Fingerprint ? 8 : 0);
        var packet = new byte[size];
        var writer = new StunMessageWriter(packet, StunMethod.Send, StunClass.Indication, TransactionId.NewRandom());
        writer.AddAddress(StunAttributeType.XorPeerAddress, address);
        writer.AddBytes(StunAttributeType.Data, data);
        if (_settings.Fingerprint) writer.AddFingerprint();
        return packet;
    }

    private static uint Seconds(TimeSpan t) => (uint)Math.Clamp(t.TotalSeconds, 0, uint.MaxValue);

    private static string Describe(int code, string reason) => DescribeTrimmed(code, reason.Trim().TrimEnd('\0').Trim()); // coturn ends reasons with NUL

    private static string DescribeTrimmed(int code, string reason) =>
        $"{code} {(reason.Length > 0 ? reason : code switch
        {
            300 => "Try Alternate", 400 => "Bad Request", 401 => "Unauthorized", 403 => "Forbidden", 420 => "Unknown Attribute",
            437 => "Allocation Mismatch", 438 => "Stale Nonce", 440 => "Address Family not Supported", 441 => "Wrong Credentials",
            442 => "Unsupported Transport Protocol", 443 => "Peer Address Family Mismatch", 486 => "Allocation Quota Reached",
            500 => "Server Error", 508 => "Insufficient Capacity", _ => "error",
        })}";


    private void ReplyStats() =>
        Sender.Tell(new Stats(_malformed, _strayResponses, _badIntegrity, _foreignSource, _unknownChannel, _ignored, _sendsDropped));
}
