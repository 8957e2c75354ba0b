using System.Net.WebSockets;
using Akka.Actor;
using Akka.Event;

namespace P2P.Actors.Signaling;

/// <summary>
/// One peer's connection to a signaling server (<c>p2p signal</c>, one node or a fleet): opens a WebSocket to the first
/// of its server URLs, joins <c>room</c> as <c>name</c>, tells its owner what arrives (<see cref="SignalingProtocol"/>),
/// and sends what the owner gives it in order; made with joinWhenTold, it opens the connection at once but joins only on
/// <see cref="SignalingProtocol.Join"/>. States: Connecting (commands are kept), Connected, Closing.
/// Before it has ever connected, a server that cannot be reached is passed over for the next URL; when none can, the
/// owner gets <see cref="SignalingProtocol.SignalingFailed"/>. A connection lost later, or ended by the server's
/// "reconnect" (its node is leaving the fleet), is opened again to the next URL in turn, at once and then after a
/// backoff (<see cref="SignalSettings.ReconnectBackoff"/>), for <see cref="SignalSettings.ReconnectFor"/>; the client
/// joins its room again marked rejoin, under the same name, and sends what it was given meanwhile. The owner hears
/// <see cref="SignalingProtocol.Reconnected"/> instead of a second Joined, and no second PeerJoined for the peer it
/// knows. An error from the server, or no server for that long, ends with SignalingFailed and the actor stopping.
/// </summary>
public sealed class SignalingClient : ReceiveActor, IWithTimers
{
    private sealed record ConnectedToServer(int Attempt);
    private sealed record ConnectFailed(int Attempt, string Reason);
    private sealed record RetryConnect;
    private sealed record CloseTimedOut;

    public ITimerScheduler Timers { get; set; } = null!;

    private readonly IReadOnlyList<Uri> _servers;
    private readonly string _room;
    private readonly string _name;
    private readonly IActorRef _owner;
    private readonly SignalSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<SignalMessage> _early = [];
    /// <summary>Which of <see cref="_servers"/> is tried or used now.</summary>
    private int _current;
    private int _attempt;
    private ClientWebSocket? _webSocket;
    private CancellationTokenSource? _connectTimeout;
    private SignalingSocket? _socket;
    /// <summary>Servers that could not be reached before the first connection ("url: reason").</summary>
    private readonly List<string> _unreachable = [];
    private bool _connectedOnce;
    private bool _joinTold, _joined;
    /// <summary>The owner has heard Joined: a later join (after a reconnect) is a rejoin, not news.</summary>
    private bool _seated;
    /// <summary>The join to send (or sent) on this connection takes back a seat the client may hold from an earlier one.</summary>
    private bool _rejoin;
    /// <summary>The other peer the owner was last told about, until it left.</summary>
    private string? _peer;
    /// <summary>
    /// What was sent into the room while no other peer was there: the room keeps it for whoever comes, unless the room is
    /// lost. After a rejoin into a rebuilt room (not resumed) the messages sent on the lost connection go again.
    /// </summary>
    private readonly List<SignalMessage> _sentAlone = [];
    private List<SignalMessage> _resend = [];
    /// <summary>While reconnecting: which server was lost and why; when to give up; the next wait.</summary>
    private string? _lost;
    private DateTimeOffset _giveUpAt;
    private TimeSpan _backoff;
    /// <summary>This connection was worth having (the room answered on it, or no join is due yet): losing it starts a fresh round of tries.</summary>
    private bool _served;

    /// <param name="joinWhenTold">Join only on <see cref="SignalingProtocol.Join"/> (the connection opens at once); else as soon as connected.</param>
    public static Props Props(Uri server, string room, string name, IActorRef owner, SignalSettings? settings = null, bool joinWhenTold = false) =>
        Props([server], room, name, owner, settings, joinWhenTold);

    /// <param name="servers">The nodes of a fleet (or one server), tried in this order.</param>
    /// <param name="joinWhenTold">Join only on <see cref="SignalingProtocol.Join"/> (the connection opens at once); else as soon as connected.</param>
    public static Props Props(IReadOnlyList<Uri> servers, string room, string name, IActorRef owner, SignalSettings? settings = null, bool joinWhenTold = false) =>
        Akka.Actor.Props.Create(() => new SignalingClient(servers, room, name, owner, settings ?? SignalSettings.Default, joinWhenTold));

