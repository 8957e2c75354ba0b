using System.Net;
using System.Numerics;
using P2P.Protocol.Ice;
using Xunit;

namespace P2P.Protocol.Tests.Ice;

public class CandidatePriorityTests
{
    [Theory]
    [InlineData(CandidateType.Host, 65535, 1, 2130706431u)]          // the RFC 8839 example's host priority
    [InlineData(CandidateType.Host, 65535, 2, 2130706430u)]
    [InlineData(CandidateType.ServerReflexive, 65535, 1, 1694498815u)]
    [InlineData(CandidateType.PeerReflexive, 65535, 1, 1862270975u)]
    [InlineData(CandidateType.Relayed, 65535, 1, 16777215u)]
    [InlineData(CandidateType.Relayed, 0, 256, 0u)]
    [InlineData(CandidateType.Host, 0, 1, 2113929471u)]
    public void Priority_follows_the_RFC_8445_formula(CandidateType type, int local, int component, uint expected)
    {
        Assert.Equal(expected, CandidatePriority.Compute(type, local, component));
        Assert.Equal((uint)((1 << 24) * CandidatePriority.TypePreference(type) + (1 << 8) * local + (256 - component)), expected);
    }

    [Fact]
    public void Type_preferences_are_the_recommended_values()
    {
        Assert.Equal(126, CandidatePriority.TypePreference(CandidateType.Host));
        Assert.Equal(110, CandidatePriority.TypePreference(CandidateType.PeerReflexive));
        Assert.Equal(100, CandidatePriority.TypePreference(CandidateType.ServerReflexive));
        Assert.Equal(0, CandidatePriority.TypePreference(CandidateType.Relayed));
    }

