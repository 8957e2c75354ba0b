using Akka.Actor;

namespace P2P.Actors.Signaling;

/// <summary>
/// Messages between a peer's connection actor and its room (through <see cref="SignalingRooms"/>), and the
/// passivation handshake between a room and the region. Every message for a room names it, so the region can
/// route by room name the way an Akka.Cluster.Sharding message extractor would.
/// </summary>
public static class SignalingRoomProtocol
{
    /// <summary>A message for the room named <see cref="Room"/> (the entity id).</summary>
    public interface IRoomMessage
    {
        string Room { get; }
    }

    /// <summary>
    /// <paramref name="Peer"/> (its connection actor) asks for a seat under <paramref name="Name"/>. <paramref name="Rejoin"/>:
    /// the peer had that seat through another connection (its client reconnected, or its room was rebuilt on another node),
    /// so a seat held under the same name is handed to it instead of the join being refused.
    /// </summary>
    public sealed record Join(string Room, string Name, IActorRef Peer, bool Rejoin = false) : IRoomMessage;

    /// <summary>A description, candidate or end-of-candidates from <paramref name="Peer"/> for the other seat.</summary>
    public sealed record Relay(string Room, IActorRef Peer, SignalMessage Message) : IRoomMessage;

    /// <summary><paramref name="Peer"/> gives up its seat.</summary>
    public sealed record Leave(string Room, IActorRef Peer) : IRoomMessage;

    /// <summary>
    /// <paramref name="Peer"/>'s server node is going away and its client was told to reconnect: the room keeps the seat
    /// (and what the other peer sends to it) for <see cref="SignalSettings.RejoinGrace"/>, for a rejoin under the same name.
    /// </summary>
    public sealed record Away(string Room, IActorRef Peer) : IRoomMessage;

    /// <summary>To the connection: its seat is kept (<see cref="Away"/>); it may stop now without its room freeing the seat.</summary>
    public sealed record AwayNoted(string Room);

    /// <summary>To the connection: it has a seat (the first seat is the controlling side).</summary>
    /// <param name="Resumed">A rejoin got back the seat it had (and what the room kept for it), not a fresh one in a rebuilt room.</param>
    public sealed record JoinAccepted(string Room, string Name, bool Controlling, int Peers, bool Resumed = false);

    /// <summary>To the connection: no seat (the room is full, the name is taken); the connection is then closed.</summary>
    public sealed record JoinRefused(string Room, string Reason);

    /// <summary>To the connection: a message to write to its WebSocket as it is.</summary>
    public sealed record Deliver(SignalMessage Message);

    /// <summary>Room to region: I am empty, stop me (Akka.Cluster.Sharding's Passivate).</summary>
    public sealed record Passivate(string Room);

    /// <summary>Region to room, after every message routed to it before: stop if you are still empty.</summary>
    public sealed record StopIfEmpty;

    /// <summary>Room to region: a join arrived before <see cref="StopIfEmpty"/>, so I stay.</summary>
    public sealed record StillInUse(string Room);

    /// <summary>Ask the region how many rooms are live (tests, diagnostics); answered with <see cref="RoomCount"/>.</summary>
    public sealed record GetRoomCount;

    public sealed record RoomCount(int Rooms);
}

/// <summary>
/// Routes room messages by room name: the room is the entity id, its shard a stable hash of it. Used by the
/// Akka.Cluster.Sharding region of <c>p2p signal</c> and by the in-process <see cref="SignalingRooms"/> alike.
/// </summary>
public sealed class RoomMessageExtractor() : Akka.Cluster.Sharding.HashCodeMessageExtractor(MaxShards)
{
    /// <summary>Shards of the signal-room entity type: ten per node of a cluster of ten is plenty for rooms of two.</summary>
    public const int MaxShards = 100;

    public override string? EntityId(object message) => message is SignalingRoomProtocol.IRoomMessage m ? m.Room : null;

    public override object EntityMessage(object message) => message;
}
