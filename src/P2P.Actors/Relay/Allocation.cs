using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Transport;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;

namespace P2P.Actors.Relay;

/// <summary>
/// One TURN allocation (RFC 8656 §5): its relayed transport address (a UDP socket child, made by the server's <see cref="IUdpSocketFactory"/>),
/// its permissions (§9, per peer IP, 300 s) and channel bindings (§12, 600 s), and its lifetime (§7),
/// each expiring through a timer. States: <c>Binding</c> until the relayed socket is bound (then the
/// client gets its Allocate success), <c>Active</c> after. Requests arrive already authenticated by
/// the <see cref="RelayServer"/>; this actor checks they come from the allocation's user (441) and
/// answers them signed with its own keys. Data from peers without a permission is dropped and counted.
/// <para>
/// An RFC 6062 TCP allocation relays on a TCP address instead (a <see cref="TcpRelayListener"/> child): Connect opens a
/// <see cref="TcpPeerConnection"/> child to a peer (446 when one exists or is being made, 447 when it fails), a permitted
/// peer that connects to the relayed address gets one too and the client a ConnectionAttempt indication; each has a
/// CONNECTION-ID, and a ConnectionBind on a new client connection (routed here by the server) binds that connection to it.
/// ChannelBind, Send indications and ChannelData are not used on a TCP allocation (400, dropped).
/// </para>
/// </summary>
public sealed class Allocation : ReceiveActor, IWithTimers
{
    private sealed record LifetimeTimer;

    private readonly RelaySettings _settings;
    private readonly ClientPath _client;
    private readonly string _user;
    private readonly StunIntegrityKey _md5;
    private readonly StunIntegrityKey _sha256;
    private readonly IPEndPoint _relayBind;
    private readonly TimeSpan _initialLifetime;
    private readonly AllocationProtocol.AuthenticatedRequest _allocateRequest;
    private readonly int _attempt;
    private readonly IUdpSocketFactory _sockets;
    private readonly AllocationDataPath? _dataPath;
    private readonly ulong? _reservationToken;
    private readonly bool _tcp;
    private readonly Dictionary<uint, (IActorRef Actor, IPEndPoint Peer)> _peerConnections = [];
    private readonly Dictionary<IPEndPoint, uint> _connectionByPeer = [];
    /// <summary>Connect requests waiting for their TCP connection: connection id → the request's id and signing.</summary>
    private readonly Dictionary<uint, (TransactionId Id, ResponseSigning Signing)> _pendingConnects = [];
    private readonly HashSet<uint> _boundConnections = [];
    private readonly TransactionId _allocateId;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    /// <summary>Peer IP → expiry as <see cref="Environment.TickCount64"/> (for the data path; the timers remove entries).</summary>
    private readonly Dictionary<IPAddress, long> _permissions = [];
    private readonly Dictionary<ushort, IPEndPoint> _channels = [];
    private readonly Dictionary<ushort, long> _channelExpiry = [];
    private readonly Dictionary<IPEndPoint, ushort> _channelByPeer = [];
    private IActorRef _socket = ActorRefs.Nobody;
    private IPEndPoint? _relayed;
    private ReadOnlyMemory<byte> _allocateResponse;
    private long _toPeer, _fromPeer, _droppedNoPermission, _malformed;

    public ITimerScheduler Timers { get; set; } = null!;

    private Allocation(RelaySettings settings, ClientPath client, string user, byte[] md5Key, byte[] sha256Key, IPEndPoint relayBind,
        TimeSpan lifetime, AllocationProtocol.AuthenticatedRequest allocateRequest, int attempt, IUdpSocketFactory sockets, AllocationDataPath? dataPath,
        ulong? reservationToken, bool tcp)
    {
        _reservationToken = reservationToken;
        _tcp = tcp;
        _sockets = sockets;
        _dataPath = dataPath;
        _settings = settings;
        _client = client;
        _user = user;
        _md5 = new StunIntegrityKey(md5Key);
        _sha256 = new StunIntegrityKey(sha256Key);
        _relayBind = relayBind;
        _initialLifetime = lifetime;
        _allocateRequest = allocateRequest;
        _attempt = attempt;
        _allocateId = TransactionId.Read(allocateRequest.Request.Span.Slice(8, TransactionId.Size));
        Binding();
    }

