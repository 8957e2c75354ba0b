using System.Net;
using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Relay;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Tests.Turn;
using P2P.Actors.Transport;
using P2P.Actors.Transport.Virtual;
using P2P.Protocol.Nat;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Stun.NatDiscoveryProtocol;

namespace P2P.Actors.Tests.Stun;

/// <summary>
/// RFC 5780 discovery on the virtual network in virtual time: our relay with an alternate address (two public hosts, one
/// server actor holding sockets on both) in front of each NAT preset, a server without an alternate address, a silent one.
/// </summary>
public sealed class NatDiscoveryTests : VirtualNetworkTestBase
{
    private readonly ITestOutputHelper _log;

    public NatDiscoveryTests(ITestOutputHelper output) : base(output) => _log = output;

    private static readonly IPAddress Primary = VirtualRfc5780Server.Primary;
    private static readonly IPEndPoint Server = VirtualRfc5780Server.Server;

    private static NatDiscoverySettings Settings(bool lifetime = false) =>
        NatDiscoverySettings.From(TurnClientSettingsTests.RepoHocon()) with { LifetimeProbe = lifetime };

    private Task StartServer(bool alternate = true) => VirtualRfc5780Server.StartAsync(Net, Sys, alternate);

    private void BehindNat(NatBehavior behavior)
    {
        Net.AddNat("nat", IPAddress.Parse("203.0.113.1"), behavior);
        Net.AddPrivateHost("client", IPAddress.Parse("10.0.0.2"), "nat");
    }

    /// <summary>Runs discovery from the client host, moving virtual time in small steps while the packets land.</summary>
    private async Task<object> Discover(NatDiscoverySettings settings, string host = "client", TimeSpan? limit = null)
    {
        var owner = CreateTestProbe();
        Sys.ActorOf(NatDiscovery.Props(settings, Net.SocketsOf(host), Server, new IPEndPoint(IPAddress.Any, 0), owner: owner.Ref));
        var step = TimeSpan.FromMilliseconds(25);
        for (var passed = TimeSpan.Zero; passed < (limit ?? TimeSpan.FromMinutes(2)); passed += step)
        {
            for (int i = 0; i < 3; i++)
            {
                await Net.GetStatsAsync(Wait);
                await Task.Delay(1);
            }
            if (owner.HasMessages) return owner.ReceiveOne(TimeSpan.Zero)!;
            Scheduler.Advance(step);
        }
        throw new TimeoutException("discovery did not end");
    }

    private async Task<NatDiscovered> DiscoverBehind(NatBehavior behavior, bool lifetime = false)
    {
        await StartServer();
        BehindNat(behavior);
        var outcome = await Discover(Settings(lifetime));
        var found = Assert.IsType<NatDiscovered>(outcome);
        _log.WriteLine($"{found.Report} notes: {string.Join(" | ", found.Notes)} ports: {string.Join(", ", found.Seen.Allocations)}");
        return found;
    }

    [Fact]
    public async Task Full_cone_is_endpoint_independent_mapping_and_filtering_with_preserved_ports()
    {
        var found = await DiscoverBehind(NatBehavior.FullCone);
        Assert.Equal(MappingBehavior.EndpointIndependent, found.Report.Mapping);
        Assert.Equal(FilteringBehavior.EndpointIndependent, found.Report.Filtering);
        Assert.Equal(PortAllocation.Preserving, found.Report.Allocation);
        Assert.True(found.Report.Hairpinning);
        Assert.Equal(IPAddress.Parse("203.0.113.1"), found.Report.PublicAddress);
        Assert.Empty(found.Notes);
    }

    [Fact]
    public async Task The_three_silences_behind_a_filtering_nat_are_waited_out_together()
    {
        // behind a port-restricted cone the two filtering tests and the hairpin test each end in silence; one after the
        // other they took three silence timeouts (5.25 s with the defaults) before port prediction could even start
        await StartServer();
        BehindNat(NatBehavior.PortRestrictedCone with { Hairpinning = false });
        var settings = Settings();
        var started = Scheduler.Now;
        var found = Assert.IsType<NatDiscovered>(await Discover(settings));
        var took = Scheduler.Now - started;
        var silence = settings.Silence.TotalTimeout(reliable: false);
        _log.WriteLine($"discovery took {took.TotalSeconds:0.00} s of virtual time; one silence is {silence.TotalSeconds:0.00} s");
        Assert.Equal(FilteringBehavior.AddressAndPortDependent, found.Report.Filtering);
        Assert.False(found.Report.Hairpinning);
        Assert.True(took < 2 * silence, $"discovery took {took.TotalSeconds:0.00} s, two silences or more ({silence.TotalSeconds:0.00} s each)");
    }

