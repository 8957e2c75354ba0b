using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.TestKit.Xunit2;
using P2P.Actors.Dispatch;
using Xunit;

namespace P2P.Actors.Tests.Dispatch;

public sealed class TimerQueueSchedulerTests() : TestKit(ConfigurationFactory.ParseString(
    $"akka.scheduler.implementation = \"{typeof(TimerQueueScheduler).AssemblyQualifiedName}\""))
{
    private static TimerQueueScheduler Standalone() =>
        new(ConfigurationFactory.ParseString("akka.scheduler.shutdown-timeout = 5s"), NoLogger.Instance);

    private static IActionScheduler Actions(IScheduler scheduler) => scheduler.Advanced;

    [Fact]
    public void The_system_runs_on_it_and_timers_fire_in_due_order_never_early()
    {
        Assert.IsType<TimerQueueScheduler>(Sys.Scheduler);
        long start = Stopwatch.GetTimestamp();
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(80), TestActor, "later", ActorRefs.NoSender);
        Sys.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(30), TestActor, "sooner", ActorRefs.NoSender);
        ExpectMsg("sooner");
        Assert.True(Stopwatch.GetElapsedTime(start) >= TimeSpan.FromMilliseconds(30));
        ExpectMsg("later");
        Assert.True(Stopwatch.GetElapsedTime(start) >= TimeSpan.FromMilliseconds(80));
    }

    [Fact]
    public void A_cancelled_timer_never_fires_and_a_repeated_one_fires_until_cancelled()
    {
        var cancelled = Sys.Scheduler.ScheduleTellOnceCancelable(TimeSpan.FromMilliseconds(20), TestActor, "cancelled", ActorRefs.NoSender);
        cancelled.Cancel();
        var repeated = Sys.Scheduler.ScheduleTellRepeatedlyCancelable(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10), TestActor, "tick", ActorRefs.NoSender);
        for (int i = 0; i < 3; i++) ExpectMsg("tick"); // the cancelled one (due before the third tick) did not come first
        repeated.Cancel();
        ReceiveWhile(TimeSpan.FromMilliseconds(50), m => m as string == "tick" ? m : null); // one may have been on its way
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task While_no_timer_is_due_its_thread_sleeps()
    {
        using var scheduler = Standalone();
        var fired = new TaskCompletionSource();
        Actions(scheduler).ScheduleOnce(TimeSpan.FromMinutes(1), () => { });
        Actions(scheduler).ScheduleOnce(TimeSpan.FromMilliseconds(20), () => fired.SetResult());
        await fired.Task.WaitAsync(TimeSpan.FromSeconds(5));
        long wakeUps = scheduler.WakeUps;
        await Task.Delay(300); // a 10 ms tick would wake 30 times meanwhile
        Assert.Equal(wakeUps, scheduler.WakeUps);
    }

    [Fact]
    public void Cancelled_timers_are_swept_once_the_queue_has_doubled()
    {
        using var scheduler = Standalone();
        for (int i = 0; i < 5000; i++)
        {
            var cancelable = new Cancelable((IScheduler)scheduler);
            Actions(scheduler).ScheduleOnce(TimeSpan.FromMinutes(10), () => { }, cancelable);
            cancelable.Cancel(); // as a timer restarted for every packet leaves its predecessor
        }
        Assert.True(scheduler.Queued < 1024, $"{scheduler.Queued} timers still queued");
    }

    [Fact]
    public void Shutting_down_runs_what_is_still_queued_and_refuses_new_timers()
    {
        var scheduler = Standalone();
        int ran = 0;
        Actions(scheduler).ScheduleOnce(TimeSpan.FromMinutes(1), () => Interlocked.Increment(ref ran));
        var cancelable = new Cancelable((IScheduler)scheduler);
        Actions(scheduler).ScheduleOnce(TimeSpan.FromMinutes(1), () => Interlocked.Increment(ref ran), cancelable);
        cancelable.Cancel();
        scheduler.Dispose();
        Assert.Equal(1, ran);
        Assert.Throws<SchedulerException>(() => Actions(scheduler).ScheduleOnce(TimeSpan.FromSeconds(1), () => { }));
    }
}