    public static Props Props(RelaySettings settings, ClientPath client, string user, byte[] md5Key, byte[] sha256Key, IPEndPoint relayBind,
        TimeSpan lifetime, AllocationProtocol.AuthenticatedRequest allocateRequest, int attempt = 1, IUdpSocketFactory? sockets = null,
        ulong? reservationToken = null, bool tcp = false)
    {
        var factory = sockets ?? RealUdpSockets.Instance;
        return Akka.Actor.Props.CreateBy(new Producer(() =>
            new Allocation(settings, client, user, md5Key, sha256Key, relayBind, lifetime, allocateRequest, attempt, factory, null, reservationToken, tcp)));
    }

    /// <summary>An allocation whose ChannelData is relayed by <paramref name="dataPath"/> (real UDP sockets; see <see cref="AllocationDataPath"/>).</summary>
    internal static Props Props(RelaySettings settings, ClientPath client, string user, byte[] md5Key, byte[] sha256Key, IPEndPoint relayBind,
        TimeSpan lifetime, AllocationProtocol.AuthenticatedRequest allocateRequest, int attempt, AllocationDataPath dataPath, ulong? reservationToken = null) =>
        Akka.Actor.Props.CreateBy(new Producer(() =>
            new Allocation(settings, client, user, md5Key, sha256Key, relayBind, lifetime, allocateRequest, attempt, RealUdpSockets.Instance, dataPath, reservationToken, false)));

    /// <summary>Creates the actor through its private constructor (whose data path type is internal).</summary>
    private sealed class Producer(Func<Allocation> create) : IIndirectActorProducer
    {
        public Type ActorType => typeof(Allocation);

        public ActorBase Produce() => create();

        public void Release(ActorBase actor)
        {
        }
    }

    /// <summary>The relayed socket failing ends the allocation: the failure goes up to the server, which stops it.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate);

    protected override void PreStart() =>
        _socket = _tcp
            ? Context.ActorOf(TcpRelayListener.Props(_relayBind), "relay-tcp")
            : Context.ActorOf(
                _dataPath is null
                    ? _sockets.Create(_relayBind, Self, _settings.SocketBufferBytes)
                    : UdpSocket.Props(_relayBind, Self, _settings.SocketBufferBytes, _dataPath.Relay),
                "relay-udp");

    protected override void PostStop()
    {
        _dataPath?.Close();
        _md5.Dispose();
        _sha256.Dispose();
    }

    // ------------------------------------------------------------------ states

    private void Binding()
    {
        Receive<UdpSocketProtocol.Bound>(bound => OnRelayBound(bound.LocalEndPoint));
        Receive<TcpRelayProtocol.Listening>(listening => OnRelayBound(listening.LocalEndPoint));
        Receive<UdpSocketProtocol.BindFailed>(failed => OnRelayBindFailed(failed.Reason));
        Receive<TcpRelayProtocol.ListenFailed>(failed => OnRelayBindFailed(failed.Reason));
        Receive<AllocationProtocol.AuthenticatedRequest>(r =>
        {
            // A retransmitted Allocate is answered once the relayed socket is bound; anything else is early.
            if (!StunMessage.TryParse(r.Request.Span, out var request, out _) || request.TransactionId == _allocateId) return;
            if (request.Method == StunMethod.Allocate)
                _client.Send(StunReplies.Error(request.Method, request.TransactionId, 437, _settings.Software, SigningFor(r)), Self);
        });
        Receive<AllocationProtocol.FromClient>(_ => _malformed++);
        Common();
    }

    private void OnRelayBound(IPEndPoint relayed)
    {
        _relayed = relayed;
        var signing = SigningFor(_allocateRequest);
        _allocateResponse = AllocateSuccess(signing, _initialLifetime);
        _client.Send(_allocateResponse, Self);
        Timers.StartSingleTimer(typeof(LifetimeTimer), new AllocationProtocol.LifetimeExpired(), _initialLifetime);
        Context.Parent.Tell(new AllocationProtocol.Allocated(_client.FiveTuple, _relayed));
        _dataPath?.Open();
        Become(Active);
    }