    public SignalingClient(IReadOnlyList<Uri> servers, string room, string name, IActorRef owner, SignalSettings settings, bool joinWhenTold = false)
    {
        if (servers.Count == 0) throw new ArgumentException("a signaling client needs at least one server URL", nameof(servers));
        _joinTold = !joinWhenTold;
        _servers = servers;
        _room = room;
        _name = name;
        _owner = owner;
        _settings = settings;
    }

    private Uri Server => _servers[_current];

    protected override void PreStart() => Connect();

    protected override void PostStop()
    {
        _socket?.Abort();
        _webSocket?.Dispose();
        _connectTimeout?.Dispose();
    }

    /// <summary>Opens a WebSocket to <see cref="Server"/>; its result comes back tagged with the attempt, so a late one is told apart.</summary>
    private void Connect()
    {
        _webSocket?.Dispose();
        _connectTimeout?.Dispose();
        _webSocket = new ClientWebSocket();
        _webSocket.Options.KeepAliveInterval = _settings.KeepAliveInterval;
        _connectTimeout = new CancellationTokenSource(_settings.ConnectTimeout);
        int attempt = ++_attempt;
        _webSocket.ConnectAsync(Server, _connectTimeout.Token).PipeTo(Self,
            success: () => new ConnectedToServer(attempt),
            failure: e => new ConnectFailed(attempt, SignalingSocket.Describe(e)));
        Become(Connecting);
    }

    private void Connecting()
    {
        Receive<ConnectedToServer>(c =>
        {
            if (c.Attempt != _attempt) return;
            _socket = new SignalingSocket(_webSocket!, _settings, Self, tagged: true);
            _socket.ReceiveNext();
            _joined = false;
            Become(Connected);
            if (_lost is not null) _log.Info("signaling client {0} in room {1}: connected to {2} after losing {3}", _name, _room, Server, _lost);
            _connectedOnce = true;
            if (!_joinTold) Served(); // nothing to ask of it yet
            if (_joinTold) JoinNow();
        });
        Receive<ConnectFailed>(f =>
        {
            if (f.Attempt == _attempt) OnConnectFailed(f.Reason);
        });
        Receive<RetryConnect>(_ => Connect());
        Receive<SignalingSocketProtocol.FromSocket>(_ => { }); // the lost connection's last words
        Receive<SignalingProtocol.Join>(_ => _joinTold = true);
        Receive<SignalingProtocol.SendDescription>(d => _early.Add(SignalMessage.ForDescription(d.Text)));
        Receive<SignalingProtocol.SendCandidate>(c => _early.Add(SignalMessage.ForCandidate(c.Attribute)));
        Receive<SignalingProtocol.SendEndOfCandidates>(_ => _early.Add(SignalMessage.EndOfCandidates()));
        Receive<SignalingProtocol.Leave>(_ => Context.Stop(Self));
    }

    private void OnConnectFailed(string reason)
    {
        if (!_connectedOnce && _lost is null)
        {
            // never connected yet: each server once, in order, then a sentence naming them
            _unreachable.Add($"{Server}: {reason}");
            if (_unreachable.Count < _servers.Count)
            {
                _log.Info("signaling client {0}: cannot reach {1} ({2}); trying the next server", _name, Server, reason);
                _current = (_current + 1) % _servers.Count;
                Connect();
                return;
            }
            Report(_servers.Count == 1
                ? $"cannot reach the signaling server at {Server}: {reason}"
                : $"cannot reach any of the signaling servers ({string.Join("; ", _unreachable)})");
            Context.Stop(Self);
            return;
        }
        var failed = $"{Server}: {reason}";
        _current = (_current + 1) % _servers.Count;
        RetryLater(failed);
    }

    /// <summary>This connection does what it is for (the room answered, or there is no join to make): a loss now starts a fresh round.</summary>
    private void Served()
    {
        _served = true;
        _lost = null;
    }

