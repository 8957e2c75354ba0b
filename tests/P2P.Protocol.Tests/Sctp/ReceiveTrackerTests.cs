using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Sctp;
using Xunit;

namespace P2P.Protocol.Tests.Sctp;

public class ReceiveTrackerTests
{
    private static GapAckBlock[] Gaps(ReceiveTracker t)
    {
        var gaps = new GapAckBlock[64];
        return gaps[..t.GetGapAckBlocks(gaps)];
    }

    [Fact]
    public void In_order_arrival_moves_the_cumulative_point()
    {
        var t = new ReceiveTracker(100);
        Assert.Equal(99u, t.CumulativeTsnAck);
        for (uint tsn = 100; tsn < 110; tsn++) Assert.Equal(TsnReceiveResult.New, t.OnDataReceived(tsn));
        Assert.Equal(109u, t.CumulativeTsnAck);
        Assert.False(t.HasGaps);
    }

    [Fact]
    public void Holes_become_gap_blocks_relative_to_the_cumulative_point()
    {
        // RFC 9260 §3.3.4's example shape: cum 12, received 14-15 and 17-18.
        var t = new ReceiveTracker(10);
        foreach (uint tsn in new uint[] { 10, 11, 12, 14, 15, 17, 18 }) t.OnDataReceived(tsn);
        Assert.Equal(12u, t.CumulativeTsnAck);
        Assert.Equal([new GapAckBlock(2, 3), new GapAckBlock(5, 6)], Gaps(t));
        t.OnDataReceived(16);
        Assert.Equal([new GapAckBlock(2, 6)], Gaps(t));
        t.OnDataReceived(13);
        Assert.Equal(18u, t.CumulativeTsnAck);
        Assert.Empty(Gaps(t));
    }

    [Fact]
    public void Duplicates_are_reported_once_and_cleared()
    {
        var t = new ReceiveTracker(1);
        t.OnDataReceived(1);
        t.OnDataReceived(3);
        Assert.Equal(TsnReceiveResult.Duplicate, t.OnDataReceived(1));
        Assert.Equal(TsnReceiveResult.Duplicate, t.OnDataReceived(3));
        Assert.Equal([1u, 3u], t.Duplicates.ToArray());
        t.ClearDuplicates();
        Assert.True(t.Duplicates.IsEmpty);
    }

    [Fact]
    public void Tracking_wraps_around_zero()
    {
        var t = new ReceiveTracker(0xFFFFFFFE);
        t.OnDataReceived(0xFFFFFFFE);
        t.OnDataReceived(1);
        Assert.Equal([new GapAckBlock(3, 3)], Gaps(t));
        t.OnDataReceived(0xFFFFFFFF);
        t.OnDataReceived(0);
        Assert.Equal(1u, t.CumulativeTsnAck);
    }

    [Fact]
    public void Forward_tsn_skips_holes_and_joins_runs()
    {
        var t = new ReceiveTracker(1);
        foreach (uint tsn in new uint[] { 1, 4, 5, 8 }) t.OnDataReceived(tsn);
        Assert.True(t.OnForwardTsn(3));
        Assert.Equal(5u, t.CumulativeTsnAck);          // 4 and 5 were already there
        Assert.Equal([new GapAckBlock(3, 3)], Gaps(t));
        Assert.False(t.OnForwardTsn(2));               // stale
        Assert.True(t.OnForwardTsn(9));
        Assert.Equal(9u, t.CumulativeTsnAck);
        Assert.False(t.HasGaps);
    }

    public static Arbitrary<(uint Initial, uint[] Order)> Arrivals() =>
        (from initial in ArbMap.Default.GeneratorFor<uint>()
         from count in Gen.Choose(1, 60)
         from kept in Gen.ListOf(ArbMap.Default.GeneratorFor<bool>(), count)
         from shuffle in Gen.Shuffle(Enumerable.Range(0, count).Where(i => kept[i] || i == 0).ToArray())
         from dup in Gen.Choose(0, 3)
         select (initial, shuffle.Concat(shuffle.Take(dup)).Select(i => initial + (uint)i).ToArray())).ToArbitrary();

    [Property(Arbitrary = [typeof(ReceiveTrackerTests)], MaxTest = 500)]
    public bool Cumulative_ack_is_the_highest_contiguous_and_gaps_cover_exactly_the_rest((uint Initial, uint[] Order) arrival)
    {
        var t = new ReceiveTracker(arrival.Initial);
        var seen = new HashSet<uint>();
        foreach (uint tsn in arrival.Order)
        {
            var result = t.OnDataReceived(tsn);
            if (result != (seen.Add(tsn) ? TsnReceiveResult.New : TsnReceiveResult.Duplicate)) return false;
        }
        uint expectedCum = arrival.Initial - 1;
        while (seen.Contains(expectedCum + 1)) expectedCum++;
        if (t.CumulativeTsnAck != expectedCum) return false;

        var covered = new HashSet<uint>();
        ushort previousEnd = 0;
        foreach (var gap in Gaps(t))
        {
            if (gap.Start > gap.End || gap.Start <= previousEnd + 1) return false;   // ordered, disjoint, not adjacent
            previousEnd = gap.End;
            for (uint o = gap.Start; o <= gap.End; o++) covered.Add(expectedCum + o);
        }
        var above = seen.Where(tsn => SerialNumber.IsGreater(tsn, expectedCum)).ToHashSet();
        return covered.SetEquals(above) && above.All(t.IsReceived);
    }
}
