using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace P2P.Protocol.Tests;

public sealed class CoalescedDeadlineTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 10, 0, 0, 123, TimeSpan.Zero);

    /// <summary>Windows from a millisecond wide to a minute, starting anywhere within a minute; grids of 1 ms to 2 s; random points in [0, 1).</summary>
    private static Gen<(DateTimeOffset Earliest, DateTimeOffset Latest, TimeSpan Grid, double Random)> Cases() =>
        from offsetMs in Gen.Choose(0, 60_000)
        from ticks in Gen.Choose(0, 9_999)
        from widthMs in Gen.Choose(1, 60_000)
        from gridMs in Gen.Choose(1, 2_000)
        from r in Gen.Choose(0, 1_000_000).Select(n => n / 1_000_001.0)
        let earliest = Start.AddMilliseconds(offsetMs).AddTicks(ticks)
        select (earliest, earliest.AddMilliseconds(widthMs), TimeSpan.FromMilliseconds(gridMs), r);

    [Property]
    public Property The_deadline_stays_in_its_window_and_lies_on_the_grid_when_the_window_holds_a_grid_point() =>
        Prop.ForAll(Cases().ToArbitrary(), c =>
        {
            var due = CoalescedDeadline.Pick(c.Earliest, c.Latest, c.Grid, c.Random);
            bool inWindow = due >= c.Earliest && due <= c.Latest;
            long step = c.Grid.Ticks;
            bool windowHoldsGridPoint = (c.Earliest.UtcTicks + step - 1) / step * step <= c.Latest.UtcTicks;
            bool onGrid = due.UtcTicks % step == 0;
            return (inWindow && onGrid == windowHoldsGridPoint).Label($"due {due:O} grid {c.Grid} window {c.Earliest:O}..{c.Latest:O}");
        });

    [Fact]
    public void Consent_intervals_spread_over_every_grid_point_of_0_8_to_1_2_times_the_period()
    {
        // RFC 7675 §5.1: 5 s randomized to 4-6 s; on a 250 ms grid that is 4.00, 4.25, ..., 6.00 s after a grid point
        var now = new DateTimeOffset(1_000 * TimeSpan.TicksPerSecond, TimeSpan.Zero);
        var seen = new SortedSet<double>();
        for (int i = 0; i < 1000; i++)
        {
            var due = CoalescedDeadline.Pick(now.AddSeconds(4), now.AddSeconds(6), TimeSpan.FromMilliseconds(250), i / 1000.0);
            seen.Add((due - now).TotalSeconds);
        }
        Assert.Equal(Enumerable.Range(0, 9).Select(k => 4 + k * 0.25), seen);
    }

    [Fact]
    public void Without_a_grid_the_deadline_is_the_random_point_itself()
    {
        var due = CoalescedDeadline.Pick(Start, Start.AddSeconds(2), TimeSpan.Zero, 0.25);
        Assert.Equal(Start.AddSeconds(0.5), due);
    }
}
