using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Nat;
using Xunit;

namespace P2P.Protocol.Tests.Nat;

public static class NatReportArbitraries
{
    public static Arbitrary<NatReport> Reports() =>
        (from mapping in Gen.Elements(Enum.GetValues<MappingBehavior>())
         from filtering in Gen.Elements(Enum.GetValues<FilteringBehavior>())
         from allocation in Gen.Elements(Enum.GetValues<PortAllocation>())
         from step in Gen.Choose(-3, 1200)
         from hasAddress in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
         from takesPart in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
         select new NatReport(mapping, filtering, allocation)
         {
             PortStep = step, PublicAddress = hasAddress ? IPAddress.Parse("203.0.113.7") : null, PortPrediction = takesPart,
         }).ToArbitrary();
}

public class PredictionPlanTests
{
    private static NatReport Report(MappingBehavior mapping, FilteringBehavior filtering, PortAllocation allocation = PortAllocation.Random) =>
        new(mapping, filtering, allocation) { PublicAddress = IPAddress.Parse("203.0.113.7"), PortPrediction = true };

    private static readonly NatReport PortRestricted = Report(MappingBehavior.EndpointIndependent, FilteringBehavior.AddressAndPortDependent, PortAllocation.Preserving);
    private static readonly NatReport Symmetric = Report(MappingBehavior.AddressAndPortDependent, FilteringBehavior.AddressAndPortDependent);

    [Property(Arbitrary = [typeof(NatReportArbitraries)], MaxTest = 2000)]
    public void Both_peers_decide_alike_from_the_same_two_reports(NatReport a, NatReport b)
    {
        var ours = PredictionPlan.Decide(a, b);
        var theirs = PredictionPlan.Decide(b, a);
        Assert.Equal(ours.Runs, theirs.Runs);
        Assert.Equal(ours.Method, theirs.Method);
        Assert.Equal(ours.PortStep, theirs.PortStep);
        if (ours.Runs) Assert.NotEqual(ours.Role, theirs.Role);
        Assert.False(string.IsNullOrWhiteSpace(ours.Reason));
    }

    [Property(Arbitrary = [typeof(NatReportArbitraries)], MaxTest = 2000)]
    public void It_runs_only_when_both_take_part_and_the_probed_side_signalled_its_address(NatReport a, NatReport b)
    {
        var decision = PredictionPlan.Decide(a, b);
        if (!decision.Runs) return;
        Assert.True(a.PortPrediction && b.PortPrediction);
        var hard = decision.Role == PredictionRole.OpenMappings ? a : b;
        Assert.NotNull(hard.PublicAddress);
        Assert.InRange(decision.PortStep, 1, PredictionPlan.MaxPortStep);
    }

    [Fact]
    public void Port_restricted_cone_facing_a_random_symmetric_nat_uses_the_birthday_method()
    {
        var easy = PredictionPlan.Decide(PortRestricted, Symmetric);
        var hard = PredictionPlan.Decide(Symmetric, PortRestricted);
        Assert.Equal((PredictionRole.Probe, PredictionMethod.Birthday), (easy.Role, easy.Method));
        Assert.Equal((PredictionRole.OpenMappings, PredictionMethod.Birthday), (hard.Role, hard.Method));
    }

    [Fact]
    public void A_sequential_symmetric_nat_is_predicted_with_its_step()
    {
        var sequential = Symmetric with { Allocation = PortAllocation.Sequential, PortStep = 2 };
        var decision = PredictionPlan.Decide(PortRestricted, sequential);
        Assert.Equal((PredictionRole.Probe, PredictionMethod.Sequential, 2), (decision.Role, decision.Method, decision.PortStep));
    }

    [Theory]
    [InlineData(MappingBehavior.EndpointIndependent, FilteringBehavior.AddressAndPortDependent, MappingBehavior.EndpointIndependent, "ICE alone goes direct")]
    [InlineData(MappingBehavior.EndpointIndependent, FilteringBehavior.AddressDependent, MappingBehavior.AddressAndPortDependent, "peer-reflexive")]
    [InlineData(MappingBehavior.EndpointIndependent, FilteringBehavior.EndpointIndependent, MappingBehavior.AddressDependent, "peer-reflexive")]
    [InlineData(MappingBehavior.AddressAndPortDependent, FilteringBehavior.AddressAndPortDependent, MappingBehavior.AddressAndPortDependent, "both NATs map per destination")]
    [InlineData(MappingBehavior.Unknown, FilteringBehavior.AddressAndPortDependent, MappingBehavior.AddressAndPortDependent, "unknown")]
    public void Where_ice_alone_goes_direct_or_prediction_cannot_help_nothing_runs_and_the_reason_says_why(
        MappingBehavior localMapping, FilteringBehavior localFiltering, MappingBehavior remoteMapping, string reason)
    {
        var decision = PredictionPlan.Decide(Report(localMapping, localFiltering), Report(remoteMapping, FilteringBehavior.AddressAndPortDependent));
        Assert.False(decision.Runs);
        Assert.Contains(reason, decision.Reason);
    }

