using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sctp;

/// <summary>
/// A TestKit on Akka's test scheduler for associations in virtual time: timers fire only when a test advances the
/// clock, while the packets themselves flow between the actors in real time.
/// </summary>
public abstract class SctpVirtualTimeTestKit(ITestOutputHelper output)
    : TestKit("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"", output)
{
    protected TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    /// <summary>Advances virtual time in steps (50 ms unless given), letting the actors work in between, until <paramref name="done"/> or the virtual limit.</summary>
    protected void Pump(Func<bool> done, TimeSpan limit, TimeSpan? step = null, string what = "condition")
    {
        var s = step ?? TimeSpan.FromMilliseconds(50);
        for (var elapsed = TimeSpan.Zero; elapsed <= limit; elapsed += s)
        {
            if (done()) return;
            Thread.Sleep(3);
            if (done()) return;
            Scheduler.Advance(s);
        }
        Assert.Fail($"{what} not reached within {limit} of virtual time");
    }

    /// <summary>Advances virtual time by <paramref name="duration"/> in steps (50 ms unless given), with no condition.</summary>
    protected void PumpFor(TimeSpan duration, TimeSpan? step = null)
    {
        var s = step ?? TimeSpan.FromMilliseconds(50);
        for (var elapsed = TimeSpan.Zero; elapsed < duration; elapsed += s)
        {
            Thread.Sleep(3);
            Scheduler.Advance(s);
        }
        Thread.Sleep(20);
    }

    protected P2P.Actors.Sctp.SctpProtocol.Stats StatsOf(SctpSide side)
    {
        var probe = CreateTestProbe();
        side.Association.Tell(P2P.Actors.Sctp.SctpProtocol.GetStats.Instance, probe.Ref);
        return probe.ExpectMsg<P2P.Actors.Sctp.SctpProtocol.Stats>(TimeSpan.FromSeconds(15));
    }
}
