using Akka.Actor;
using Akka.Event;
using P2P.Actors.Supervision;

namespace P2P.Actors.Signaling;

/// <summary>
/// One signaling room, a room of two: the entity of <see cref="SignalingRooms"/>, its name the entity id. The first
/// seat is the controlling side (RFC 8445 §6.1.1), the second the controlled side; a peer that joins takes the first
/// free seat, a third is refused. What one peer sends is relayed to the other with "from" set; while the other seat is
/// empty it is kept (at most <see cref="SignalSettings.MaxPendingMessages"/>) and delivered when a peer takes the seat,
/// so trickle may start early. A peer that leaves or whose connection stops frees its seat and the other gets
/// peer-left. An empty room asks the region to stop it.
/// In a fleet a seat outlives its connection: a peer whose server node goes away is kept Away for
/// <see cref="SignalSettings.RejoinGrace"/> (what the other sends it is kept as for an empty seat), and a join marked
/// rejoin takes back the seat of its name, whether Away or still held by a connection on a node that was killed; the
/// other peer hears nothing of it. A room lost with its node is rebuilt by the rejoins of the connections still alive.
/// </summary>
public sealed class SignalingRoom : ReceiveActor, IWithTimers
{
    private const int Seats = 2;

    /// <param name="Away">The peer's connection is gone (its node is leaving); the seat waits for its rejoin.</param>
    /// <param name="MissedLeave">While Away, the other peer left: told to this one when it is back.</param>
    private sealed record Seat(string Name, IActorRef Peer, bool Away = false, string? MissedLeave = null);

    private sealed record AwayExpired(string Name);

    public ITimerScheduler Timers { get; set; } = null!;

    private readonly string _room;
    private readonly SignalSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Seat?[] _seats = new Seat?[Seats];
    /// <summary>Messages from the seated peer waiting for the other seat to be taken (relayed form, "from" set).</summary>
    private readonly Queue<SignalMessage> _pending = new();
    private readonly LogRateLimit _droppedLog;
    private long _dropped;

    private readonly bool _sharded;

    /// <param name="sharded">The room is an entity of Akka.Cluster.Sharding (its parent a Shard), not of <see cref="SignalingRooms"/>.</param>
    public static Props Props(string room, SignalSettings settings, bool sharded = false) => Akka.Actor.Props.Create(() => new SignalingRoom(room, settings, sharded));

    public SignalingRoom(string room, SignalSettings settings, bool sharded)
    {
        _room = room;
        _settings = settings;
        _sharded = sharded;
        _droppedLog = new LogRateLimit(settings.LogBurst, settings.LogInterval);
        Receive<SignalingRoomProtocol.Join>(OnJoin);
        Receive<SignalingRoomProtocol.Relay>(OnRelay);
        Receive<SignalingRoomProtocol.Leave>(l => Free(l.Peer, "left"));
        Receive<SignalingRoomProtocol.Away>(OnAway);
        Receive<AwayExpired>(e =>
        {
            int seat = Array.FindIndex(_seats, s => s is { Away: true } && s.Name == e.Name);
            if (seat >= 0) Free(_seats[seat]!.Peer, "did not come back");
        });
        Receive<Terminated>(t => Free(t.ActorRef, "disconnected"));
        Receive<SignalingRoomProtocol.StopIfEmpty>(_ =>
        {
            if (Occupied == 0) Context.Stop(Self);
            else Context.Parent.Tell(new SignalingRoomProtocol.StillInUse(_room));
        });
    }

    private int Occupied => _seats.Count(s => s is not null);

    private int SeatOf(IActorRef peer) => Array.FindIndex(_seats, s => s is not null && s.Peer.Equals(peer));

    private void OnJoin(SignalingRoomProtocol.Join join)
    {
        if (SeatOf(join.Peer) is var seated and >= 0)
        {
            // the connection sent its join again (no answer came in time): the answer again, nothing else
            join.Peer.Tell(new SignalingRoomProtocol.JoinAccepted(_room, join.Name, seated == 0, Occupied));
            return;
        }
        if (join.Rejoin && Array.FindIndex(_seats, s => s is not null && s.Name == join.Name) is var held and >= 0)
        {
            TakeBack(held, join);
            return;
        }
        int free = Array.IndexOf(_seats, null);
        if (free < 0)
        {
            _log.Info("signal room {0}: refused {1}, the room is full", _room, join.Name);
            join.Peer.Tell(new SignalingRoomProtocol.JoinRefused(_room, $"room {_room} is full ({Seats} peers)"));
            return;
        }
        var other = _seats[1 - free];
        if (other is not null && other.Name == join.Name)
        {
            join.Peer.Tell(new SignalingRoomProtocol.JoinRefused(_room, $"the name {join.Name} is already taken in room {_room}"));
            return;
        }

        _seats[free] = new Seat(join.Name, join.Peer);
        Context.Watch(join.Peer);
        bool controlling = free == 0;
        _log.Info("signal room {0}: {1} joined ({2}, {3} of {4})", _room, join.Name, controlling ? "controlling" : "controlled", Occupied, Seats);
        join.Peer.Tell(new SignalingRoomProtocol.JoinAccepted(_room, join.Name, controlling, Occupied));
        if (other is null) return;

        if (!other.Away) other.Peer.Tell(new SignalingRoomProtocol.Deliver(SignalMessage.PeerJoined(join.Name))); // else told when back
        join.Peer.Tell(new SignalingRoomProtocol.Deliver(SignalMessage.PeerJoined(other.Name)));
        while (_pending.TryDequeue(out var early)) join.Peer.Tell(new SignalingRoomProtocol.Deliver(early));
    }

