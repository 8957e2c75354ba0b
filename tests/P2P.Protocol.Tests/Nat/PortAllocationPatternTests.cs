using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Nat;
using Xunit;

namespace P2P.Protocol.Tests.Nat;

public sealed class PortAllocationPatternTests
{
    [Property]
    public Property Mapped_ports_equal_to_the_local_ones_are_preserving() =>
        Prop.ForAll(Gen.Choose(1024, 65535).ArrayOf().Where(a => a.Length >= 2).ToArbitrary(), ports =>
            PortAllocationPattern.Classify(ports.Select(p => new PortPair(p, p)).ToList(), 16, out var step) == PortAllocation.Preserving && step is null);

    [Property]
    public Property Ports_a_constant_step_apart_are_sequential_with_that_step() =>
        Prop.ForAll(Gen.Choose(-16, 16).Where(s => s != 0).ToArbitrary(), Gen.Choose(2, 8).ToArbitrary(), (step, count) =>
        {
            var pairs = Enumerable.Range(0, count).Select(i => new PortPair(40000 + 7 * i, 30000 + step * i)).ToList();
            return PortAllocationPattern.Classify(pairs, 16, out var found) == PortAllocation.Sequential && found == step;
        });

    [Fact]
    public void Ports_without_a_pattern_are_random()
    {
        var pairs = new[] { new PortPair(5000, 61234), new PortPair(5001, 40007), new PortPair(5002, 52011) };
        Assert.Equal(PortAllocation.Random, PortAllocationPattern.Classify(pairs, 16, out _));
    }

    [Fact]
    public void A_step_beyond_the_limit_is_random_and_one_pair_is_unknown()
    {
        var far = new[] { new PortPair(5000, 30000), new PortPair(5001, 30100), new PortPair(5002, 30200) };
        Assert.Equal(PortAllocation.Random, PortAllocationPattern.Classify(far, 16, out _));
        Assert.Equal(PortAllocation.Unknown, PortAllocationPattern.Classify([new PortPair(1, 2)], 16, out _));
    }
}