    private void OnRelayBindFailed(string reason)
    {
        Context.Parent.Tell(new AllocationProtocol.RelayBindFailed(_client, _relayBind.Port, reason, _allocateRequest, _attempt));
        Context.Stop(Self);
    }

    private void Active()
    {
        Receive<AllocationProtocol.AuthenticatedRequest>(OnRequest);
        Receive<AllocationProtocol.FromClient>(OnFromClient);
        Receive<UdpSocketProtocol.Received>(OnFromPeer);
        Receive<TcpRelayProtocol.PeerAccepted>(a => OnPeerAccepted(a.Socket));
        Receive<TcpRelayProtocol.PeerConnected>(OnPeerConnected);
        Receive<TcpRelayProtocol.PeerConnectFailed>(f => AnswerConnect(f.ConnectionId, 447, $"Connection to the peer failed: {f.Reason}"));
        Receive<AllocationProtocol.BindConnection>(OnConnectionBind);
        Receive<Terminated>(t => OnPeerConnectionEnded(t.ActorRef));
        Receive<AllocationProtocol.LifetimeExpired>(_ =>
        {
            _log.Info("Allocation {0} of {1} expired", _relayed, _user);
            Context.Stop(Self);
        });
        Receive<AllocationProtocol.PermissionExpired>(p =>
        {
            _permissions.Remove(p.Peer);
            PublishRoutes();
            _log.Debug("Allocation {0}: permission for {1} expired", _relayed, p.Peer);
        });
        Receive<AllocationProtocol.ChannelExpired>(c =>
        {
            if (_channels.Remove(c.Channel, out var peer)) _channelByPeer.Remove(peer);
            _channelExpiry.Remove(c.Channel);
            PublishRoutes();
            _log.Debug("Allocation {0}: channel 0x{1:x4} expired", _relayed, c.Channel);
        });
        Common();
    }

    private void Common()
    {
        Receive<AllocationProtocol.GetInfo>(_ => Sender.Tell(new AllocationProtocol.Info(
            _relayed, _user, _permissions.Count, _channels.Count,
            _toPeer + (_dataPath?.ToPeer ?? 0), _fromPeer + (_dataPath?.FromPeer ?? 0), _droppedNoPermission, _malformed,
            _dataPath?.ToPeer ?? 0, _dataPath?.FromPeer ?? 0)));
        Receive<Supervision.InjectFault>(f => throw new Supervision.InjectedFaultException(f.Reason));   // the server stops it, the others carry on
    }

    private ResponseSigning SigningFor(AllocationProtocol.AuthenticatedRequest r) =>
        new(r.Algorithm == PasswordAlgorithm.Sha256 ? _sha256 : _md5, r.UsedSha256);

    // ------------------------------------------------------------------ requests

    private void OnRequest(AllocationProtocol.AuthenticatedRequest r)
    {
        if (!StunMessage.TryParse(r.Request.Span, out var request, out _)) { _malformed++; return; }
        var signing = SigningFor(r);
        var id = request.TransactionId;
        var method = request.Method;
        if (!string.Equals(r.User, _user, StringComparison.Ordinal))
        {
            // RFC 8656 §5: requests on an allocation must use the credentials that created it.
            Reply(StunReplies.Error(method, id, 441, _settings.Software, signing));
            return;
        }
        switch (method)
        {
            case StunMethod.Allocate:
                // RFC 8656 §7.2: a retransmission gets the same answer; another transaction on this 5-tuple gets 437.
                Reply(id == _allocateId ? _allocateResponse : StunReplies.Error(method, id, 437, _settings.Software, signing));
                break;
            case StunMethod.Refresh:
                OnRefresh(request, signing);
                break;
            case StunMethod.CreatePermission:
                OnCreatePermission(request, signing);
                break;
            case StunMethod.ChannelBind when !_tcp:
                OnChannelBind(request, signing);
                break;
            case StunMethod.Connect when _tcp:
                OnConnect(request, signing);
                break;
            default:
                Reply(StunReplies.Error(method, id, 400, _settings.Software, signing));
                break;
        }
    }

    private void Reply(ReadOnlyMemory<byte> response) => _client.Send(response, Self);