    /// <summary>Another try at the next server after the backoff, or, past <see cref="SignalSettings.ReconnectFor"/>, the failure.</summary>
    private void RetryLater(string reason)
    {
        if (Context.System.Scheduler.Now >= _giveUpAt)
        {
            Report($"lost the signaling server at {_lost}; no server answered for {_settings.ReconnectFor.TotalSeconds:0} s (last {reason})");
            Context.Stop(Self);
            return;
        }
        _log.Debug("signaling client {0}: {1}; next try, at {2}, in {3}", _name, reason, Server, _backoff);
        Timers.StartSingleTimer(nameof(RetryConnect), new RetryConnect(), _backoff);
        _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, _settings.ReconnectBackoffMax.Ticks));
        Become(Connecting);
    }

    private void Connected()
    {
        Receive<SignalingSocketProtocol.FromSocket>(f =>
        {
            if (ReferenceEquals(f.Socket, _socket)) OnSocket(f.Message);
        });
        Receive<SignalingProtocol.Join>(_ =>
        {
            _joinTold = true;
            if (!_joined) JoinNow();
        });
        Receive<SignalingProtocol.SendDescription>(d => PostInRoom(SignalMessage.ForDescription(d.Text)));
        Receive<SignalingProtocol.SendCandidate>(c => PostInRoom(SignalMessage.ForCandidate(c.Attribute)));
        Receive<SignalingProtocol.SendEndOfCandidates>(_ => PostInRoom(SignalMessage.EndOfCandidates()));
        Receive<SignalingProtocol.Leave>(_ =>
        {
            if (Post(SignalMessage.Leave())) Close(WebSocketCloseStatus.NormalClosure, "leave");
        });
    }

    private void OnSocket(object message)
    {
        switch (message)
        {
            case SignalingSocketProtocol.Received r:
                if (SignalMessage.TryParse(r.Utf8, out var parsed, out var error)) OnServerMessage(parsed);
                else _log.Warning("signaling client {0} in room {1}: ignored a message from {2}: {3}", _name, _room, Server, error);
                _socket?.ReceiveNext(); // also after an error closed it: the server's close frame is still to be read
                break;
            case SignalingSocketProtocol.TooLarge t:
                _log.Warning("signaling client {0} in room {1}: ignored a message of {2} bytes from {3}", _name, _room, t.Bytes, Server);
                _socket!.ReceiveNext();
                break;
            case SignalingSocketProtocol.NotText:
                _socket!.ReceiveNext();
                break;
            case SignalingSocketProtocol.SendCompleted:
                _socket!.OnSendCompleted();
                break;
            case SignalingSocketProtocol.Closed c:
                OnLost(c.Reason);
                break;
        }
    }

    /// <summary>The connection is gone: reconnect to the next server (at once), unless reconnecting is off.</summary>
    private void OnLost(string reason)
    {
        if (_settings.ReconnectFor <= TimeSpan.Zero)
        {
            Report($"lost the signaling server at {Server}: {reason}");
            Close(WebSocketCloseStatus.NormalClosure, "bye"); // answers the server's close frame, if it sent one
            return;
        }
        _log.Info("signaling client {0} in room {1}: lost {2} ({3}); reconnecting", _name, _room, Server, reason);
        bool fresh = _served || _lost is null;
        if (fresh) _lost = $"{Server}: {reason}";
        // answer the server's close frame (it waits for it before it lets go), and forget the socket
        var old = _webSocket!;
        if (old.State is WebSocketState.CloseReceived)
            _ = old.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "reconnecting", CancellationToken.None)
                .ContinueWith(_ => old.Dispose(), TaskScheduler.Default);
        else old.Abort();
        _webSocket = null;
        _socket = null;
        _rejoin |= _joined;
        if (_joined) _resend = [.. _sentAlone];
        var lostAt = Server;
        _current = (_current + 1) % _servers.Count;
        _served = false;
        if (!fresh)
        {
            // a server that takes the connection and drops it before the room answered counts as one that cannot be reached
            RetryLater($"{lostAt}: {reason}");
            return;
        }
        _giveUpAt = Context.System.Scheduler.Now + _settings.ReconnectFor;
        _backoff = _settings.ReconnectBackoff;
        Connect();
    }

    /// <summary>Closing: what is queued goes out, then the close frame; the actor stops when the server's close frame came back.</summary>
    private void Closing()
    {
        Receive<CloseTimedOut>(_ => Context.Stop(Self));
        Receive<SignalingSocketProtocol.FromSocket>(f =>
        {
            if (ReferenceEquals(f.Socket, _socket) && _socket.OnClosing(f.Message)) Context.Stop(Self);
        });
        ReceiveAny(_ => { }); // commands after leave: nothing to do
    }

    private void OnServerMessage(SignalMessage message)
    {
        switch (message.Type)
        {
            case SignalMessage.JoinedType:
                if (_rejoin && _seated)
                {
                    _owner.Tell(new SignalingProtocol.Reconnected(Server, _room));
                    if (message.Resumed is not true && _peer is null)
                        foreach (var lost in _resend)
                            if (!_socket!.Send(lost)) break; // too slow a reader: the next Post says so
                }
                else _owner.Tell(new SignalingProtocol.Joined(message.Controlling ?? false, message.IceServers));
                _resend = [];
                _seated = true;
                _rejoin = false;
                Served();
                break;
            case SignalMessage.PeerJoinedType:
                if (message.Name == _peer) break; // the peer we know, announced again by the room we rejoined
                _peer = message.Name;
                _sentAlone.Clear();
                _owner.Tell(new SignalingProtocol.PeerJoined(message.Name!));
                break;
            case SignalMessage.DescriptionType:
                _owner.Tell(new SignalingProtocol.RemoteDescription(message.Description!));
                break;
            case SignalMessage.CandidateType:
                _owner.Tell(new SignalingProtocol.RemoteCandidate(message.Candidate!));
                break;
            case SignalMessage.EndOfCandidatesType:
                _owner.Tell(new SignalingProtocol.RemoteEndOfCandidates());
                break;
            case SignalMessage.PeerLeftType:
                _peer = null;
                _owner.Tell(new SignalingProtocol.PeerLeft(message.Name!));
                break;
            case SignalMessage.ReconnectType:
                _log.Info("signaling client {0} in room {1}: {2} is going away and told us to reconnect", _name, _room, Server);
                break; // its close frame follows: then to the next server
            case SignalMessage.ErrorType:
                Report($"the signaling server at {Server} answered: {message.Reason!.TrimEnd('.')}");
                Close(WebSocketCloseStatus.NormalClosure, "error");
                break;
            default:
                _log.Warning("signaling client {0} in room {1}: ignored a \"{2}\" message from {3}", _name, _room, message.Type, Server);
                break;
        }
    }

    private void Close(WebSocketCloseStatus status, string description)
    {
        _socket!.CloseAfterSends(status, description);
        Timers.StartSingleTimer(nameof(CloseTimedOut), new CloseTimedOut(), _settings.CloseTimeout);
        Become(Closing);
    }

    /// <summary>Joins the room (again, marked rejoin, after a reconnect), then sends what was kept for after the join, in order.</summary>
    private void JoinNow()
    {
        _joined = true;
        var early = _early.ToArray();
        _early.Clear();
        if (!Post(SignalMessage.Join(_room, _name) with { Rejoin = _rejoin ? true : null })) return;
        foreach (var message in early)
            if (!PostAlone(message)) return; // Post has reported it and is stopping
    }

    /// <summary>A message for the room: sent once joined, kept until then (the server refuses it before the join).</summary>
    private void PostInRoom(SignalMessage message)
    {
        if (_joined) PostAlone(message);
        else _early.Add(message);
    }

    /// <summary>Posts a message for the other peer, kept in <see cref="_sentAlone"/> while there is none.</summary>
    private bool PostAlone(SignalMessage message)
    {
        if (_peer is null && _sentAlone.Count < _settings.MaxPendingMessages) _sentAlone.Add(message);
        return Post(message);
    }

    /// <summary>Sends <paramref name="message"/>; when the server reads too slowly for the queue, signaling fails and the actor stops. False then.</summary>
    private bool Post(SignalMessage message)
    {
        if (_socket!.Send(message)) return true;
        Report($"the signaling server at {Server} reads too slowly ({_settings.MaxQueuedMessages} messages waiting)");
        Context.Stop(Self); // a close frame could not get past the writes it does not read
        return false;
    }

    private void Report(string reason)
    {
        _log.Info("signaling client {0} in room {1}: {2}", _name, _room, reason);
        _owner.Tell(new SignalingProtocol.SignalingFailed(reason));
    }
}