    [Fact]
    public void Out_of_range_arguments_are_programming_errors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CandidatePriority.Compute(CandidateType.Host, 65536, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => CandidatePriority.Compute(CandidateType.Host, -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => CandidatePriority.Compute(CandidateType.Host, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => CandidatePriority.Compute(CandidateType.Host, 1, 257));
    }

    [Fact]
    public void Local_preference_ranks_IPv6_over_IPv4_over_link_local_and_lower_interfaces_first()
    {
        int v6 = CandidatePriority.LocalPreference(IPAddress.Parse("2001:db8::1"), 1);
        int v4 = CandidatePriority.LocalPreference(IPAddress.Parse("192.0.2.1"), 1);
        int mapped = CandidatePriority.LocalPreference(IPAddress.Parse("::ffff:192.0.2.1"), 1);
        int v6LinkLocal = CandidatePriority.LocalPreference(IPAddress.Parse("fe80::1"), 1);
        int v4LinkLocal = CandidatePriority.LocalPreference(IPAddress.Parse("169.254.1.1"), 1);
        Assert.True(v6 > v4 && v4 > v6LinkLocal && v6LinkLocal > v4LinkLocal);
        Assert.Equal(v4, mapped);
        Assert.True(CandidatePriority.LocalPreference(IPAddress.Parse("192.0.2.1"), 1) > CandidatePriority.LocalPreference(IPAddress.Parse("192.0.2.1"), 2));
        Assert.Equal(65535, CandidatePriority.LocalPreference(IPAddress.Parse("2001:db8::1"), 0));
        Assert.InRange(CandidatePriority.LocalPreference(IPAddress.Parse("169.254.1.1"), 100_000), 0, 65535);
    }

    [Fact]
    public void Tcp_local_preference_uses_the_RFC_6544_direction_preferences()
    {
        var a = IPAddress.Parse("192.0.2.1");
        int active = CandidatePriority.LocalPreference(a, 1, TcpCandidateType.Active, natted: false);
        int passive = CandidatePriority.LocalPreference(a, 1, TcpCandidateType.Passive, natted: false);
        int so = CandidatePriority.LocalPreference(a, 1, TcpCandidateType.SimultaneousOpen, natted: false);
        Assert.True(active > passive && passive > so);
        Assert.Equal(6, active >> 13);
        Assert.Equal(6, CandidatePriority.LocalPreference(a, 1, TcpCandidateType.SimultaneousOpen, natted: true) >> 13);
        Assert.InRange(CandidatePriority.LocalPreference(IPAddress.Parse("2001:db8::1"), 0, TcpCandidateType.Active, false), 0, 65535);
    }

    [Theory]
    [InlineData(2130706431u, 1694498815u)]
    [InlineData(1694498815u, 2130706431u)]
    [InlineData(100u, 100u)]
    [InlineData(0u, 0x7FFFFFFFu)]
    public void Pair_priority_follows_the_RFC_8445_formula_with_the_tie_bit(uint g, uint d)
    {
        BigInteger expected = BigInteger.Pow(2, 32) * Math.Min(g, d) + 2 * (BigInteger)Math.Max(g, d) + (g > d ? 1 : 0);
        Assert.Equal(expected, (BigInteger)CandidatePair.ComputePriority(g, d));
    }

    [Fact]
    public void Pair_priority_tie_bit_breaks_symmetry_between_the_roles()
    {
        ulong controllingHigh = CandidatePair.ComputePriority(200, 100);
        ulong controlledHigh = CandidatePair.ComputePriority(100, 200);
        Assert.Equal(controllingHigh, controlledHigh + 1);
        Assert.Equal((5UL << 32) + 10, CandidatePair.ComputePriority(5, 5));
    }

    [Fact]
    public void Pair_priority_depends_on_the_role()
    {
        var local = IceTestData.Host("192.0.2.1", 5000, priority: 2130706431);
        var remote = IceTestData.Host("192.0.2.2", 6000, priority: 1694498815);
        var pair = new CandidatePair(local, remote, localIsControlling: true);
        Assert.Equal(CandidatePair.ComputePriority(2130706431, 1694498815), pair.Priority);
        pair.UpdatePriority(localIsControlling: false);
        Assert.Equal(CandidatePair.ComputePriority(1694498815, 2130706431), pair.Priority);
        Assert.Equal(local.Foundation + ":" + remote.Foundation, pair.Foundation);
    }

    [Fact]
    public void Foundation_is_the_same_for_same_type_base_server_and_transport()
    {
        var stun = new IPEndPoint(IPAddress.Parse("198.51.100.1"), 3478);
        var baseIp = IPAddress.Parse("10.0.0.2");
        string f = CandidateFoundation.Compute(CandidateType.ServerReflexive, baseIp, stun, CandidateTransport.Udp);
        Assert.Equal(f, CandidateFoundation.Compute(CandidateType.ServerReflexive, IPAddress.Parse("10.0.0.2"), new IPEndPoint(IPAddress.Parse("198.51.100.1"), 5349), CandidateTransport.Udp));
        Assert.Equal(f, CandidateFoundation.Compute(CandidateType.ServerReflexive, IPAddress.Parse("::ffff:10.0.0.2"), stun, CandidateTransport.Udp));
        Assert.True(IceGrammar.IsIceChars(f, 1, 32));
    }

    [Fact]
    public void Foundation_differs_when_type_base_server_or_transport_differs()
    {
        var stun = new IPEndPoint(IPAddress.Parse("198.51.100.1"), 3478);
        var baseIp = IPAddress.Parse("10.0.0.2");
        string[] all =
        [
            CandidateFoundation.Compute(CandidateType.ServerReflexive, baseIp, stun, CandidateTransport.Udp),
            CandidateFoundation.Compute(CandidateType.Host, baseIp, null, CandidateTransport.Udp),
            CandidateFoundation.Compute(CandidateType.ServerReflexive, IPAddress.Parse("10.0.0.3"), stun, CandidateTransport.Udp),
            CandidateFoundation.Compute(CandidateType.ServerReflexive, baseIp, new IPEndPoint(IPAddress.Parse("198.51.100.2"), 3478), CandidateTransport.Udp),
            CandidateFoundation.Compute(CandidateType.ServerReflexive, baseIp, stun, CandidateTransport.Tcp),
            CandidateFoundation.Compute(CandidateType.Relayed, baseIp, stun, CandidateTransport.Udp),
            CandidateFoundation.ComputeRelayed(baseIp, stun, CandidateTransport.Udp),
            // two TURN servers on one IP address (a relay fleet on one machine) fail apart: their candidates do not freeze each other
            CandidateFoundation.ComputeRelayed(baseIp, new IPEndPoint(stun.Address, 3479), CandidateTransport.Udp),
            CandidateFoundation.ComputePeerReflexiveRemote(new IPEndPoint(baseIp, 1), CandidateTransport.Udp),
            CandidateFoundation.ComputePeerReflexiveRemote(new IPEndPoint(baseIp, 2), CandidateTransport.Udp),
        ];
        Assert.Equal(all.Length, all.Distinct().Count());
        Assert.All(all, f => Assert.True(IceGrammar.IsIceChars(f, 1, 32), f));
    }

    [Fact]
    public void Generated_credentials_are_random_ice_chars_of_valid_length()
    {
        var a = IceCredentials.Generate();
        var b = IceCredentials.Generate();
        Assert.NotEqual(a, b);
        Assert.True(IceCredentials.IsValidUfrag(a.Ufrag));
        Assert.True(IceCredentials.IsValidPwd(a.Pwd));
        Assert.True(a.Ufrag.Length >= 4 && a.Pwd.Length >= 22);
        Assert.DoesNotContain(a.Pwd, a.ToString());
        Assert.True(IceCredentials.TryCreate("G6op", "zQ15Lb+Fx4X6zn1lTGq24x", out var c, out _));
        Assert.Equal("G6op", c.Ufrag);
        Assert.False(IceCredentials.TryCreate("G6o", "zQ15Lb+Fx4X6zn1lTGq24x", out _, out var e1));
        Assert.Contains("ufrag", e1);
        Assert.False(IceCredentials.TryCreate("G6op", "short", out _, out var e2));
        Assert.Contains("pwd", e2);
        Assert.False(IceCredentials.TryCreate("G6o:", "zQ15Lb+Fx4X6zn1lTGq24x", out _, out _));
        Assert.Equal("bob1:alice", new IceCredentials("alice", "x").UsernameForCheckTo(new IceCredentials("bob1", "y")));
    }
}