    private ReadOnlyMemory<byte> AllocateSuccess(ResponseSigning signing, TimeSpan lifetime)
    {
        var buffer = new byte[StunReplies.MaxResponse];
        var w = new StunMessageWriter(buffer, StunMethod.Allocate, StunClass.SuccessResponse, _allocateId);
        w.AddAddress(StunAttributeType.XorRelayedAddress, StunAddress.From(_relayed!));
        w.AddUInt32(StunAttributeType.Lifetime, (uint)lifetime.TotalSeconds);
        w.AddAddress(StunAttributeType.XorMappedAddress, StunAddress.From(_client.Client));
        if (_reservationToken is { } token) w.AddUInt64(StunAttributeType.ReservationToken, token); // RFC 8656 §7.2: the port after ours is held for it
        return StunReplies.Finish(ref w, buffer, _settings.Software, signing);
    }

    private ReadOnlyMemory<byte> Success(StunMethod method, TransactionId id, ResponseSigning signing, uint? lifetime = null)
    {
        var buffer = new byte[StunReplies.MaxResponse];
        var w = new StunMessageWriter(buffer, method, StunClass.SuccessResponse, id);
        if (lifetime is { } seconds) w.AddUInt32(StunAttributeType.Lifetime, seconds);
        return StunReplies.Finish(ref w, buffer, _settings.Software, signing);
    }

    /// <summary>RFC 8656 §7.5.</summary>
    private void OnRefresh(StunMessage request, ResponseSigning signing)
    {
        var id = request.TransactionId;
        if (request.TryGetAddressFamily(StunAttributeType.RequestedAddressFamily, out byte family)
            && family != (_relayed!.AddressFamily == AddressFamily.InterNetworkV6 ? StunAddress.FamilyIPv6 : StunAddress.FamilyIPv4))
        {
            Reply(StunReplies.Error(StunMethod.Refresh, id, 443, _settings.Software, signing));
            return;
        }
        var lifetime = _settings.DefaultLifetime;
        if (request.TryGetUInt32(StunAttributeType.Lifetime, out uint requested))
        {
            if (requested == 0)
            {
                Reply(Success(StunMethod.Refresh, id, signing, 0));
                _log.Info("Allocation {0} of {1} deleted by its client", _relayed, _user);
                Context.Stop(Self);
                return;
            }
            var asked = TimeSpan.FromSeconds(requested);
            lifetime = asked > _settings.MaxLifetime ? _settings.MaxLifetime : asked < _settings.DefaultLifetime ? _settings.DefaultLifetime : asked;
        }
        Timers.StartSingleTimer(typeof(LifetimeTimer), new AllocationProtocol.LifetimeExpired(), lifetime);
        Reply(Success(StunMethod.Refresh, id, signing, (uint)lifetime.TotalSeconds));
    }

    /// <summary>Checks one XOR-PEER-ADDRESS: 0 when usable, else the error code (400, 403, 443).</summary>
    private int CheckPeer(ReadOnlySpan<byte> value, in TransactionId id, out IPEndPoint peer)
    {
        peer = null!;
        if (!StunAddress.TryDecode(value, true, id, out var address)) return 400;
        peer = address.ToEndPoint();
        if (peer.AddressFamily != _relayed!.AddressFamily) return 443;
        if (!PeerAddressPolicy.IsAllowed(peer.Address, _settings.AllowLoopback, _settings.AllowPrivate)) return 403;
        return 0;
    }

    /// <summary>RFC 8656 §9.2: every XOR-PEER-ADDRESS is installed, or none.</summary>
    private void OnCreatePermission(StunMessage request, ResponseSigning signing)
    {
        var id = request.TransactionId;
        var peers = new List<IPAddress>(1);
        foreach (var attribute in request.Attributes)
        {
            if (attribute.Type is (ushort)StunAttributeType.MessageIntegrity or (ushort)StunAttributeType.MessageIntegritySha256) break;
            if (attribute.Type != (ushort)StunAttributeType.XorPeerAddress) continue;
            int code = CheckPeer(attribute.Value, id, out var peer);
            if (code != 0)
            {
                _log.Info("Allocation {0}: permission for a peer refused ({1})", _relayed, code);
                Reply(StunReplies.Error(StunMethod.CreatePermission, id, code, _settings.Software, signing));
                return;
            }
            peers.Add(peer.Address);
        }
        if (peers.Count == 0)
        {
            Reply(StunReplies.Error(StunMethod.CreatePermission, id, 400, _settings.Software, signing, "XOR-PEER-ADDRESS is missing"));
            return;
        }
        foreach (var ip in peers) InstallPermission(ip);
        PublishRoutes();
        Reply(Success(StunMethod.CreatePermission, id, signing));
    }