    private void OnRelay(SignalingRoomProtocol.Relay relay)
    {
        int seat = SeatOf(relay.Peer);
        if (seat < 0)
        {
            relay.Peer.Tell(new SignalingRoomProtocol.Deliver(SignalMessage.Error($"join room {_room} before sending a {relay.Message.Type}")));
            return;
        }
        var message = relay.Message with { From = _seats[seat]!.Name, Room = null, Name = null };
        var other = _seats[1 - seat];
        if (other is { Away: false })
        {
            other.Peer.Tell(new SignalingRoomProtocol.Deliver(message));
            return;
        }
        if (_pending.Count >= _settings.MaxPendingMessages)
        {
            _dropped++;
            if (_droppedLog.TryLog(Context.System.Scheduler.Now, out long leftOut))
                _log.Warning("signal room {0}: {1} sent more than {2} messages before a peer joined; dropped one ({3} so far){4}",
                    _room, message.From, _settings.MaxPendingMessages, _dropped, LogRateLimit.LeftOutNote(leftOut));
            relay.Peer.Tell(new SignalingRoomProtocol.Deliver(SignalMessage.Error(
                $"room {_room} keeps at most {_settings.MaxPendingMessages} messages for a peer that has not joined; this {message.Type} was dropped")));
            return;
        }
        _pending.Enqueue(message);
    }

    /// <summary>
    /// A rejoin under the name of a seat: the seat (its role, and what was kept for it while Away) goes to the new
    /// connection. The old one is Away, or on a node that was killed and not yet downed, or, rarely, still alive: it is
    /// told its seat went elsewhere. The other peer hears nothing; the rejoiner hears of it again (its client ignores a
    /// peer-joined for the peer it already knows).
    /// </summary>
    private void TakeBack(int seat, SignalingRoomProtocol.Join join)
    {
        var old = _seats[seat]!;
        Context.Unwatch(old.Peer);
        Timers.Cancel(old.Name);
        if (!old.Away && !old.Peer.Equals(join.Peer))
            old.Peer.Tell(new SignalingRoomProtocol.Deliver(SignalMessage.Error($"{old.Name} joined room {_room} again through another connection")));
        _seats[seat] = new Seat(join.Name, join.Peer);
        Context.Watch(join.Peer);
        _log.Info("signal room {0}: {1} rejoined ({2})", _room, join.Name, seat == 0 ? "controlling" : "controlled");
        join.Peer.Tell(new SignalingRoomProtocol.JoinAccepted(_room, join.Name, seat == 0, Occupied, Resumed: true));
        if (old.MissedLeave is { } left) join.Peer.Tell(new SignalingRoomProtocol.Deliver(SignalMessage.PeerLeft(left)));
        if (_seats[1 - seat] is not { } other) return;
        join.Peer.Tell(new SignalingRoomProtocol.Deliver(SignalMessage.PeerJoined(other.Name)));
        if (other.Away) return; // what is kept was sent by the rejoiner, for the other when it is back
        while (_pending.TryDequeue(out var early)) join.Peer.Tell(new SignalingRoomProtocol.Deliver(early));
    }

    /// <summary>The peer's node is going away: keep its seat for its rejoin, and what the other sends it meanwhile.</summary>
    private void OnAway(SignalingRoomProtocol.Away away)
    {
        int seat = SeatOf(away.Peer);
        away.Peer.Tell(new SignalingRoomProtocol.AwayNoted(_room));
        if (seat < 0) return;
        var gone = _seats[seat]!;
        Context.Unwatch(away.Peer);
        _seats[seat] = gone with { Away = true };
        _log.Info("signal room {0}: {1} is reconnecting through another node; its seat is kept for {2}", _room, gone.Name, _settings.RejoinGrace);
        Timers.StartSingleTimer(gone.Name, new AwayExpired(gone.Name), _settings.RejoinGrace);
    }

    private void Free(IActorRef peer, string how)
    {
        int seat = SeatOf(peer);
        if (seat < 0) return;
        var gone = _seats[seat]!;
        _seats[seat] = null;
        Timers.Cancel(gone.Name);
        Context.Unwatch(peer);
        _pending.Clear(); // what the leaver sent early was for a peer that never came; what it got is moot
        _log.Info("signal room {0}: {1} {2}", _room, gone.Name, how);
        if (_seats[1 - seat] is { } other)
        {
            if (!other.Away) other.Peer.Tell(new SignalingRoomProtocol.Deliver(SignalMessage.PeerLeft(gone.Name)));
            else _seats[1 - seat] = other with { MissedLeave = gone.Name };
        }
        else if (_sharded) Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(PoisonPill.Instance)); // the shard holds its messages meanwhile
        else Context.Parent.Tell(new SignalingRoomProtocol.Passivate(_room));
    }
}
