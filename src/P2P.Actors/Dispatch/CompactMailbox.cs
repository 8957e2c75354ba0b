using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace P2P.Actors.Dispatch;

/// <summary>
/// The mailbox of the actors every session has (Session, IceAgent, PairChecker, Connection): a host holds tens of
/// thousands of them, mostly idle. Akka's default queue (a ConcurrentQueue) starts every mailbox with a 32-slot
/// segment, ~1 KiB per actor before any message; this one is a locked <see cref="Queue{T}"/> that allocates on the
/// first message, starts at 4 slots and gives a grown array back once drained. Few threads ever send to one session
/// actor at once, so the lock is rarely contended. Configured as <see cref="Id"/> in akka.hocon; see
/// <see cref="SessionMailbox"/> for how props pick it up.
/// </summary>
public sealed class CompactMailbox(Settings settings, Config config) : MailboxType(settings, config), IProducesMessageQueue<CompactMessageQueue>
{
    public const string Id = "p2p.session-mailbox";

    public override IMessageQueue Create(IActorRef owner, ActorSystem system) => new CompactMessageQueue();
}

public sealed class CompactMessageQueue : IMessageQueue, IUnboundedMessageQueueSemantics
{
    private const int KeepSlots = 16; // drained queues larger than this give their array back
    private readonly Queue<Envelope> _queue = new();
    private int _highWater;

    public bool HasMessages
    {
        get { lock (_queue) return _queue.Count > 0; }
    }

    public int Count
    {
        get { lock (_queue) return _queue.Count; }
    }

    public void Enqueue(IActorRef receiver, Envelope envelope)
    {
        lock (_queue)
        {
            _queue.Enqueue(envelope);
            if (_queue.Count > _highWater) _highWater = _queue.Count;
        }
    }

    public bool TryDequeue(out Envelope envelope)
    {
        lock (_queue)
        {
            if (!_queue.TryDequeue(out envelope)) return false;
            if (_queue.Count == 0 && _highWater > KeepSlots)
            {
                _queue.TrimExcess();
                _highWater = 0;
            }
            return true;
        }
    }

    public void CleanUp(IActorRef owner, IMessageQueue deadletters)
    {
        while (TryDequeue(out var envelope)) deadletters.Enqueue(owner, envelope);
    }
}

/// <summary>Gives a session actor's props the compact mailbox when the system's config defines it (akka.hocon does).</summary>
public static class SessionMailbox
{
    public static Props For(Props props, ActorSystem system) =>
        system.Settings.Config.HasPath(CompactMailbox.Id) ? props.WithMailbox(CompactMailbox.Id) : props;
}