    private void InstallPermission(IPAddress ip)
    {
        _permissions[ip] = ExpiryTicks(_settings.PermissionLifetime);
        var expired = new AllocationProtocol.PermissionExpired(ip);
        Timers.StartSingleTimer(expired, expired, _settings.PermissionLifetime);
    }

    private static long ExpiryTicks(TimeSpan lifetime) => Environment.TickCount64 + (long)lifetime.TotalMilliseconds;

    /// <summary>Hands the data path (if any) the permissions and channels as they are now.</summary>
    private void PublishRoutes() =>
        _dataPath?.Publish(RelayRoutes.Build(_permissions, _channels.Select(c => (c.Key, c.Value, _channelExpiry[c.Key]))));

    /// <summary>ChannelData header (RFC 8656 §12.4), accepting the RFC 5766 channel range; trailing bytes (padding) are ignored.</summary>
    public static bool TryParseChannelData(ReadOnlySpan<byte> packet, out ushort channel, out int length)
    {
        channel = 0;
        length = 0;
        if (packet.Length < ChannelData.HeaderLength) return false;
        channel = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(packet);
        length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        return ChannelData.IsAcceptedByServer(channel) && length <= packet.Length - ChannelData.HeaderLength;
    }

    /// <summary>RFC 8656 §11.2: bind or refresh a channel; a different peer on a bound channel, or a different channel for a bound peer, is 400.</summary>
    private void OnChannelBind(StunMessage request, ResponseSigning signing)
    {
        var id = request.TransactionId;
        void Fail(int code, string? reason = null) => Reply(StunReplies.Error(StunMethod.ChannelBind, id, code, _settings.Software, signing, reason));
        if (!request.TryGetChannelNumber(out ushort channel) || !ChannelData.IsAcceptedByServer(channel)) { Fail(400, $"Bad CHANNEL-NUMBER 0x{channel:x4}"); return; }
        if (!request.TryGetAttribute(StunAttributeType.XorPeerAddress, out var value)) { Fail(400, "XOR-PEER-ADDRESS is missing"); return; }
        int code = CheckPeer(value, id, out var peer);
        if (code != 0) { Fail(code); return; }
        if (_channels.TryGetValue(channel, out var bound) && !bound.Equals(peer)) { Fail(400, "Channel is bound to another peer"); return; }
        if (_channelByPeer.TryGetValue(peer, out var other) && other != channel) { Fail(400, "Peer is bound to another channel"); return; }
        _channels[channel] = peer;
        _channelByPeer[peer] = channel;
        _channelExpiry[channel] = ExpiryTicks(_settings.ChannelLifetime);
        var expired = new AllocationProtocol.ChannelExpired(channel);
        Timers.StartSingleTimer(expired, expired, _settings.ChannelLifetime);
        InstallPermission(peer.Address); // RFC 8656 §11.2: a binding installs or refreshes the peer's permission
        PublishRoutes();
        Reply(Success(StunMethod.ChannelBind, id, signing));
    }

    // ------------------------------------------------------------------ data

    private void OnFromClient(AllocationProtocol.FromClient message)
    {
        if (_tcp)
        {
            _malformed++; // RFC 6062 §4: a TCP allocation's data goes over data connections only
            return;
        }
        var packet = message.Packet;
        var bytes = packet.Span;
        if (bytes.Length > 0 && ChannelData.StartsServerChannelData(bytes[0]))
        {
            // RFC 8656 §12.5
            if (!TryParseChannelData(bytes, out ushort channel, out int length)) { _malformed++; return; }
            if (!_channels.TryGetValue(channel, out var peer)) { _droppedNoPermission++; return; }
            SendToPeer(peer, packet.Slice(ChannelData.HeaderLength, length));
            return;
        }
        // RFC 8656 §10.2: Send indication
        if (!StunMessage.TryParse(bytes, out var indication, out _)
            || !indication.TryGetAddress(StunAttributeType.XorPeerAddress, out var address)
            || !indication.TryGetAttribute(StunAttributeType.Data, out var payload))
        {
            _malformed++;
            return;
        }
        var to = address.ToEndPoint();
        if (!_permissions.ContainsKey(to.Address)) { _droppedNoPermission++; return; }
        bytes.Overlaps(payload, out int start);
        SendToPeer(to, packet.Slice(start, payload.Length));
    }

