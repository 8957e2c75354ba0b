using System.Net.WebSockets;
using Akka.Actor;
using Akka.Event;

namespace P2P.Actors.Signaling;

/// <summary>
/// The server's side of one peer's WebSocket (a child of <see cref="SignalingConnections"/>): reads JSON messages,
/// answers bad ones with an error (counted, and logged rate-limited by the parent; the connection stays open), sends join / relay / leave to the
/// peer's room through <see cref="SignalingRooms"/>, and writes what the room delivers. When the socket closes the
/// actor stops, and the room, which watches it, frees the seat.
/// In a fleet the room may live on another node, and may stop under a seated peer (its shard handed over by a node
/// that leaves, or lost with a node that was killed): the connection then joins again, marked rejoin, which rebuilds
/// the room on its new node; the client hears nothing of it (no second joined, no second peer-joined for the peer it
/// knows). When this server node goes away the client is told to reconnect (to another node) and the room keeps its seat.
/// </summary>
public sealed class SignalingConnection : ReceiveActor, IWithTimers
{
    private readonly IActorRef _rooms;
    private readonly SignalSettings _settings;
    private readonly string _remote;
    private readonly TaskCompletionSource _done;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SignalingSocket _socket;
    /// <summary>The room joined or being joined; null outside any room.</summary>
    private string? _room;
    private string? _name;
    private IActorRef? _roomActor;
    /// <summary>The room stopped under our seat and our rejoin is on its way: its acceptance is not news to the client.</summary>
    private bool _rebuilding;
    /// <summary>The other peer the client was last told about (peer-joined), until peer-left: the same peer-joined again is not news.</summary>
    private string? _otherPeer;
    /// <summary>Rebuilds of the room since <see cref="_rebuildsSince"/>: a room that keeps stopping is said to have failed.</summary>
    private int _rebuilds;
    private DateTimeOffset _rebuildsSince = DateTimeOffset.MinValue;
    private int _badMessages;
    private readonly SignalingCounters _counters;

    private sealed record CloseTimedOut;
    private sealed record JoinUnanswered;
    /// <summary>The join on its way (sent again until the room answers), and what the client sent after it, held until then.</summary>
    private SignalingRoomProtocol.Join? _joining;
    private readonly List<SignalingRoomProtocol.Relay> _held = [];
    /// <summary>
    /// What the client sent while the other seat was empty: the room keeps it for whoever comes, and loses it if it is lost
    /// itself (its node killed) before anyone came. Sent again into the rebuilt room. Forgotten once a peer is there.
    /// </summary>
    private readonly List<SignalingRoomProtocol.Relay> _sentAlone = [];

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(WebSocket socket, string remote, IActorRef rooms, SignalSettings settings, TaskCompletionSource done, SignalingCounters? counters = null) =>
        Akka.Actor.Props.Create(() => new SignalingConnection(socket, remote, rooms, settings, done, counters));

