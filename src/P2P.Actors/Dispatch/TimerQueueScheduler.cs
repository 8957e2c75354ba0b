using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;

namespace P2P.Actors.Dispatch;

/// <summary>
/// Akka's scheduler (<c>akka.scheduler.implementation</c> in akka.hocon) as one thread that sleeps until the earliest
/// timer is due, and not at all while none is: a process with nothing to do wakes nobody. Akka's own
/// <see cref="HashedWheelTimerScheduler"/> ticks every <c>tick-duration</c> (10 ms at the least) from the first timer
/// on, for as long as the process lives, whether a timer is due or not; each tick wakes a thread-pool worker, which then spins looking for more work,
/// so an idle relay or signaling server that had once served anything kept 4-5% of a core busy.
/// <para>
/// Timers are kept in a priority queue by due time (<see cref="Stopwatch"/> ticks) and fire on this thread, as the
/// wheel's fire on its tick. Due times are rounded up to the wheel's grid (<c>akka.scheduler.tick-duration</c>, 10 ms)
/// so that timers fire when the wheel's would, and all those due in one tick fire in one wake-up: thousands of
/// sessions setting timers at once cost the same number of wake-ups as on the wheel, not one each. A cancelled timer stays queued until it
/// is due or until the queue has doubled since the last sweep, which then drops every cancelled one (a timer restarted
/// per packet cannot grow the queue without bound). Tasks still queued when the system shuts down are run then, as
/// the wheel does.
/// </para>
/// </summary>
public sealed class TimerQueueScheduler : SchedulerBase, IDateTimeOffsetNowTimeProvider, IDisposable
{
    /// <summary>Below this many queued timers cancelled ones are only dropped when due.</summary>
    private const int SweepFloor = 1024;

    private readonly PriorityQueue<Timer, long> _due = new();
    private readonly object _gate = new();
    private readonly Thread _thread;
    private readonly TimeSpan _shutdownTimeout;
    private readonly long _tick; // the grid due times are rounded up to, in Stopwatch ticks
    private long _wakeAt = long.MaxValue; // when the thread waits until; long.MinValue while it runs timers
    private int _sweepAt = SweepFloor;
    private bool _stopped;

    public TimerQueueScheduler(Config scheduler, ILoggingAdapter log) : base(scheduler, log)
    {
        _shutdownTimeout = SchedulerConfig.GetTimeSpan("akka.scheduler.shutdown-timeout", TimeSpan.FromSeconds(5));
        _tick = Math.Max(1, ToTimestamp(SchedulerConfig.GetTimeSpan("akka.scheduler.tick-duration", TimeSpan.FromMilliseconds(10))));
        _thread = new Thread(Run) { IsBackground = true, Name = "akka-scheduler" };
        _thread.Start();
    }

    /// <summary>How many times the thread woke up (to run due timers or after a new earliest one); for tests.</summary>
    public long WakeUps => Interlocked.Read(ref _wakeUps);
    private long _wakeUps;

    /// <summary>Timers queued, cancelled ones not yet swept included; for tests.</summary>
    public int Queued
    {
        get { lock (_gate) return _due.Count; }
    }

    protected override DateTimeOffset TimeNow => DateTimeOffset.UtcNow;

    public override TimeSpan MonotonicClock => Stopwatch.GetElapsedTime(Started);

    public override TimeSpan HighResMonotonicClock => Stopwatch.GetElapsedTime(Started);

