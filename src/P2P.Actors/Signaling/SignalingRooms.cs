using Akka.Actor;
using Akka.Event;

namespace P2P.Actors.Signaling;

/// <summary>
/// The region of signaling rooms (/user/signal-rooms): one child <see cref="SignalingRoom"/> per room name,
/// created by the first message for it. A room that empties asks to be stopped (<see cref="SignalingRoomProtocol.Passivate"/>);
/// the region then holds new messages for that room until the room has either stopped (they go to a fresh room)
/// or found itself in use again. This is what Akka.Cluster.Sharding's ShardRegion does for entities, so the
/// move there replaces this actor and keeps <see cref="SignalingRoom"/> and <see cref="RoomMessageExtractor"/>.
/// </summary>
public sealed class SignalingRooms : ReceiveActor
{
    public const string Name = "signal-rooms";

    private readonly SignalSettings _settings;
    private readonly RoomMessageExtractor _extractor = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _names = new();
    /// <summary>Rooms being stopped, with the messages that arrived for them meanwhile.</summary>
    private readonly Dictionary<string, List<object>> _passivating = new(StringComparer.Ordinal);

    public static Props Props(SignalSettings settings) => Akka.Actor.Props.Create(() => new SignalingRooms(settings));

    public SignalingRooms(SignalSettings settings)
    {
        _settings = settings;
        Receive<SignalingRoomProtocol.Passivate>(p =>
        {
            if (!_rooms.TryGetValue(p.Room, out var room) || !room.Equals(Sender) || _passivating.ContainsKey(p.Room)) return;
            _passivating[p.Room] = [];
            room.Tell(new SignalingRoomProtocol.StopIfEmpty());
        });
        Receive<SignalingRoomProtocol.StillInUse>(s =>
        {
            if (!_passivating.Remove(s.Room, out var held) || !_rooms.TryGetValue(s.Room, out var room)) return;
            foreach (var message in held) room.Tell(message);
        });
        Receive<Terminated>(t =>
        {
            if (!_names.Remove(t.ActorRef, out var name)) return;
            _rooms.Remove(name);
            _log.Debug("signal room {0} stopped", name);
            if (_passivating.Remove(name, out var held))
                foreach (var message in held) Route(message);
        });
        Receive<SignalingRoomProtocol.GetRoomCount>(_ => Sender.Tell(new SignalingRoomProtocol.RoomCount(_rooms.Count)));
        Receive<SignalingRoomProtocol.IRoomMessage>(Route);
    }

    private void Route(object message)
    {
        var id = _extractor.EntityId(message);
        if (id is null) { Unhandled(message); return; }
        var payload = _extractor.EntityMessage(message);
        if (_passivating.TryGetValue(id, out var held))
        {
            held.Add(payload);
            return;
        }
        if (!_rooms.TryGetValue(id, out var room))
        {
            room = Context.ActorOf(SignalingRoom.Props(id, _settings), "room-" + Uri.EscapeDataString(id));
            Context.Watch(room);
            _rooms[id] = room;
            _names[room] = id;
        }
        room.Tell(payload);
    }

    /// <summary>A room that throws loses its seats' state: stop it (its peers see their room gone) rather than restart it empty.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);
}
