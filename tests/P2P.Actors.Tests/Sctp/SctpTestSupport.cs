using System.Collections.Concurrent;
using Akka.Actor;
using P2P.Actors.Sctp;
using P2P.Actors.Transport;

namespace P2P.Actors.Tests.Sctp;

/// <summary>
/// Joins two associations back to back: each one's <see cref="DatagramProtocol.Send"/> becomes the
/// other's <see cref="DatagramProtocol.Received"/>, with seeded loss, duplication and reordering
/// (a reordered packet is held and released after the next one in the same direction).
/// </summary>
public sealed class SctpPipe : ReceiveActor
{
    public sealed record Wire(IActorRef A, IActorRef B);
    /// <param name="MaxPacket">Packets larger than this are lost, as on a path whose MTU they exceed with Don't Fragment set.</param>
    public sealed record Impair(double Loss, double Duplicate = 0, double Reorder = 0, int MaxPacket = int.MaxValue);
    /// <summary>Answered with the last packet that went from A to B (or B to A), as a byte array.</summary>
    public sealed record GetLast(bool FromA);

    private readonly Random _random;
    private IActorRef _a = ActorRefs.Nobody, _b = ActorRefs.Nobody;
    private Impair _impair = new(0);
    private byte[] _lastFromA = [], _lastFromB = [];
    private DatagramProtocol.Received? _heldForA, _heldForB;

    public SctpPipe(int seed)
    {
        _random = new Random(seed);
        Receive<Wire>(m => { _a = m.A; _b = m.B; });
        Receive<Impair>(m => _impair = m);
        Receive<GetLast>(m => Sender.Tell(m.FromA ? _lastFromA : _lastFromB));
        Receive<DatagramProtocol.Send>(m =>
        {
            bool fromA = Sender.Equals(_a);
            var to = fromA ? _b : _a;
            if (fromA) _lastFromA = m.Datagram.ToArray(); else _lastFromB = m.Datagram.ToArray();
            if (m.Datagram.Length > _impair.MaxPacket) return;
            if (_impair.Loss > 0 && _random.NextDouble() < _impair.Loss) return;
            var inbound = new DatagramProtocol.Received(m.Datagram);
            ref var held = ref fromA ? ref _heldForB : ref _heldForA;
            if (held is null && _impair.Reorder > 0 && _random.NextDouble() < _impair.Reorder)
            {
                held = inbound;
                return;
            }
            to.Tell(inbound);
            if (_impair.Duplicate > 0 && _random.NextDouble() < _impair.Duplicate) to.Tell(inbound);
            if (held is not null)
            {
                to.Tell(held);
                held = null;
            }
        });
    }

    public static Props Props(int seed) => Akka.Actor.Props.Create(() => new SctpPipe(seed));
}

/// <summary>Collects every event an association tells its owner, for a test thread to inspect.</summary>
public sealed class EventSink : ReceiveActor
{
    public EventSink(ConcurrentQueue<object> events) => ReceiveAny(events.Enqueue);

    public static Props Props(ConcurrentQueue<object> events) => Akka.Actor.Props.Create(() => new EventSink(events));
}

/// <summary>One side of the pair: the association and what its owner heard.</summary>
public sealed class SctpSide(IActorRef association, ConcurrentQueue<object> events)
{
    public IActorRef Association { get; } = association;
    public ConcurrentQueue<object> Events { get; } = events;

    public IEnumerable<T> Of<T>() => Events.OfType<T>();

    public void Tell(object message) => Association.Tell(message);
}
