using P2P.Protocol.Sctp;
using Xunit;

namespace P2P.Protocol.Tests.Sctp;

public class CongestionControlTests
{
    private const int Mtu = 1200;

    [Fact]
    public void Initial_window_is_min_of_4_mtu_and_max_of_2_mtu_and_4380()
    {
        Assert.Equal(4380, CongestionControl.InitialCwnd(1200));
        Assert.Equal(4000, CongestionControl.InitialCwnd(1000));
        Assert.Equal(4380, CongestionControl.InitialCwnd(1500));
        Assert.Equal(2000, CongestionControl.InitialCwnd(500));
        Assert.Equal(18000, CongestionControl.InitialCwnd(9000));
    }

    [Fact]
    public void Slow_start_roughly_doubles_per_round_trip()
    {
        var cc = new CongestionControl(Mtu, initialSsthresh: 1 << 20);
        long start = cc.Cwnd;
        // One round trip: a full window is in flight and acknowledged one MTU per SACK.
        long flight = cc.Cwnd;
        long acked = 0;
        while (acked + Mtu <= start)
        {
            cc.OnSack(Mtu, flight, true, 0);
            acked += Mtu;
            flight = Math.Max(flight, cc.Cwnd);  // the sender refills the window
        }
        Assert.Equal(start + acked, cc.Cwnd);
        Assert.True(cc.Cwnd >= 2 * start - Mtu);
    }

    [Fact]
    public void Slow_start_growth_is_capped_at_one_mtu_per_sack_and_needs_a_full_window()
    {
        var cc = new CongestionControl(Mtu, 1 << 20);
        long before = cc.Cwnd;
        cc.OnSack(5 * Mtu, before, true, 0);
        Assert.Equal(before + Mtu, cc.Cwnd);
        cc.OnSack(Mtu, cc.Cwnd - 1, true, 0);           // window not fully used
        Assert.Equal(before + Mtu, cc.Cwnd);
        cc.OnSack(Mtu, cc.Cwnd, false, 0);              // cumulative ack did not move
        Assert.Equal(before + Mtu, cc.Cwnd);
    }

    [Fact]
    public void Congestion_avoidance_adds_one_mtu_per_window_acknowledged()
    {
        var cc = new CongestionControl(Mtu, initialSsthresh: 4000);
        Assert.False(cc.InSlowStart);
        long cwnd = cc.Cwnd;
        int sacks = 0;
        while (cc.Cwnd == cwnd)
        {
            cc.OnSack(Mtu, 10 * cwnd, true, 0);
            sacks++;
        }
        Assert.Equal(cwnd + Mtu, cc.Cwnd);
        Assert.Equal((int)Math.Ceiling(cwnd / (double)Mtu), sacks);
    }

    [Fact]
    public void Partial_bytes_acked_resets_when_everything_is_acknowledged()
    {
        var cc = new CongestionControl(Mtu, 4000);
        cc.OnSack(Mtu, 10 * Mtu, true, 0);
        Assert.Equal(Mtu, cc.PartialBytesAcked);
        cc.OnSack(Mtu, Mtu, true, 1);
        Assert.Equal(0, cc.PartialBytesAcked);
    }

    [Fact]
    public void Fast_retransmit_halves_once_per_recovery()
    {
        var cc = new CongestionControl(Mtu, 1 << 20);
        for (int i = 0; i < 20; i++) cc.OnSack(Mtu, 1 << 20, true, (uint)i);
        long cwnd = cc.Cwnd;
        Assert.True(cc.OnFastRetransmit(highestOutstandingTsn: 100));
        Assert.Equal(Math.Max(cwnd / 2, 4 * Mtu), cc.Cwnd);
        Assert.Equal(cc.Cwnd, cc.Ssthresh);
        Assert.False(cc.OnFastRetransmit(120));          // still in fast recovery
        long reduced = cc.Cwnd;
        cc.OnSack(10 * Mtu, 1 << 20, true, 50);         // no growth during recovery
        Assert.Equal(reduced, cc.Cwnd);
        cc.OnSack(Mtu, 1 << 20, true, 100);             // reaching the exit point ends it
        Assert.False(cc.InFastRecovery);
    }