    private static readonly long Started = Stopwatch.GetTimestamp();

    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(delay, TimeSpan.Zero, new Tell(receiver, message, sender), cancelable);

    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(initialDelay, interval, new Tell(receiver, message, sender), cancelable);

    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) =>
        Add(delay, TimeSpan.Zero, new ActionRunnable(action), cancelable);

    protected override void InternalScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) =>
        Add(delay, TimeSpan.Zero, action, cancelable);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Add(initialDelay, interval, new ActionRunnable(action), cancelable);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Add(initialDelay, interval, action, cancelable);

    /// <summary>Stops the thread and runs the tasks still queued (as <see cref="HashedWheelTimerScheduler"/> does).</summary>
    public void Dispose()
    {
        Timer[] left;
        lock (_gate)
        {
            if (_stopped) return;
            _stopped = true;
            left = _due.UnorderedItems.Select(item => item.Element).Where(timer => !timer.Cancelled).ToArray();
            _due.Clear();
            Monitor.Pulse(_gate);
        }
        if (Thread.CurrentThread != _thread && !_thread.Join(_shutdownTimeout))
            Log.Warning("Failed to shutdown scheduler within {0}", _shutdownTimeout);
        foreach (var timer in left) Fire(timer);
    }

    private void Add(TimeSpan delay, TimeSpan interval, IRunnable action, ICancelable? cancelable)
    {
        long dueAt = OnGrid(Stopwatch.GetTimestamp() + ToTimestamp(delay));
        var timer = new Timer(action, cancelable, ToTimestamp(interval));
        lock (_gate)
        {
            if (_stopped) throw new SchedulerException("cannot enqueue after timer shutdown");
            _due.Enqueue(timer, dueAt);
            if (_due.Count >= _sweepAt) Sweep();
            if (dueAt < _wakeAt) Monitor.Pulse(_gate);
        }
    }

    private void Run()
    {
        var ready = new List<(Timer Timer, long DueAt)>();
        while (true)
        {
            lock (_gate)
            {
                while (true)
                {
                    if (_stopped) return;
                    long now = Stopwatch.GetTimestamp();
                    if (!_due.TryPeek(out _, out long dueAt))
                    {
                        _wakeAt = long.MaxValue;
                        Monitor.Wait(_gate);
                    }
                    else if (dueAt > now)
                    {
                        _wakeAt = dueAt;
                        Monitor.Wait(_gate, WaitMilliseconds(dueAt - now));
                    }
                    else break;
                    Interlocked.Increment(ref _wakeUps);
                }
                _wakeAt = long.MinValue; // it looks at the queue again before it waits: no need to wake it
                long until = Stopwatch.GetTimestamp();
                while (_due.TryPeek(out _, out long dueAt) && dueAt <= until)
                    ready.Add((_due.Dequeue(), dueAt));
            }
            foreach (var (timer, dueAt) in ready)
            {
                if (timer.Cancelled) continue;
                Fire(timer);
                if (timer.Interval > 0 && !timer.Cancelled) Requeue(timer, dueAt);
            }
            ready.Clear();
        }
    }

    /// <summary>A repeated timer keeps its rate; one that fell more than an interval behind starts again from now.</summary>
    private void Requeue(Timer timer, long dueAt)
    {
        long now = Stopwatch.GetTimestamp();
        long next = dueAt + timer.Interval;
        if (next <= now) next = now + timer.Interval;
        next = OnGrid(next);
        lock (_gate)
        {
            if (!_stopped) _due.Enqueue(timer, next);
        }
    }

    private void Fire(Timer timer)
    {
        try
        {
            timer.Action.Run();
        }
        catch (Exception e)
        {
            Log.Error(e, "Error while executing scheduled task {0}", timer.Action);
        }
    }

    /// <summary>Drops the cancelled timers; the next sweep comes when the queue has doubled again.</summary>
    private void Sweep()
    {
        var live = _due.UnorderedItems.Where(item => !item.Element.Cancelled).ToArray();
        _due.Clear();
        _due.EnqueueRange(live);
        _sweepAt = Math.Max(SweepFloor, 2 * _due.Count);
    }

    /// <summary>The first point of the tick grid (counted from <see cref="Started"/>) at or after <paramref name="timestamp"/>.</summary>
    private long OnGrid(long timestamp)
    {
        long sinceStart = timestamp - Started;
        return Started + (sinceStart + _tick - 1) / _tick * _tick;
    }

    /// <summary>Whole milliseconds, rounded up so that no timer fires early.</summary>
    private static int WaitMilliseconds(long timestampTicks) =>
        (int)Math.Min(int.MaxValue, Math.Ceiling(timestampTicks * 1000.0 / Stopwatch.Frequency));

    private static long ToTimestamp(TimeSpan span) =>
        (long)Math.Min(span.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 4);

    private sealed class Timer(IRunnable action, ICancelable? cancelable, long interval)
    {
        public IRunnable Action { get; } = action;
        public long Interval { get; } = interval; // Stopwatch ticks; 0 for a one-shot timer
        public bool Cancelled => cancelable is { IsCancellationRequested: true };
    }

    private sealed class Tell(ICanTell receiver, object message, IActorRef sender) : IRunnable
    {
        public void Run() => receiver.Tell(message, sender);

        public void Execute() => Run();

        public override string ToString() => $"[{receiver}.Tell({message}, {sender})]";
    }
}