    private void SendToPeer(IPEndPoint peer, ReadOnlyMemory<byte> data)
    {
        _toPeer++;
        _socket.Tell(new UdpSocketProtocol.Send(peer, data), Self);
    }

    /// <summary>RFC 8656 §10.3, §12.6: to the client as ChannelData when a channel is bound, else as a Data indication.</summary>
    private void OnFromPeer(UdpSocketProtocol.Received received)
    {
        var from = EndPoints.Unmapped(received.From);
        if (!_permissions.ContainsKey(from.Address))
        {
            _droppedNoPermission++;
            _log.Debug("Allocation {0}: dropped {1} bytes from {2}, no permission", _relayed, received.Payload.Length, from);
            return;
        }
        _fromPeer++;
        var data = received.Payload.Span;
        if (_channelByPeer.TryGetValue(from, out ushort channel))
        {
            _client.Send(ChannelData.Encode(channel, data, _client.IsStream), Self);
            return;
        }
        var peer = StunAddress.From(from);
        var buffer = new byte[StunMessage.HeaderLength + 4 + peer.EncodedLength + 4 + ((data.Length + 3) & ~3)];
        var w = new StunMessageWriter(buffer, StunMethod.Data, StunClass.Indication, TransactionId.NewRandom());
        w.AddAddress(StunAttributeType.XorPeerAddress, peer);
        w.AddBytes(StunAttributeType.Data, data);
        _client.Send(buffer.AsMemory(0, w.Length), Self);
    }

    // ------------------------------------------------------------------ RFC 6062 TCP allocations