    public SignalingConnection(WebSocket socket, string remote, IActorRef rooms, SignalSettings settings, TaskCompletionSource done, SignalingCounters? counters = null)
    {
        _counters = counters ?? new SignalingCounters();
        _rooms = rooms;
        _settings = settings;
        _remote = remote;
        _done = done;
        _socket = new SignalingSocket(socket, settings, Self);

        Receive<SignalingSocketProtocol.Received>(r =>
        {
            if (SignalMessage.TryParse(r.Utf8, out var message, out var error)) OnClientMessage(message);
            else Bad(error);
            _socket.ReceiveNext();
        });
        Receive<SignalingSocketProtocol.TooLarge>(t =>
        {
            Bad($"the message is {t.Bytes} bytes, over the limit of {_settings.MaxMessageBytes}");
            _socket.ReceiveNext();
        });
        Receive<SignalingSocketProtocol.NotText>(_ =>
        {
            Bad("binary messages are not accepted; send JSON as text");
            _socket.ReceiveNext();
        });
        Receive<SignalingSocketProtocol.SendCompleted>(_ => _socket.OnSendCompleted());
        Receive<SignalingSocketProtocol.Closed>(c =>
        {
            _log.Debug("signal: {0} disconnected{1}: {2}", _remote, InRoom, c.Reason);
            Close(WebSocketCloseStatus.NormalClosure, "bye"); // answers the close frame (RFC 6455 §5.5.1), then stops
        });

        Receive<SignalingRoomProtocol.JoinAccepted>(a =>
        {
            if (a.Room != _room) return; // left before the seat was granted; the leave is already on its way
            if (_roomActor is not null) return; // a join sent again whose first copy arrived after all
            _roomActor = Sender;
            Context.Watch(_roomActor);
            _joining = null;
            Timers.Cancel(nameof(JoinUnanswered));
            if (_rebuilding)
                foreach (var relay in _sentAlone) _roomActor.Tell(relay); // what the lost room kept for the other seat
            foreach (var relay in _held)
                if (!_rebuilding || !_sentAlone.Any(r => ReferenceEquals(r, relay))) _roomActor.Tell(relay);
            _held.Clear();
            if (_rebuilding)
            {
                _rebuilding = false;
                _log.Info("signal: {0} has its seat again in room {1}, rebuilt {2}", _remote, a.Room, Sender.Path.Address.HasLocalScope ? "on this node" : $"on {Sender.Path.Address}");
                return;
            }
            // fresh time-limited TURN credentials with the seat (the relays' shared secret; nothing when none is configured)
            var iceServers = _settings.IceServers.HandOut(Context.System.Scheduler.Now, out var turnUser);
            if (turnUser.Length > 0) _log.Debug("signal: {0} in room {1} gets TURN credentials for user {2}", _remote, a.Room, turnUser);
            Send(SignalMessage.Joined(a.Room, a.Controlling, a.Peers) with { Resumed = a.Resumed ? true : null, IceServers = iceServers });
            _counters.Joined();
        });
        Receive<SignalingRoomProtocol.JoinRefused>(r =>
        {
            _log.Info("signal: {0} refused in room {1}: {2}", _remote, r.Room, r.Reason);
            _room = null;
            StopJoining();
            Send(SignalMessage.Error(r.Reason));
            Close(WebSocketCloseStatus.PolicyViolation, "refused");
        });
        Receive<SignalingRoomProtocol.Deliver>(d =>
        {
            switch (d.Message.Type)
            {
                case SignalMessage.PeerJoinedType when d.Message.Name == _otherPeer:
                    return; // a rebuilt room, or a rejoin, announcing the peer the client already knows
                case SignalMessage.PeerJoinedType:
                    _otherPeer = d.Message.Name;
                    _sentAlone.Clear();
                    break;
                case SignalMessage.PeerLeftType:
                    _otherPeer = null;
                    break;
            }
            Send(d.Message);
        });
        Receive<SignalingConnections.GoAway>(_ =>
        {
            // this node is leaving its fleet: the client goes on through another node, and the room keeps its seat meanwhile
            // (straight to the room, and this actor stops only once it is noted: the room would otherwise see it stop first)
            Send(SignalMessage.Reconnect());
            bool away = _room is not null && _roomActor is not null;
            if (away)
            {
                Context.Unwatch(_roomActor);
                _roomActor!.Tell(new SignalingRoomProtocol.Away(_room!, Self));
            }
            Close(WebSocketCloseStatus.EndpointUnavailable, "the signaling server is shutting down", waitForAwayNoted: away);
        });
        Receive<Terminated>(t =>
        {
            if (!t.ActorRef.Equals(_roomActor)) return;
            _roomActor = null;
            var now = Context.System.Scheduler.Now;
            if (now - _rebuildsSince > _settings.RejoinGrace) (_rebuilds, _rebuildsSince) = (0, now);
            if (++_rebuilds > _settings.MaxRebuilds)
            {
                // the room keeps stopping (failing, not moving with nodes that leave): say so rather than loop
                Send(SignalMessage.Error($"room {_room} closed unexpectedly; join again"));
                _room = null;
                _otherPeer = null;
                _sentAlone.Clear();
                return;
            }
            _rebuilding = true;
            _log.Info("signal: {0}: room {1} stopped under its seat (its node left or was lost); joining it again", _remote, _room);
            JoinRoom(new SignalingRoomProtocol.Join(_room!, _name!, Self, Rejoin: true));
        });
        Receive<JoinUnanswered>(_ =>
        {
            if (_joining is null) return;
            // a room's shard whose node was killed and is not yet downed takes messages into nowhere: ask again
            _log.Debug("signal: {0}: no answer yet from room {1}; joining again", _remote, _joining.Room);
            _rooms.Tell(_joining);
            Timers.StartSingleTimer(nameof(JoinUnanswered), new JoinUnanswered(), _settings.JoinRetry);
        });
    }

