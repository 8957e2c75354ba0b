using Akka.Actor;

namespace P2P.Actors.Supervision;

/// <summary>
/// The faults of one supervised actor within the last minute, held against a per-minute budget: the session's children
/// (kept by the <see cref="Sessions.Session"/>), each session (by its <see cref="Sessions.Peer"/>) and a chat (in its
/// <see cref="Chat.ChatMemory"/>). Not thread-safe: one actor owns it.
/// </summary>
internal sealed class FaultWindow
{
    private const long MinuteMs = 60_000;
    private readonly Queue<long> _times = new();

    /// <summary>Records a fault at <paramref name="nowMs"/> (any millisecond clock, used for every call); returns the faults in the minute up to it, this one included.</summary>
    public int Record(long nowMs)
    {
        while (_times.Count > 0 && nowMs - _times.Peek() > MinuteMs) _times.Dequeue();
        _times.Enqueue(nowMs);
        return _times.Count;
    }

    /// <summary>What a supervisor shows of a fault: the exception a child's constructor threw rather than Akka's wrapper.</summary>
    public static string ReasonOf(Exception cause) =>
        (cause is ActorInitializationException { InnerException: { } inner } ? inner : cause).Message;

    /// <summary>False for a child that cannot go on with its state: it failed to start, or was killed.</summary>
    public static bool IsResumable(Exception cause) => cause is not (ActorInitializationException or ActorKilledException or DeathPactException);
}