    [Fact]
    public void Off_on_either_side_means_no_prediction()
    {
        Assert.Contains("off here", PredictionPlan.Decide(PortRestricted with { PortPrediction = false }, Symmetric).Reason);
        Assert.Contains("does not take part", PredictionPlan.Decide(PortRestricted, Symmetric with { PortPrediction = false }).Reason);
    }

    [Fact]
    public void A_hard_side_without_a_signalled_public_address_is_never_probed()
    {
        var decision = PredictionPlan.Decide(PortRestricted, Symmetric with { PublicAddress = null });
        Assert.False(decision.Runs);
        Assert.Contains("no public address", decision.Reason);
    }
}

public class PredictionMathTests
{
    [Fact]
    public void Tailscales_figures_hold_256_mappings_and_1024_probes_give_about_98_percent()
    {
        Assert.InRange(PredictionMath.BirthdaySuccess(256, 1024), 0.975, 0.985);
        Assert.InRange(PredictionMath.ProbesFor(256, 0.98), 950, 1050);
        Assert.Equal(0, PredictionMath.BirthdaySuccess(0, 1000));
        Assert.Equal(1, PredictionMath.BirthdaySuccess(10, PredictionMath.PortRange));
    }

    [Property(MaxTest = 300)]
    public void Success_grows_with_probes_and_mappings(PositiveInt m, PositiveInt p)
    {
        int mappings = m.Get % 2000 + 1, probes = p.Get % 5000 + 1;
        double s = PredictionMath.BirthdaySuccess(mappings, probes);
        Assert.InRange(s, 0, 1);
        Assert.True(PredictionMath.BirthdaySuccess(mappings, probes + 1) >= s);
        Assert.True(PredictionMath.BirthdaySuccess(mappings + 1, probes) >= s);
    }

    [Property(MaxTest = 100)]
    public void ProbesFor_is_the_least_number_of_probes_that_reaches_the_chance(PositiveInt m, PositiveInt c)
    {
        int mappings = m.Get % 1000 + 1;
        double chance = (c.Get % 98 + 1) / 100.0;
        int probes = PredictionMath.ProbesFor(mappings, chance);
        Assert.True(PredictionMath.BirthdaySuccess(mappings, probes) >= chance);
        Assert.True(probes == 0 || PredictionMath.BirthdaySuccess(mappings, probes - 1) < chance);
    }
}

public class PredictionPortsTests
{
    [Property(MaxTest = 50)]
    public void Birthday_ports_are_distinct_and_in_the_nat_range(int seed)
    {
        var ports = PredictionPorts.Birthday(new Random(seed));
        var seen = new HashSet<int>();
        for (int i = 0; i < 3000; i++)
        {
            int port = ports.Next()!.Value;
            Assert.InRange(port, PredictionMath.LowestPort, 65535);
            Assert.True(seen.Add(port), $"port {port} probed twice");
        }
    }

    [Fact]
    public void Birthday_ports_run_out_after_the_whole_range()
    {
        var ports = PredictionPorts.Birthday(new Random(1));
        for (int i = 0; i < PredictionMath.PortRange; i++) Assert.NotNull(ports.Next());
        Assert.Null(ports.Next());
    }

    [Fact]
    public void Sequential_ports_follow_the_observed_one_by_the_step_wrap_and_cycle()
    {
        var ports = PredictionPorts.Sequential(observed: 65530, step: 3, window: 4);
        Assert.Equal([65533, 1024, 1027, 1030, 65533, 1024], Enumerable.Range(0, 6).Select(_ => ports.Next()!.Value));
    }
}

public class PredictionPacerTests
{
    [Property(MaxTest = 300)]
    public void No_second_carries_more_than_the_rate_plus_one_batch_and_the_budget_holds(PositiveInt r, PositiveInt b, int[] gapsMs)
    {
        int rate = r.Get % 2000 + 1, budget = b.Get % 3000;
        var pacer = new PredictionPacer(rate, TimeSpan.FromMilliseconds(20), budget);
        var sends = new List<(TimeSpan At, int Count)>();
        var now = TimeSpan.Zero;
        foreach (int gap in (gapsMs ?? []).Append(5).Take(400))
        {
            int allowed = pacer.Allowed(now);
            Assert.InRange(allowed, 0, pacer.Batch);
            pacer.Took(allowed);
            sends.Add((now, allowed));
            now += TimeSpan.FromMilliseconds(Math.Abs(gap % 200));
        }
        Assert.True(pacer.Sent <= budget);
        foreach (var (start, _) in sends)
        {
            int inWindow = sends.Where(s => s.At >= start && s.At < start + TimeSpan.FromSeconds(1)).Sum(s => s.Count);
            Assert.True(inWindow <= rate + pacer.Batch, $"{inWindow} packets within a second at {rate}/s (batch {pacer.Batch})");
        }
    }

    [Fact]
    public void A_rate_below_one_packet_per_interval_stretches_the_interval()
    {
        var pacer = new PredictionPacer(10, TimeSpan.FromMilliseconds(20), 100);
        Assert.Equal(1, pacer.Batch);
        Assert.Equal(TimeSpan.FromMilliseconds(100), pacer.Interval);
    }
}
