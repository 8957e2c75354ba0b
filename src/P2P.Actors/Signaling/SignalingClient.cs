using System.Net.WebSockets;
using Akka.Actor;
using Akka.Event;

namespace P2P.Actors.Signaling;

/// <summary>
/// One peer's connection to a signaling server (<c>p2p signal</c>): opens a WebSocket to <c>server</c>, joins
/// <c>room</c> as <c>name</c>, tells its owner what arrives (<see cref="SignalingProtocol"/>), and sends what the owner
/// gives it in order; made with joinWhenTold, it opens the connection at once but joins only on
/// <see cref="SignalingProtocol.Join"/>. States: Connecting (commands are kept), Connected, Closing. Any failure, including an error from
/// the server, ends with <see cref="SignalingProtocol.SignalingFailed"/> to the owner and the actor stopping.
/// </summary>
public sealed class SignalingClient : ReceiveActor, IWithTimers
{
    private sealed record ConnectedToServer;
    private sealed record ConnectFailed(string Reason);
    private sealed record CloseTimedOut;

    public ITimerScheduler Timers { get; set; } = null!;

    private readonly Uri _server;
    private readonly string _room;
    private readonly string _name;
    private readonly IActorRef _owner;
    private readonly SignalSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ClientWebSocket _webSocket = new();
    private readonly CancellationTokenSource _connectTimeout;
    private readonly List<SignalMessage> _early = [];
    private SignalingSocket? _socket;
    private bool _joinTold, _joined;

    /// <param name="joinWhenTold">Join only on <see cref="SignalingProtocol.Join"/> (the connection opens at once); else as soon as connected.</param>
    public static Props Props(Uri server, string room, string name, IActorRef owner, SignalSettings? settings = null, bool joinWhenTold = false) =>
        Akka.Actor.Props.Create(() => new SignalingClient(server, room, name, owner, settings ?? SignalSettings.Default, joinWhenTold));

    public SignalingClient(Uri server, string room, string name, IActorRef owner, SignalSettings settings, bool joinWhenTold = false)
    {
        _joinTold = !joinWhenTold;
        _server = server;
        _room = room;
        _name = name;
        _owner = owner;
        _settings = settings;
        _connectTimeout = new CancellationTokenSource(settings.ConnectTimeout);
        Connecting();
    }

    protected override void PreStart()
    {
        _webSocket.Options.KeepAliveInterval = _settings.KeepAliveInterval;
        _webSocket.ConnectAsync(_server, _connectTimeout.Token).PipeTo(Self,
            success: () => new ConnectedToServer(),
            failure: e => new ConnectFailed(SignalingSocket.Describe(e)));
    }

    protected override void PostStop()
    {
        _socket?.Abort();
        _webSocket.Dispose();
        _connectTimeout.Dispose();
    }

    private void Connecting()
    {
        Receive<ConnectedToServer>(_ =>
        {
            _socket = new SignalingSocket(_webSocket, _settings, Self);
            _socket.ReceiveNext();
            Become(Connected);
            if (_joinTold) JoinNow();
        });
        Receive<SignalingProtocol.Join>(_ => _joinTold = true);
        Receive<ConnectFailed>(f =>
        {
            Report($"cannot reach the signaling server at {_server}: {f.Reason}");
            Context.Stop(Self);
        });
        Receive<SignalingProtocol.SendDescription>(d => _early.Add(SignalMessage.ForDescription(d.Text)));
        Receive<SignalingProtocol.SendCandidate>(c => _early.Add(SignalMessage.ForCandidate(c.Attribute)));
        Receive<SignalingProtocol.SendEndOfCandidates>(_ => _early.Add(SignalMessage.EndOfCandidates()));
        Receive<SignalingProtocol.Leave>(_ => Context.Stop(Self));
    }

    private void Connected()
    {
        Receive<SignalingSocketProtocol.Received>(r =>
        {
            if (SignalMessage.TryParse(r.Utf8, out var message, out var error)) OnServerMessage(message);
            else _log.Warning("signaling client {0} in room {1}: ignored a message from {2}: {3}", _name, _room, _server, error);
            _socket!.ReceiveNext(); // also after an error closed it: the server's close frame is still to be read
        });
        Receive<SignalingSocketProtocol.TooLarge>(t =>
        {
            _log.Warning("signaling client {0} in room {1}: ignored a message of {2} bytes from {3}", _name, _room, t.Bytes, _server);
            _socket!.ReceiveNext();
        });
        Receive<SignalingSocketProtocol.NotText>(_ => _socket!.ReceiveNext());
        Receive<SignalingSocketProtocol.SendCompleted>(_ => _socket!.OnSendCompleted());
        Receive<SignalingSocketProtocol.Closed>(c =>
        {
            Report($"lost the signaling server at {_server}: {c.Reason}");
            Close(WebSocketCloseStatus.NormalClosure, "bye"); // answers the server's close frame, if it sent one
        });
        Receive<SignalingProtocol.Join>(_ =>
        {
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

    /// <summary>Closing: what is queued goes out, then the close frame; the actor stops when the server's close frame came back.</summary>
    private void Closing()
    {
        Receive<CloseTimedOut>(_ => Context.Stop(Self));
        ReceiveAny(m => { if (_socket!.OnClosing(m)) Context.Stop(Self); }); // commands after leave: nothing to do
    }

    private void OnServerMessage(SignalMessage message)
    {
        switch (message.Type)
        {
            case SignalMessage.JoinedType:
                _owner.Tell(new SignalingProtocol.Joined(message.Controlling ?? false, message.IceServers));
                break;
            case SignalMessage.PeerJoinedType:
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
                _owner.Tell(new SignalingProtocol.PeerLeft(message.Name!));
                break;
            case SignalMessage.ErrorType:
                Report($"the signaling server at {_server} answered: {message.Reason!.TrimEnd('.')}");
                Close(WebSocketCloseStatus.NormalClosure, "error");
                break;
            default:
                _log.Warning("signaling client {0} in room {1}: ignored a \"{2}\" message from {3}", _name, _room, message.Type, _server);
                break;
        }
    }

    private void Close(WebSocketCloseStatus status, string description)
    {
        _socket!.CloseAfterSends(status, description);
        Timers.StartSingleTimer(nameof(CloseTimedOut), new CloseTimedOut(), _settings.CloseTimeout);
        Become(Closing);
    }

    /// <summary>Joins the room, then sends what was kept for after the join, in order.</summary>
    private void JoinNow()
    {
        _joined = true;
        var early = _early.ToArray();
        _early.Clear();
        if (!Post(SignalMessage.Join(_room, _name))) return;
        foreach (var message in early)
            if (!Post(message)) return; // Post has reported it and is stopping
    }

    /// <summary>A message for the room: sent once joined, kept until then (the server refuses it before the join).</summary>
    private void PostInRoom(SignalMessage message)
    {
        if (_joined) Post(message);
        else _early.Add(message);
    }

    /// <summary>Sends <paramref name="message"/>; when the server reads too slowly for the queue, signaling fails and the actor stops. False then.</summary>
    private bool Post(SignalMessage message)
    {
        if (_socket!.Send(message)) return true;
        Report($"the signaling server at {_server} reads too slowly ({_settings.MaxQueuedMessages} messages waiting)");
        Context.Stop(Self); // a close frame could not get past the writes it does not read
        return false;
    }

    private void Report(string reason)
    {
        _log.Info("signaling client {0} in room {1}: {2}", _name, _room, reason);
        _owner.Tell(new SignalingProtocol.SignalingFailed(reason));
    }
}
