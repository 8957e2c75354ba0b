using System.Net;
using P2P.Protocol.Ice;
using Xunit;

namespace P2P.Protocol.Tests.Ice;

/// <summary>ICE-TCP priorities (RFC 6544 §4.2): TCP pairs rank below every direct UDP pair and above relayed UDP ones.</summary>
public class IceTcpPriorityTests
{
    private static readonly IPAddress A = IPAddress.Parse("10.0.0.2");

    private static uint Udp(CandidateType type) =>
        CandidatePriority.Compute(type, CandidatePriority.LocalPreference(A, 0), 1);

    private static uint Tcp(CandidateType type, TcpCandidateType tcpType) =>
        CandidatePriority.Compute(type, CandidatePriority.LocalPreference(A, 0, tcpType, natted: type != CandidateType.Host), 1, CandidateTransport.Tcp);

    [Theory]
    [InlineData(CandidateType.Host, TcpCandidateType.Active)]
    [InlineData(CandidateType.Host, TcpCandidateType.Passive)]
    [InlineData(CandidateType.Host, TcpCandidateType.SimultaneousOpen)]
    [InlineData(CandidateType.PeerReflexive, TcpCandidateType.Active)]
    [InlineData(CandidateType.ServerReflexive, TcpCandidateType.SimultaneousOpen)]
    public void A_tcp_candidate_ranks_below_every_direct_udp_one_and_above_a_relayed_one(CandidateType type, TcpCandidateType tcpType)
    {
        uint tcp = Tcp(type, tcpType);
        Assert.True(tcp < Udp(CandidateType.ServerReflexive), $"{type} {tcpType} {tcp}");
        Assert.True(tcp > Udp(CandidateType.Relayed));
    }

    [Fact]
    public void A_tcp_pair_ranks_below_a_udp_host_or_reflexive_pair_whatever_the_role()
    {
        foreach (bool controlling in new[] { true, false })
        {
            ulong tcpHost = Pair(Tcp(CandidateType.Host, TcpCandidateType.Active), Tcp(CandidateType.Host, TcpCandidateType.Passive), controlling);
            ulong udpSrflx = Pair(Udp(CandidateType.ServerReflexive), Udp(CandidateType.ServerReflexive), controlling);
            ulong udpRelay = Pair(Udp(CandidateType.Host), Udp(CandidateType.Relayed), controlling);
            Assert.True(tcpHost < udpSrflx);
            Assert.True(tcpHost > udpRelay);
        }
    }

    [Fact]
    public void Tcp_type_preferences_keep_the_order_of_the_types()
    {
        Assert.True(CandidatePriority.TypePreference(CandidateType.Host, CandidateTransport.Tcp) > CandidatePriority.TypePreference(CandidateType.PeerReflexive, CandidateTransport.Tcp));
        Assert.True(CandidatePriority.TypePreference(CandidateType.PeerReflexive, CandidateTransport.Tcp) > CandidatePriority.TypePreference(CandidateType.ServerReflexive, CandidateTransport.Tcp));
        Assert.Equal(CandidatePriority.TypePreference(CandidateType.Host), CandidatePriority.TypePreference(CandidateType.Host, CandidateTransport.Udp));
    }

    [Fact]
    public void Active_host_tcp_is_preferred_over_passive_and_so_for_the_same_address()
    {
        Assert.True(Tcp(CandidateType.Host, TcpCandidateType.Active) > Tcp(CandidateType.Host, TcpCandidateType.Passive));
        Assert.True(Tcp(CandidateType.Host, TcpCandidateType.Passive) > Tcp(CandidateType.Host, TcpCandidateType.SimultaneousOpen));
    }

    private static ulong Pair(uint local, uint remote, bool controlling) =>
        controlling ? CandidatePair.ComputePriority(local, remote) : CandidatePair.ComputePriority(remote, local);
}
