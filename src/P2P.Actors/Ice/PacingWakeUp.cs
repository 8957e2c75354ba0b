using System.Diagnostics;
using Akka.Actor;

namespace P2P.Actors.Ice;

/// <summary>
/// A one-shot wake-up finer than the actor scheduler's tick, for the one wait that lies on every connection's path:
/// a triggered check (a nomination above all, RFC 8445 §8.1.1) that pacing holds back until Ta (RFC 8445 §14.2, 5 ms
/// here) has passed since the check before it. The scheduler's tick is 10 ms, the least Akka accepts, so on its
/// timers that check would go 10-20 ms after the one before instead of Ta. The wake-up only tells the actor its
/// message; the actor decides, on its own thread, whether pacing now allows a check.
/// <para>
/// All wake-ups of the process share one thread of their own (<see cref="Clock"/>), which tells the actor directly:
/// a <see cref="Timer"/> would round up to whole milliseconds and then queue its callback behind the actors' work on
/// the thread pool, late by a millisecond or two on a busy machine, in the middle of a connection's handshake.
/// </para>
/// <para>
/// Only with the real scheduler: under virtual time (TestKit's TestScheduler) <see cref="For"/> gives none, and the
/// scheduler's own timers drive the checks, deterministically.
/// </para>
/// </summary>
internal sealed class PacingWakeUp
{
    private readonly IActorRef _self;
    private readonly object _message;
    private long _generation; // a later After replaces an earlier one; Dispose ends them all

    private PacingWakeUp(IActorRef self, object message)
    {
        _self = self;
        _message = message;
    }

    /// <summary>A wake-up for <paramref name="self"/> when the system runs on the real scheduler, else null.</summary>
    public static PacingWakeUp? For(ActorSystem system, IActorRef self, object message) =>
        system.Scheduler is HashedWheelTimerScheduler or Dispatch.TimerQueueScheduler ? new PacingWakeUp(self, message) : null;

    /// <summary>Tells the message once <paramref name="delay"/> has passed; replaces an earlier wake-up.</summary>
    public void After(TimeSpan delay)
    {
        long generation = Interlocked.Increment(ref _generation);
        Clock.Add(Stopwatch.GetTimestamp() + (long)(Math.Max(0, delay.TotalSeconds) * Stopwatch.Frequency), this, generation);
    }

    public void Dispose() => Interlocked.Increment(ref _generation);

    private void Fire(long generation)
    {
        if (Interlocked.Read(ref _generation) == generation) _self.Tell(_message, ActorRefs.NoSender);
    }

    /// <summary>The one thread that fires the wake-ups: it sleeps until the earliest is due, to the millisecond, then yields until the exact moment.</summary>
    private static class Clock
    {
        private static readonly PriorityQueue<(PacingWakeUp WakeUp, long Generation), long> Due = new();
        private static readonly object Gate = new();
        private static Thread? _thread;

        public static void Add(long dueAt, PacingWakeUp wakeUp, long generation)
        {
            lock (Gate)
            {
                Due.Enqueue((wakeUp, generation), dueAt);
                if (_thread is null)
                {
                    _thread = new Thread(Run) { IsBackground = true, Name = "p2p-pacing", Priority = ThreadPriority.AboveNormal };
                    _thread.Start();
                }
                Monitor.Pulse(Gate);
            }
        }

        private static void Run()
        {
            while (true)
            {
                (PacingWakeUp WakeUp, long Generation) next;
                lock (Gate)
                {
                    while (true)
                    {
                        if (!Due.TryPeek(out next, out long dueAt))
                        {
                            Monitor.Wait(Gate);
                            continue;
                        }
                        var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), dueAt);
                        if (left <= TimeSpan.Zero) break;
                        if (left >= TimeSpan.FromMilliseconds(1)) Monitor.Wait(Gate, (int)left.TotalMilliseconds);
                        else
                        {
                            Monitor.Exit(Gate); // the last fraction of a millisecond: give way to others until it has passed
                            try { Thread.Yield(); }
                            finally { Monitor.Enter(Gate); }
                        }
                    }
                    Due.Dequeue();
                }
                next.WakeUp.Fire(next.Generation);
            }
        }
    }
}
