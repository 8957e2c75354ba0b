using System.Net;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Ice;
using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
using Xunit;
using static P2P.Actors.Turn.TurnClientProtocol;

namespace P2P.Actors.Tests.Turn;

/// <summary>What every TURN-over-TCP server test checks once the allocation exists: data to a UDP echo peer and
/// back, first in Send/Data indications, then in (padded) ChannelData, then the release.</summary>
internal static class TurnOverTcpScenario
{
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    public static AllocationSucceeded ExpectAllocated(TestProbe owner, TurnTransport transport = TurnTransport.Tcp)
    {
        var allocated = owner.ExpectMsg<AllocationSucceeded>(Generous);
        Assert.Equal(transport, allocated.Transport);
        Assert.Equal(IPAddress.Loopback, allocated.Relayed.Address);
        Assert.NotNull(allocated.Mapped);
        Assert.Equal(IPAddress.Loopback, allocated.Mapped!.Address); // the TCP connection's source as the server saw it
        Assert.True(allocated.Lifetime > TimeSpan.Zero);
        return allocated;
    }

    /// <summary>Relays to <paramref name="echo"/> by Send indication, then by ChannelData; data lengths not multiples
    /// of four, so ChannelData needs padding both ways and a framing mistake would show in the next frame.</summary>
    public static void RelaysBothWaysThenReleases(TestProbe owner, IActorRef allocator, UdpEchoPeer echo, AllocationSucceeded allocated)
    {
        allocator.Tell(new CreatePermission(IPAddress.Loopback));
        Assert.Equal(IPAddress.Loopback, owner.ExpectMsg<PermissionCreated>(Generous).Peer);

        var first = Encoding.UTF8.GetBytes("hello over TCP, Send indication"); // 31 bytes
        allocator.Tell(new SendToPeer(echo.EndPoint, first));
        var echoed = owner.ExpectMsg<PeerData>(Generous);
        Assert.Equal(echo.EndPoint, echoed.Peer);
        Assert.Equal(first, echoed.Data.ToArray());
        Assert.False(echoed.ViaChannel);
        Assert.Contains(echo.Received, r => r.From.Equals(allocated.Relayed) && r.Data.SequenceEqual(first));

        allocator.Tell(new BindChannel(echo.EndPoint));
        var bound = owner.ExpectMsg<ChannelBound>(Generous);
        Assert.Equal(echo.EndPoint, bound.Peer);

        // Several in a row, of every length modulo 4: each padded ChannelData must leave the stream framed for the next.
        for (int i = 0; i < 8; i++)
        {
            var data = Encoding.UTF8.GetBytes("via channel " + new string('x', i)); // 12..19 bytes
            allocator.Tell(new SendToPeer(echo.EndPoint, data));
            var back = owner.ExpectMsg<PeerData>(Generous);
            Assert.Equal(echo.EndPoint, back.Peer);
            Assert.Equal(data, back.Data.ToArray());
            Assert.True(back.ViaChannel);
            Assert.Contains(echo.Received, r => r.From.Equals(allocated.Relayed) && r.Data.SequenceEqual(data)); // unpadded at the peer
        }

        allocator.Tell(GetStats.Instance, owner.Ref);
        var stats = owner.ExpectMsg<Stats>(Generous);
        Assert.Equal(0, stats.Malformed);
        Assert.Equal(0, stats.SendsDropped);

        allocator.Tell(Deallocate.Instance);
        owner.ExpectMsg<Deallocated>(Generous);
    }
}