    [Fact]
    public async Task Address_restricted_cone_is_address_dependent_filtering()
    {
        var found = await DiscoverBehind(NatBehavior.AddressRestrictedCone);
        Assert.Equal(MappingBehavior.EndpointIndependent, found.Report.Mapping);
        Assert.Equal(FilteringBehavior.AddressDependent, found.Report.Filtering);
    }

    [Fact]
    public async Task Port_restricted_cone_is_address_and_port_dependent_filtering()
    {
        var found = await DiscoverBehind(NatBehavior.PortRestrictedCone);
        Assert.Equal(MappingBehavior.EndpointIndependent, found.Report.Mapping);
        Assert.Equal(FilteringBehavior.AddressAndPortDependent, found.Report.Filtering);
        Assert.Equal(PortAllocation.Preserving, found.Report.Allocation);
    }

    [Fact]
    public async Task Symmetric_nat_is_address_and_port_dependent_mapping_with_random_ports()
    {
        var found = await DiscoverBehind(NatBehavior.Symmetric);
        Assert.Equal(MappingBehavior.AddressAndPortDependent, found.Report.Mapping);
        Assert.Equal(FilteringBehavior.AddressAndPortDependent, found.Report.Filtering);
        Assert.Equal(PortAllocation.Random, found.Report.Allocation); // as Linux masquerade fully-random
        Assert.Null(found.Report.PortStep);
        Assert.False(found.Report.Hairpinning);
    }

    [Fact]
    public async Task A_carrier_nat_is_address_and_port_dependent_mapping_with_ports_in_sequence()
    {
        var found = await DiscoverBehind(NatBehavior.SymmetricSequential);
        Assert.Equal(MappingBehavior.AddressAndPortDependent, found.Report.Mapping);
        Assert.Equal(PortAllocation.Sequential, found.Report.Allocation);
        Assert.Equal(1, found.Report.PortStep);
    }

    [Fact]
    public async Task Address_dependent_mapping_is_told_from_the_third_test()
    {
        var found = await DiscoverBehind(NatBehavior.PortRestrictedCone with { Mapping = NatMapping.AddressDependent });
        Assert.Equal(MappingBehavior.AddressDependent, found.Report.Mapping);
    }

    [Fact]
    public async Task Without_a_nat_the_mapping_is_the_local_address()
    {
        await StartServer();
        Net.AddPublicHost("open", IPAddress.Parse("192.0.2.5"));
        var found = Assert.IsType<NatDiscovered>(await Discover(Settings(), "open"));
        Assert.Equal(MappingBehavior.NoNat, found.Report.Mapping);
        Assert.Equal(FilteringBehavior.EndpointIndependent, found.Report.Filtering);
        Assert.Equal(PortAllocation.Preserving, found.Report.Allocation);
        Assert.Null(found.Report.Hairpinning);
    }

    [Fact]
    public async Task A_server_without_an_alternate_address_leaves_mapping_and_filtering_unknown_and_says_why()
    {
        await StartServer(alternate: false);
        BehindNat(NatBehavior.SymmetricSequential);
        var found = Assert.IsType<NatDiscovered>(await Discover(Settings()));
        Assert.Equal(MappingBehavior.Unknown, found.Report.Mapping);
        Assert.Equal(FilteringBehavior.Unknown, found.Report.Filtering);
        Assert.Equal(PortAllocation.Sequential, found.Report.Allocation);
        Assert.Contains(found.Notes, n => n.Contains("has no alternate address (no OTHER-ADDRESS"));
    }

    [Fact]
    public async Task A_silent_server_fails_with_a_sentence_after_the_configured_schedule()
    {
        Net.AddPublicHost("stun", Primary);
        BehindNat(NatBehavior.FullCone);
        var failed = Assert.IsType<NatDiscoveryFailed>(await Discover(Settings()));
        Assert.Equal("STUN server 198.51.100.1:3478 did not answer (3 requests over 2.75 s); check the address and that UDP is not blocked", failed.Reason);
    }

    [Fact]
    public async Task The_lifetime_probe_brackets_the_nat_mapping_timeout()
    {
        var found = await DiscoverBehind(NatBehavior.PortRestrictedCone with { MappingTimeout = TimeSpan.FromSeconds(15) }, lifetime: true);
        // checks at 5, 10, 20 s of idleness: alive at 10, gone at 20
        Assert.Equal(TimeSpan.FromSeconds(10), found.Report.MappingLifetime);
    }

    [Fact]
    public async Task Without_the_lifetime_probe_no_lifetime_is_reported()
    {
        var found = await DiscoverBehind(NatBehavior.FullCone);
        Assert.Null(found.Report.MappingLifetime);
    }
}