    /// <summary>The connection is going: finish the close handshake, then stop (the room sees the seat freed).</summary>
    /// <param name="waitForAwayNoted">Stop only once the room has also noted the seat is kept (<see cref="SignalingRoomProtocol.AwayNoted"/>), or at the time-out.</param>
    private void Close(WebSocketCloseStatus status, string description, bool waitForAwayNoted = false)
    {
        _socket.CloseAfterSends(status, description);
        Timers.StartSingleTimer(nameof(CloseTimedOut), new CloseTimedOut(), _settings.CloseTimeout);
        bool closed = false, noted = !waitForAwayNoted;
        Become(() =>
        {
            Receive<CloseTimedOut>(_ => Context.Stop(Self));
            Receive<SignalingRoomProtocol.AwayNoted>(_ =>
            {
                noted = true;
                if (closed) Context.Stop(Self);
            });
            ReceiveAny(m =>
            {
                if (!_socket.OnClosing(m)) return;
                closed = true;
                if (noted) Context.Stop(Self);
            });
        });
    }

    private string InRoom => _room is null ? string.Empty : $" (room {_room})";

    protected override void PreStart()
    {
        _log.Debug("signal: {0} connected", _remote);
        _socket.ReceiveNext();
    }

    protected override void PostStop()
    {
        _socket.Abort();
        _done.TrySetResult();
    }

    private void OnClientMessage(SignalMessage message)
    {
        switch (message.Type)
        {
            case SignalMessage.JoinType:
                if (_room is not null) { Bad($"already in room {_room}; send leave first"); return; }
                if ((NameProblem("room", message.Room!) ?? NameProblem("name", message.Name!)) is { } problem) { Bad(problem); return; }
                _room = message.Room!;
                _name = message.Name!;
                JoinRoom(new SignalingRoomProtocol.Join(_room, _name, Self, Rejoin: message.Rejoin is true));
                return;
            case SignalMessage.DescriptionType or SignalMessage.CandidateType or SignalMessage.EndOfCandidatesType:
                if (_room is null) { Bad($"join a room before sending a {message.Type}"); return; }
                var relay = new SignalingRoomProtocol.Relay(_room, Self, message);
                if (_otherPeer is null && _sentAlone.Count < _settings.MaxPendingMessages) _sentAlone.Add(relay);
                if (_roomActor is not null) _roomActor.Tell(relay);
                else if (_held.Count < _settings.MaxPendingMessages) _held.Add(relay);
                else Bad($"room {_room} has not answered the join yet; at most {_settings.MaxPendingMessages} messages wait for it, this {message.Type} was dropped");
                _counters.RelayedOne();
                return;
            case SignalMessage.LeaveType:
                if (_room is null) { Bad("leave without being in a room"); return; }
                _rooms.Tell(new SignalingRoomProtocol.Leave(_room, Self));
                StopJoining();
                if (_roomActor is not null) Context.Unwatch(_roomActor);
                _room = null;
                _roomActor = null;
                _rebuilding = false;
                _otherPeer = null;
                return;
            default:
                Bad($"a client does not send \"{message.Type}\" messages");
                return;
        }
    }

    /// <summary>Sends <paramref name="join"/> to the region, again every <see cref="SignalSettings.JoinRetry"/> until the room answers; relays wait for it.</summary>
    private void JoinRoom(SignalingRoomProtocol.Join join)
    {
        _joining = join;
        _rooms.Tell(join);
        Timers.StartSingleTimer(nameof(JoinUnanswered), new JoinUnanswered(), _settings.JoinRetry);
    }

    private void StopJoining()
    {
        _joining = null;
        _held.Clear();
        _sentAlone.Clear();
        Timers.Cancel(nameof(JoinUnanswered));
    }

    private string? NameProblem(string field, string value)
    {
        if (value.Length > _settings.MaxNameLength) return $"the {field} is longer than {_settings.MaxNameLength} characters";
        if (value.Any(char.IsControl)) return $"the {field} contains control characters";
        return null;
    }

    /// <summary>A message the protocol does not allow: answered with an error, counted and logged (rate-limited); the connection stays.</summary>
    private void Bad(string reason)
    {
        _badMessages++;
        // logged by the parent, rate-limited over all connections: a flood of them must not flood the log
        Context.Parent.Tell(new SignalingConnections.BadMessageCounted(_remote + InRoom, reason, _badMessages));
        Send(SignalMessage.Error(reason));
    }

    /// <summary>
    /// Writes <paramref name="message"/>. A peer that lets too many pile up is dropped at once (its room frees the seat):
    /// a close frame could not get past the writes it does not read.
    /// </summary>
    private void Send(SignalMessage message)
    {
        if (_socket.Send(message)) return;
        _log.Warning("signal: {0}{1} reads too slowly ({2} messages waiting); dropping the connection", _remote, InRoom, _settings.MaxQueuedMessages);
        Context.Stop(Self);
    }
}