    [Fact]
    public void Timeout_drops_to_one_mtu_and_halves_ssthresh()
    {
        var cc = new CongestionControl(Mtu, 1 << 20);
        for (int i = 0; i < 20; i++) cc.OnSack(Mtu, 1 << 20, true, (uint)i);
        long cwnd = cc.Cwnd;
        cc.OnRetransmissionTimeout();
        Assert.Equal(Mtu, cc.Cwnd);
        Assert.Equal(Math.Max(cwnd / 2, 4 * Mtu), cc.Ssthresh);
        Assert.True(cc.InSlowStart);
        Assert.True(cc.CanSend(0));
        Assert.False(cc.CanSend(Mtu));
    }

    [Fact]
    public void Idle_halves_down_to_four_mtu()
    {
        var cc = new CongestionControl(Mtu, 1 << 20);
        for (int i = 0; i < 40; i++) cc.OnSack(Mtu, 1 << 20, true, (uint)i);
        for (int i = 0; i < 10; i++) cc.OnIdleRto();
        Assert.Equal(4 * Mtu, cc.Cwnd);
    }
}

public class RtoCalculatorTests
{
    [Fact]
    public void Starts_at_rto_initial()
    {
        var rto = new RtoCalculator();
        Assert.Equal(TimeSpan.FromSeconds(1), rto.Rto);
        Assert.False(rto.HasMeasurement);
    }

    [Fact]
    public void First_measurement_sets_srtt_and_half_rttvar()
    {
        var rto = new RtoCalculator(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(60));
        rto.OnMeasurement(TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.FromMilliseconds(100), rto.SmoothedRtt);
        Assert.Equal(TimeSpan.FromMilliseconds(50), rto.RttVariation);
        Assert.Equal(TimeSpan.FromMilliseconds(300), rto.Rto);
    }

    [Fact]
    public void Later_measurements_smooth_with_alpha_and_beta()
    {
        var rto = new RtoCalculator(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(60));
        rto.OnMeasurement(TimeSpan.FromMilliseconds(100));
        rto.OnMeasurement(TimeSpan.FromMilliseconds(200));
        // RTTVAR = 3/4*50 + 1/4*|100-200| = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5; RTO = 112.5 + 250 = 362.5
        Assert.Equal(TimeSpan.FromMilliseconds(62.5), rto.RttVariation);
        Assert.Equal(TimeSpan.FromMilliseconds(112.5), rto.SmoothedRtt);
        Assert.Equal(TimeSpan.FromMilliseconds(362.5), rto.Rto);
    }

    [Fact]
    public void Rto_is_clamped_to_min_and_max()
    {
        var rto = new RtoCalculator();
        rto.OnMeasurement(TimeSpan.FromMilliseconds(5));
        Assert.Equal(TimeSpan.FromSeconds(1), rto.Rto);
        rto.OnMeasurement(TimeSpan.FromSeconds(100));
        Assert.Equal(TimeSpan.FromSeconds(60), rto.Rto);
    }

    [Fact]
    public void Rttvar_that_computes_to_zero_becomes_the_clock_granularity()
    {
        var rto = new RtoCalculator(TimeSpan.FromSeconds(1), TimeSpan.FromTicks(1), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(1));
        rto.OnMeasurement(TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromMilliseconds(1), rto.RttVariation);
        Assert.Equal(TimeSpan.FromMilliseconds(4), rto.Rto);
    }

    [Fact]
    public void Backoff_doubles_up_to_max()
    {
        var rto = new RtoCalculator();
        rto.Backoff();
        Assert.Equal(TimeSpan.FromSeconds(2), rto.Rto);
        for (int i = 0; i < 10; i++) rto.Backoff();
        Assert.Equal(TimeSpan.FromSeconds(60), rto.Rto);
    }
}
