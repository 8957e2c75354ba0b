using System.Net;
using P2P.Actors.Tests.Support;
using P2P.Actors.Transport.Virtual;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Transport.Virtual;

/// <summary>
/// How a NAT that does not preserve ports picks them (<see cref="NatPortAllocation"/>): what port prediction has to
/// meet. One private socket sends to many ports of one public host, each a new mapping on a symmetric NAT.
/// </summary>
public sealed class NatPortAllocationTests(ITestOutputHelper output) : VirtualNetworkTestBase(output)
{
    private static readonly IPAddress NatAddress = Ip("203.0.113.1");
    private const int Destinations = 40;

    /// <summary>The external ports of the mappings to peer ports 7000, 7001, ... in that order.</summary>
    private async Task<int[]> MappedPorts(NatBehavior behavior, VirtualNetwork? network = null)
    {
        var net = network ?? Net;
        net.AddPublicHost("peer", Ip("198.51.100.9"));
        net.AddNat("nat", NatAddress, behavior);
        net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        var alice = Open("alice", 5000, network: net);
        for (int i = 0; i < Destinations; i++) Send(alice, new IPEndPoint(Ip("198.51.100.9"), 7000 + i), "hello");
        await Settle(net);
        var mappings = await net.GetMappingsAsync("nat");
        Assert.Equal(Destinations, mappings.Entries.Count);
        return mappings.Entries
            .OrderBy(m => IPEndPoint.Parse(m.Destination!).Port)
            .Select(m => m.External.Port)
            .ToArray();
    }

    [Fact]
    public async Task The_symmetric_preset_picks_random_ports_as_masquerade_fully_random_does()
    {
        var ports = await MappedPorts(NatBehavior.Symmetric);

        Assert.All(ports, p => Assert.InRange(p, 1024, 65535));
        Assert.Equal(Destinations, ports.Distinct().Count());
        // a sequence would make every step small; random ports over 64k make almost none of them small
        int small = ports.Zip(ports.Skip(1), (a, b) => Math.Abs(b - a)).Count(d => d <= 16);
        Assert.True(small <= 2, $"{small} of {Destinations - 1} steps were at most 16: [{string.Join(", ", ports)}]");
    }

    [Fact]
    public async Task Random_ports_are_the_same_for_the_same_seed_and_differ_for_another()
    {
        var first = await MappedPorts(NatBehavior.Symmetric);
        var same = await MappedPorts(NatBehavior.Symmetric, new VirtualNetwork(Sys, seed: 42, name: "same"));
        var other = await MappedPorts(NatBehavior.Symmetric, new VirtualNetwork(Sys, seed: 43, name: "other"));

        Assert.Equal(first, same);
        Assert.NotEqual(first, other);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    public async Task The_sequential_preset_hands_out_ports_a_step_apart(int step)
    {
        var ports = await MappedPorts(NatBehavior.SymmetricSequential with { PortStep = step });

        Assert.DoesNotContain(5000, ports);
        // one wrap-around past 65535 at most
        var steps = ports.Zip(ports.Skip(1), (a, b) => b - a).ToList();
        Assert.True(steps.Count(d => d != step) <= 1, $"steps: {string.Join(", ", steps)}");
    }

    [Fact]
    public void A_port_step_out_of_range_is_refused_with_a_reason()
    {
        var e = Assert.Throws<ArgumentException>(() => Net.AddNat("nat", NatAddress, NatBehavior.SymmetricSequential with { PortStep = 0 }));
        Assert.Contains("the port step must be 1 to 1000", e.Message);
    }
}
