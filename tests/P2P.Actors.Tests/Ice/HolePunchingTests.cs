using System.Net;
using P2P.Actors.Transport.Virtual;
using Xunit;
using Xunit.Abstractions;
using P2P.Actors.Tests.Support;

namespace P2P.Actors.Tests.Ice;

/// <summary>
/// Two private hosts behind two NATs learn their mapped addresses from our STUN server, then send to each other's
/// mapped address a few times, switching to the source they hear from (as ICE does with peer-reflexive
/// candidates). The outcomes are the ones measured on real kernel NATs (NATLAB-NOTES.md).
/// </summary>
public sealed class HolePunchingTests(ITestOutputHelper output) : VirtualNetworkTestBase(output)
{
    private static readonly IPEndPoint Stun = Ep("198.51.100.1:3478");

    [Theory]
    [InlineData("FullCone", "FullCone", true)]
    [InlineData("PortRestrictedCone", "PortRestrictedCone", true)]
    [InlineData("AddressRestrictedCone", "PortRestrictedCone", true)]
    [InlineData("FullCone", "Symmetric", true)]
    [InlineData("AddressRestrictedCone", "Symmetric", true)]
    [InlineData("PortRestrictedCone", "Symmetric", false)]
    [InlineData("Symmetric", "Symmetric", false)]
    public async Task Hole_punching_between_two_nats(string natA, string natB, bool connects)
    {
        Net.AddPublicHost("stun", Stun.Address);
        await StartRelay("stun", Stun);
        Net.AddNat("nat-a", Ip("203.0.113.1"), Preset(natA));
        Net.AddNat("nat-b", Ip("203.0.113.2"), Preset(natB));
        Net.AddPrivateHost("alice", Ip("192.168.1.2"), "nat-a");
        Net.AddPrivateHost("bob", Ip("192.168.1.2"), "nat-b"); // the same private address on another LAN
        var alice = Open("alice", 5000);
        var bob = Open("bob", 5000);
        var aliceTarget = MappedBy(bob, Stun);
        var bobTarget = MappedBy(alice, Stun);

        bool aliceHeard = false, bobHeard = false;
        for (int round = 1; round <= 3; round++)
        {
            Send(alice, aliceTarget, $"alice {round}");
            Send(bob, bobTarget, $"bob {round}");
            await Settle();
            var toAlice = Drain(alice);
            var toBob = Drain(bob);
            if (toAlice.Count > 0) (aliceHeard, aliceTarget) = (true, toAlice[^1].From);
            if (toBob.Count > 0) (bobHeard, bobTarget) = (true, toBob[^1].From);
        }

        Assert.Equal(connects, aliceHeard && bobHeard);
        if (!connects) Assert.True((await Net.GetStatsAsync()).DroppedByFilter > 0);
    }

    [Fact]
    public async Task Hosts_on_one_lan_talk_directly_without_a_mapping()
    {
        Net.AddNat("nat", Ip("203.0.113.1"), NatBehavior.Symmetric);
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        Net.AddPrivateHost("carol", Ip("10.0.0.3"), "nat");
        var alice = Open("alice", 5000);
        var carol = Open("carol", 5000);

        Send(alice, carol.Local, "next door");
        var stats = await Settle();

        Assert.Equal([(alice.Local, "next door")], Drain(carol));
        Assert.Equal(0, stats.MappingsCreated);
    }
}

