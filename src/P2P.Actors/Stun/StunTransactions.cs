using Akka.Actor;
using P2P.Protocol.Stun;

namespace P2P.Actors.Stun;

/// <summary>
/// The timer message of a <see cref="StunTransactions{TContext}"/>: it arrives at the owning actor,
/// which hands it to <see cref="StunTransactions{TContext}.OnTimer"/>.
/// </summary>
public sealed record StunTransactionTimer(TransactionId Id);

/// <summary>What <see cref="StunTransactions{TContext}.OnTimer"/> did.</summary>
public enum StunTransactionTimerResult
{
    /// <summary>The request was sent again; the transaction goes on.</summary>
    Retransmitted,
    /// <summary>No response within the schedule: the transaction is over and failed.</summary>
    TimedOut,
    /// <summary>The transaction had already ended (a late timer); nothing to do.</summary>
    Unknown,
}

/// <summary>
/// STUN client transactions of one actor (RFC 8489 §6.2, §6.3): sends a request, retransmits it per
/// <see cref="RetransmissionSchedule"/> with the actor's timers (so TestKit virtual time drives it),
/// matches responses by transaction id, and reports when a transaction times out. Not an actor and not
/// thread-safe: it lives inside one actor and is called only from its message handlers.
/// </summary>
/// <typeparam name="TContext">What the owner remembers about each request (which request it was, for what).</typeparam>
public sealed class StunTransactions<TContext>
{
    private sealed class Entry(byte[] request, TContext context, bool reliable)
    {
        public byte[] Request { get; } = request;
        public TContext Context { get; } = context;
        public bool Reliable { get; } = reliable;
        public int Sent { get; set; }
    }

    private readonly Dictionary<TransactionId, Entry> _pending = [];
    private readonly RetransmissionSchedule _schedule;
    private readonly bool _reliable;
    private readonly ITimerScheduler _timers;
    private readonly Action<ReadOnlyMemory<byte>, TContext> _transmit;

    /// <param name="schedule">When to retransmit and when to give up.</param>
    /// <param name="reliable">True over TCP/TLS: sent once, fails after Ti (RFC 8489 §6.2.2). The default of <see cref="Start(byte[], TContext)"/>; a transaction can say otherwise.</param>
    /// <param name="timers">The owning actor's timers; timer keys are the <see cref="StunTransactionTimer"/> messages.</param>
    /// <param name="transmit">Sends one copy of a request (to the socket actor).</param>
    public StunTransactions(RetransmissionSchedule schedule, bool reliable, ITimerScheduler timers, Action<ReadOnlyMemory<byte>> transmit)
        : this(schedule, reliable, timers, (bytes, _) => transmit(bytes))
    {
    }

    /// <summary>As the other constructor, for owners whose requests go to different places (ICE checks on
    /// different candidate pairs): <paramref name="transmit"/> also gets the transaction's context.</summary>
    public StunTransactions(RetransmissionSchedule schedule, bool reliable, ITimerScheduler timers, Action<ReadOnlyMemory<byte>, TContext> transmit)
    {
        _schedule = schedule;
        _reliable = reliable;
        _timers = timers;
        _transmit = transmit;
    }

    public int Count => _pending.Count;

    public bool IsPending(in TransactionId id) => _pending.ContainsKey(id);

    /// <summary>Sends <paramref name="request"/> (a whole STUN request, which carries its id) and starts its retransmission timer.</summary>
    public TransactionId Start(byte[] request, TContext context) => Start(request, context, _reliable);

    /// <summary>
    /// As <see cref="Start(byte[], TContext)"/>, over a transport of its own: <paramref name="reliable"/> (TCP or TLS,
    /// as an ICE check on a TCP pair, RFC 6544 §7.1) sends it once and fails it after the schedule's TCP timeout, else it
    /// is retransmitted (RFC 8489 §6.2.1, §6.2.2). For owners whose requests go over several transports.
    /// </summary>
    public TransactionId Start(byte[] request, TContext context, bool reliable)
    {
        var id = TransactionId.Read(request.AsSpan(8, TransactionId.Size));
        var entry = new Entry(request, context, reliable);
        _pending[id] = entry;
        Transmit(id, entry);
        return id;
    }

    /// <summary>Ends the transaction a response belongs to; false when the id is not one of ours (or already answered).</summary>
    public bool TryComplete(in TransactionId id, out TContext context)
    {
        if (_pending.Remove(id, out var entry))
        {
            _timers.Cancel(new StunTransactionTimer(id));
            context = entry.Context;
            return true;
        }
        context = default!;
        return false;
    }

    /// <summary>Looks at a pending transaction without ending it.</summary>
    public bool TryPeek(in TransactionId id, out TContext context)
    {
        if (_pending.TryGetValue(id, out var entry))
        {
            context = entry.Context;
            return true;
        }
        context = default!;
        return false;
    }

    /// <summary>Handles a timer: retransmits, or ends the transaction as timed out (then <paramref name="context"/> is its context).</summary>
    public StunTransactionTimerResult OnTimer(StunTransactionTimer timer, out TContext context, out int sentCount)
    {
        context = default!;
        sentCount = 0;
        if (!_pending.TryGetValue(timer.Id, out var entry)) return StunTransactionTimerResult.Unknown;
        sentCount = entry.Sent;
        _schedule.WaitAfterSend(entry.Sent, entry.Reliable, out bool wasFinal);
        if (wasFinal)
        {
            _pending.Remove(timer.Id);
            context = entry.Context;
            return StunTransactionTimerResult.TimedOut;
        }
        Transmit(timer.Id, entry);
        return StunTransactionTimerResult.Retransmitted;
    }

    /// <summary>Forgets the transactions whose context matches <paramref name="stop"/> and stops their timers (no more retransmissions); returns how many.</summary>
    public int Cancel(Func<TContext, bool> stop)
    {
        int cancelled = 0;
        foreach (var (id, entry) in _pending)
        {
            if (!stop(entry.Context)) continue;
            _timers.Cancel(new StunTransactionTimer(id));
            _pending.Remove(id); // removing the current entry while enumerating is allowed for Dictionary
            cancelled++;
        }
        return cancelled;
    }

    /// <summary>Forgets every transaction and stops its timer (when the owner stops or starts over).</summary>
    public void CancelAll()
    {
        foreach (var id in _pending.Keys) _timers.Cancel(new StunTransactionTimer(id));
        _pending.Clear();
    }

    private void Transmit(in TransactionId id, Entry entry)
    {
        entry.Sent++;
        var wait = _schedule.WaitAfterSend(entry.Sent, entry.Reliable, out _);
        var timer = new StunTransactionTimer(id);
        _timers.StartSingleTimer(timer, timer, wait);
        _transmit(entry.Request, entry.Context);
    }
}
