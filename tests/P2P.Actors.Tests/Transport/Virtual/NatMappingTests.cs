using System.Net;
using P2P.Actors.Transport.Virtual;
using Xunit;
using Xunit.Abstractions;
using P2P.Actors.Tests.Support;

namespace P2P.Actors.Tests.Transport.Virtual;

/// <summary>
/// RFC 4787 mapping behaviour, observed the way ICE observes it: our StunProber on a private host asks our
/// RelayServer (STUN Binding), running as two servers on two public hosts, for its mapped address.
/// </summary>
public sealed class NatMappingTests(ITestOutputHelper output) : VirtualNetworkTestBase(output)
{
    private static readonly IPEndPoint Stun1 = Ep("198.51.100.1:3478"), Stun1Alt = Ep("198.51.100.1:3479"), Stun2 = Ep("198.51.100.2:3478");
    private static readonly IPAddress NatAddress = Ip("203.0.113.1");

    private async Task StartServers()
    {
        Net.AddPublicHost("stun1", Stun1.Address);
        Net.AddPublicHost("stun2", Stun2.Address);
        await StartRelay("stun1", Stun1, Stun1Alt);
        await StartRelay("stun2", Stun2);
    }

    [Theory]
    [InlineData("FullCone")]
    [InlineData("AddressRestrictedCone")]
    [InlineData("PortRestrictedCone")]
    public async Task Endpoint_independent_mapping_shows_both_stun_servers_the_same_address_on_the_preserved_port(string preset)
    {
        await StartServers();
        Net.AddNat("nat", NatAddress, Preset(preset));
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        var alice = Open("alice", 5000);

        var first = MappedBy(alice, Stun1);
        var second = MappedBy(alice, Stun2);

        Assert.Equal(new IPEndPoint(NatAddress, 5000), first);
        Assert.Equal(first, second);
        var mappings = await Net.GetMappingsAsync("nat");
        Assert.Single(mappings.Entries);
    }

    [Fact]
    public async Task Symmetric_mapping_shows_each_server_another_port()
    {
        await StartServers();
        Net.AddNat("nat", NatAddress, NatBehavior.Symmetric);
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        var alice = Open("alice", 5000);

        var first = MappedBy(alice, Stun1);
        var alt = MappedBy(alice, Stun1Alt);
        var second = MappedBy(alice, Stun2);

        Assert.Equal(NatAddress, first.Address);
        Assert.Equal(3, new[] { first.Port, alt.Port, second.Port }.Distinct().Count());
        Assert.DoesNotContain(5000, new[] { first.Port, alt.Port, second.Port }); // no port preservation
        Assert.Equal(3, (await Net.GetMappingsAsync("nat")).Entries.Count);
    }

    [Fact]
    public async Task Address_dependent_mapping_keeps_the_port_for_another_port_of_the_same_server_only()
    {
        await StartServers();
        Net.AddNat("nat", NatAddress, NatBehavior.PortRestrictedCone with { Mapping = NatMapping.AddressDependent });
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        var alice = Open("alice", 5000);

        var first = MappedBy(alice, Stun1);
        var alt = MappedBy(alice, Stun1Alt);
        var second = MappedBy(alice, Stun2);

        Assert.Equal(first, alt);
        Assert.Equal(5000, first.Port);
        Assert.NotEqual(first.Port, second.Port);
    }

    [Fact]
    public async Task Port_preservation_keeps_the_private_port_while_no_other_mapping_holds_it()
    {
        await StartServers();
        Net.AddNat("nat", NatAddress, NatBehavior.PortRestrictedCone);
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        Net.AddPrivateHost("carol", Ip("10.0.0.3"), "nat");
        var alice = Open("alice", 6000);
        var carol = Open("carol", 6000);

        var aliceMapped = MappedBy(alice, Stun1);
        var carolMapped = MappedBy(carol, Stun1);

        Assert.Equal(new IPEndPoint(NatAddress, 6000), aliceMapped);
        Assert.Equal(NatAddress, carolMapped.Address);
        Assert.NotEqual(6000, carolMapped.Port); // taken by alice's mapping: the NAT picks another
    }

    [Fact]
    public async Task A_public_host_is_seen_at_its_own_address()
    {
        await StartServers();
        Net.AddPublicHost("bob", Ip("198.51.100.20"));
        var bob = Open("bob");

        Assert.Equal(bob.Local, MappedBy(bob, Stun1));
        Assert.Equal(Ip("198.51.100.20"), bob.Local.Address);
    }
}

/// <summary>RFC 4787 filtering: once the private host has sent to server A, who else may reach its mapping.</summary>
public sealed class NatFilteringTests(ITestOutputHelper output) : VirtualNetworkTestBase(output)
{
    [Theory]
    [InlineData("FullCone", true, true)]
    [InlineData("AddressRestrictedCone", true, false)]
    [InlineData("PortRestrictedCone", false, false)]
    [InlineData("Symmetric", false, false)]
    public async Task Filtering_admits_what_the_behaviour_allows(string preset, bool fromOtherPortOfA, bool fromB)
    {
        Net.AddPublicHost("a", Ip("198.51.100.1"));
        Net.AddPublicHost("b", Ip("198.51.100.2"));
        Net.AddNat("nat", Ip("203.0.113.1"), Preset(preset));
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        var alice = Open("alice", 5000);
        var a = Open("a", 1000);
        var aOther = Open("a", 2000);
        var b = Open("b", 1000);

        Send(alice, a.Local, "hello A");
        await Settle();
        var mapped = Assert.Single(Drain(a)).From;

        Send(a, mapped, "from A");
        Send(aOther, mapped, "from A's other port");
        Send(b, mapped, "from B");
        var stats = await Settle();

        var expected = new List<string> { "from A" };
        if (fromOtherPortOfA) expected.Add("from A's other port");
        if (fromB) expected.Add("from B");
        Assert.Equal(expected.Order(), Drain(alice).Select(r => r.Text).Order()); // three senders: their order is theirs
        Assert.Equal(3 - expected.Count, stats.DroppedByFilter);
    }

    [Fact]
    public async Task Nothing_reaches_a_private_host_before_it_sends()
    {
        Net.AddPublicHost("a", Ip("198.51.100.1"));
        Net.AddNat("nat", Ip("203.0.113.1"), NatBehavior.FullCone);
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        var alice = Open("alice", 5000);
        var a = Open("a", 1000);

        Send(a, Ep("203.0.113.1:5000"), "unsolicited");
        Send(a, Ep("10.0.0.2:5000"), "to a private address");
        var stats = await Settle();

        Assert.Empty(Drain(alice));
        Assert.Equal(1, stats.DroppedNoMapping);
        Assert.Equal(1, stats.NoRoute);
    }
}