/// <summary>RFC 4787 §4.3 mapping timeouts, in virtual time.</summary>
public sealed class MappingTimeoutTests(ITestOutputHelper output) : VirtualNetworkTestBase(output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private (Endpoint Alice, Endpoint Peer) Build(bool portPreservation)
    {
        Net.AddPublicHost("peer", Ip("198.51.100.9"));
        Net.AddNat("nat", Ip("203.0.113.1"), NatBehavior.PortRestrictedCone with { MappingTimeout = Timeout, PortPreservation = portPreservation });
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        return (Open("alice", 5000), Open("peer", 7000));
    }

    [Fact]
    public async Task A_mapping_without_outbound_traffic_expires_and_the_next_packet_gets_a_new_port()
    {
        var (alice, peer) = Build(portPreservation: false);
        Send(alice, peer.Local, "first");
        await Settle();
        var first = Assert.Single(Drain(peer)).From;

        Scheduler.Advance(Timeout - TimeSpan.FromSeconds(1));
        Send(peer, first, "still mapped");
        await Settle();
        Assert.Equal(["still mapped"], Drain(alice).Select(r => r.Text));

        Scheduler.Advance(TimeSpan.FromSeconds(1)); // inbound packets do not refresh (RFC 4787 REQ-6 is about outbound)
        Send(peer, first, "too late");
        var stats = await Settle();
        Assert.Empty(Drain(alice));
        Assert.Equal(1, stats.DroppedNoMapping);
        Assert.Equal(1, stats.MappingsExpired);
        Assert.Empty((await Net.GetMappingsAsync("nat")).Entries);

        Send(alice, peer.Local, "again");
        await Settle();
        var second = Assert.Single(Drain(peer)).From;
        Assert.Equal(first.Address, second.Address);
        Assert.NotEqual(first.Port, second.Port);
    }

    [Fact]
    public async Task With_port_preservation_the_new_mapping_gets_the_private_port_again()
    {
        var (alice, peer) = Build(portPreservation: true);
        Send(alice, peer.Local, "first");
        await Settle();
        var first = Assert.Single(Drain(peer)).From;

        Scheduler.Advance(Timeout);
        Send(alice, peer.Local, "again");
        var stats = await Settle();
        var second = Assert.Single(Drain(peer)).From;

        Assert.Equal(1, stats.MappingsExpired);
        Assert.Equal(2, stats.MappingsCreated);
        Assert.Equal(new IPEndPoint(Ip("203.0.113.1"), 5000), first);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Outbound_packets_keep_the_mapping_alive()
    {
        var (alice, peer) = Build(portPreservation: false);
        var seen = new HashSet<IPEndPoint>();
        for (int i = 0; i < 6; i++)
        {
            Send(alice, peer.Local, $"keepalive {i}");
            await Settle();
            seen.Add(Assert.Single(Drain(peer)).From);
            Scheduler.Advance(TimeSpan.FromSeconds(20));
        }
        Send(peer, seen.Single(), "after two minutes");
        var stats = await Settle();

        Assert.Equal(["after two minutes"], Drain(alice).Select(r => r.Text));
        Assert.Equal(0, stats.MappingsExpired);
        var mapping = Assert.Single((await Net.GetMappingsAsync("nat")).Entries);
        Assert.Equal(new IPEndPoint(Ip("10.0.0.2"), 5000), mapping.Internal);
        Assert.Equal(TimeSpan.FromSeconds(20), mapping.Idle);
    }
}

/// <summary>RFC 4787 §6 hairpinning.</summary>
public sealed class HairpinningTests(ITestOutputHelper output) : VirtualNetworkTestBase(output)
{
    private static readonly IPEndPoint Stun = Ep("198.51.100.1:3478");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_packet_to_a_mapping_of_the_own_nat_is_turned_back_inside_only_with_hairpinning(bool hairpinning)
    {
        Net.AddPublicHost("stun", Stun.Address);
        await StartRelay("stun", Stun);
        Net.AddNat("nat", Ip("203.0.113.1"), NatBehavior.FullCone with { Hairpinning = hairpinning });
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat");
        Net.AddPrivateHost("carol", Ip("10.0.0.3"), "nat");
        var alice = Open("alice", 5000);
        var carol = Open("carol", 6000);
        var aliceMapped = MappedBy(alice, Stun);
        var carolMapped = MappedBy(carol, Stun);

        Send(carol, aliceMapped, "via the hairpin");
        var stats = await Settle();

        if (hairpinning)
        {
            Assert.Equal([(carolMapped, "via the hairpin")], Drain(alice)); // REQ-9: from carol's external mapping
            Assert.Equal(0, stats.DroppedNoHairpin);
        }
        else
        {
            Assert.Empty(Drain(alice));
            Assert.Equal(1, stats.DroppedNoHairpin);
        }
    }
}
