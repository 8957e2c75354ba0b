using Akka.Actor;

namespace P2P.Actors.Ice;

/// <summary>
/// A one-shot wake-up finer than the actor scheduler's tick, for the one wait that lies on every connection's path:
/// a triggered check (a nomination above all, RFC 8445 §8.1.1) that pacing holds back until Ta (RFC 8445 §14.2, 5 ms
/// here) has passed since the check before it. The scheduler's tick is 10 ms, the least Akka accepts, so on its
/// timers that check would go 10-20 ms after the one before instead of Ta. The wake-up only tells the actor
/// <paramref name="message"/>; the actor decides, on its own thread, whether pacing now allows a check.
/// <para>
/// Only with the real scheduler: under virtual time (TestKit's TestScheduler) <see cref="For"/> gives none, and the
/// scheduler's own timers drive the checks, deterministically.
/// </para>
/// </summary>
internal sealed class PacingWakeUp(IActorRef self, object message) : IDisposable
{
    private readonly Timer _timer = new(static state =>
    {
        var (target, what) = ((IActorRef, object))state!;
        target.Tell(what, ActorRefs.NoSender);
    }, (self, message), Timeout.Infinite, Timeout.Infinite);

    /// <summary>A wake-up for <paramref name="self"/> when the system runs on the real scheduler, else null.</summary>
    public static PacingWakeUp? For(ActorSystem system, IActorRef self, object message) =>
        system.Scheduler is HashedWheelTimerScheduler ? new PacingWakeUp(self, message) : null;

    /// <summary>Tells the message once <paramref name="delay"/> has passed (whole milliseconds, rounded up); replaces an earlier wake-up.</summary>
    public void After(TimeSpan delay) =>
        _timer.Change(TimeSpan.FromMilliseconds(Math.Max(0, Math.Ceiling(delay.TotalMilliseconds))), Timeout.InfiniteTimeSpan);

    public void Dispose() => _timer.Dispose();
}