    private uint NewConnectionId()
    {
        Span<byte> bytes = stackalloc byte[4];
        uint id;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            id = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        }
        while (id == 0 || _peerConnections.ContainsKey(id));
        return id;
    }

    private uint AddPeerConnection(IPEndPoint peer, Func<uint, Props> props)
    {
        uint id = NewConnectionId();
        var actor = Context.ActorOf(props(id), $"peer-{id:x8}");
        Context.Watch(actor);
        _peerConnections[id] = (actor, peer);
        _connectionByPeer[peer] = id;
        Context.Parent.Tell(new AllocationProtocol.ConnectionIdAdded(id)); // before the client can learn the id
        return id;
    }

    /// <summary>RFC 6062 §5.2.</summary>
    private void OnConnect(StunMessage request, ResponseSigning signing)
    {
        var id = request.TransactionId;
        void Fail(int code, string? reason = null) => Reply(StunReplies.Error(StunMethod.Connect, id, code, _settings.Software, signing, reason));
        if (!request.TryGetAttribute(StunAttributeType.XorPeerAddress, out var value)) { Fail(400, "XOR-PEER-ADDRESS is missing"); return; }
        int code = CheckPeer(value, id, out var peer);
        if (code != 0) { Fail(code); return; }
        if (_connectionByPeer.ContainsKey(peer)) { Fail(446); return; }
        if (_peerConnections.Count >= _settings.MaxTcpPeerConnections) { Fail(508, "Too many TCP connections on this allocation"); return; }
        uint connection = AddPeerConnection(peer, c => TcpPeerConnection.Connect(c, peer, _relayed!, _settings));
        _pendingConnects[connection] = (id, signing);
    }

    private void OnPeerConnected(TcpRelayProtocol.PeerConnected connected)
    {
        if (!_pendingConnects.Remove(connected.ConnectionId, out var pending)) return;
        var buffer = new byte[StunReplies.MaxResponse];
        var w = new StunMessageWriter(buffer, StunMethod.Connect, StunClass.SuccessResponse, pending.Id);
        w.AddUInt32(StunAttributeType.ConnectionId, connected.ConnectionId);
        Reply(StunReplies.Finish(ref w, buffer, _settings.Software, pending.Signing));
    }

    private void AnswerConnect(uint connection, int code, string reason)
    {
        if (!_pendingConnects.Remove(connection, out var pending)) return;
        _log.Info("Allocation {0}: Connect failed ({1})", _relayed, reason);
        Reply(StunReplies.Error(StunMethod.Connect, pending.Id, code, _settings.Software, pending.Signing, reason));
    }

    /// <summary>RFC 6062 §5.3: a permitted peer's connection waits for a ConnectionBind; the client hears a ConnectionAttempt.</summary>
    private void OnPeerAccepted(Socket socket)
    {
        var peer = EndPoints.Unmapped((IPEndPoint)socket.RemoteEndPoint!);
        if (!_permissions.ContainsKey(peer.Address) || _connectionByPeer.ContainsKey(peer) || _peerConnections.Count >= _settings.MaxTcpPeerConnections)
        {
            _droppedNoPermission++;
            _log.Debug("Allocation {0}: TCP connection from {1} refused (no permission, a connection exists, or too many)", _relayed, peer);
            socket.Dispose();
            return;
        }
        uint connection = AddPeerConnection(peer, c => TcpPeerConnection.Accepted(c, socket, _relayed!, _settings));
        var address = StunAddress.From(peer);
        var buffer = new byte[StunReplies.MaxResponse];
        var w = new StunMessageWriter(buffer, StunMethod.ConnectionAttempt, StunClass.Indication, TransactionId.NewRandom());
        w.AddAddress(StunAttributeType.XorPeerAddress, address);
        w.AddUInt32(StunAttributeType.ConnectionId, connection);
        w.AddFingerprint();
        Reply(buffer.AsMemory(0, w.Length));
    }

    /// <summary>RFC 6062 §5.4: the data connection is bound to the peer connection; after the success it carries raw bytes.</summary>
    private void OnConnectionBind(AllocationProtocol.BindConnection bind)
    {
        if (!StunMessage.TryParse(bind.Request.Request.Span, out var request, out _)) { _malformed++; return; }
        var signing = SigningFor(bind.Request);
        var id = request.TransactionId;
        void Fail(int code, string? reason = null) => bind.Data.Send(StunReplies.Error(StunMethod.ConnectionBind, id, code, _settings.Software, signing, reason), Self);
        if (!string.Equals(bind.Request.User, _user, StringComparison.Ordinal)) { Fail(441); return; }
        if (!request.TryGetUInt32(StunAttributeType.ConnectionId, out uint connection)
            || !_peerConnections.TryGetValue(connection, out var entry) || _pendingConnects.ContainsKey(connection) || _boundConnections.Contains(connection))
        {
            Fail(400, "Unknown or already bound CONNECTION-ID");
            return;
        }
        _boundConnections.Add(connection);
        Context.Parent.Tell(new AllocationProtocol.DataConnectionBound(bind.Data.Socket, entry.Actor));
        var data = bind.Data.Socket;
        data.Tell(new TcpConnectionProtocol.KeepOpen(true), Self);
        data.Tell(new TcpConnectionProtocol.StopFraming(), Self);
        bind.Data.Send(Success(StunMethod.ConnectionBind, id, signing), Self);
        entry.Actor.Tell(new TcpRelayProtocol.Bind(data)); // after the success is queued: the peer's bytes follow it
        _log.Debug("Allocation {0}: connection {1:x8} with {2} bound to {3}", _relayed, connection, entry.Peer, bind.Data.Client);
    }

    private void OnPeerConnectionEnded(IActorRef actor)
    {
        foreach (var (connection, entry) in _peerConnections)
        {
            if (!Equals(entry.Actor, actor)) continue;
            _peerConnections.Remove(connection);
            _connectionByPeer.Remove(entry.Peer);
            _boundConnections.Remove(connection);
            AnswerConnect(connection, 447, "Connection to the peer failed");
            Context.Parent.Tell(new AllocationProtocol.ConnectionIdRemoved(connection));
            return;
        }
    }
}
