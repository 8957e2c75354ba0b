using System.Net;
using System.Text;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Transport;
using P2P.Actors.Transport.Virtual;
using P2P.Actors.Turn;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;
using P2P.Actors.Tests.Support;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// Our TURN server and client on the virtual network: the relayed path that remains when both peers are behind
/// symmetric NATs (where hole punching fails, see <see cref="HolePunchingTests"/>).
/// </summary>
public sealed class RelayOnVirtualNetworkTests(ITestOutputHelper output) : VirtualNetworkTestBase(output)
{
    private static readonly IPEndPoint Relay = Ep("198.51.100.1:3478");
    private static readonly IPAddress NatA = Ip("203.0.113.1"), NatB = Ip("203.0.113.2");

    [Fact]
    public async Task Symmetric_to_symmetric_connects_through_the_relay()
    {
        Net.AddPublicHost("relay", Relay.Address);
        var relay = await StartRelay("relay", Relay);
        Net.AddNat("nat-a", NatA, NatBehavior.Symmetric);
        Net.AddNat("nat-b", NatB, NatBehavior.Symmetric);
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat-a");
        Net.AddPrivateHost("bob", Ip("10.0.0.2"), "nat-b");
        var alice = Open("alice", 5000);
        var bob = Open("bob", 5000);

        var owner = CreateTestProbe();
        alice.Actor.Tell(new VirtualEndpoint.StartClient(Relay, socket => TurnClient.Props(
            TurnClientSettings.Default, Relay, new TurnCredentials(TurnUser, TurnPassword), socket, owner.Ref)), owner.Ref);
        var allocator = owner.ExpectMsg<VirtualEndpoint.ClientStarted>(Wait).Client;
        var allocated = owner.ExpectMsg<AllocationSucceeded>(Wait);
        Assert.Equal(Relay.Address, allocated.Relayed.Address);
        Assert.Equal(NatA, allocated.Mapped!.Address); // the server saw alice's NAT mapping

        allocator.Tell(new CreatePermission(NatB), owner.Ref);
        owner.ExpectMsg<PermissionCreated>(Wait);

        // bob sends to alice's relayed address: through his NAT, the relay, and a Data indication to alice
        Send(bob, allocated.Relayed, "hello alice");
        var data = owner.ExpectMsg<PeerData>(Wait);
        Assert.Equal("hello alice", Encoding.UTF8.GetString(data.Data.Span));
        Assert.Equal(NatB, data.Peer.Address);
        Assert.False(data.ViaChannel);

        // alice answers through the relay: bob's NAT lets it in, it comes from the relayed address he sent to
        allocator.Tell(new SendToPeer(data.Peer, "hello bob"u8.ToArray()), owner.Ref);
        var reply = bob.Inbox.ExpectMsg<UdpSocketProtocol.Received>(Wait);
        Assert.Equal(allocated.Relayed, reply.From);
        Assert.Equal("hello bob", Encoding.UTF8.GetString(reply.Payload.Span));

        // and the same over a channel (ChannelData, RFC 8656 §12)
        allocator.Tell(new BindChannel(data.Peer), owner.Ref);
        owner.ExpectMsg<ChannelBound>(Wait);
        Send(bob, allocated.Relayed, "over the channel");
        var channelData = owner.ExpectMsg<PeerData>(Wait);
        Assert.True(channelData.ViaChannel);
        Assert.Equal("over the channel", Encoding.UTF8.GetString(channelData.Data.Span));
        allocator.Tell(new SendToPeer(data.Peer, "channel reply"u8.ToArray()), owner.Ref);
        Assert.Equal("channel reply", Encoding.UTF8.GetString(bob.Inbox.ExpectMsg<UdpSocketProtocol.Received>(Wait).Payload.Span));

        var allocations = await relay.Ask<RelayServerProtocol.AllocationList>(new RelayServerProtocol.GetAllocations(), Wait);
        Assert.Equal(new IPEndPoint(NatA, Assert.Single(allocations.Allocations).FiveTuple.Client.Port), allocated.Mapped);
    }

    [Fact]
    public async Task A_peer_without_a_permission_is_not_relayed()
    {
        Net.AddPublicHost("relay", Relay.Address);
        await StartRelay("relay", Relay);
        Net.AddNat("nat-a", NatA, NatBehavior.Symmetric);
        Net.AddPrivateHost("alice", Ip("10.0.0.2"), "nat-a");
        Net.AddPublicHost("mallory", Ip("198.51.100.66"));
        var alice = Open("alice", 5000);
        var mallory = Open("mallory", 4000);

        var owner = CreateTestProbe();
        alice.Actor.Tell(new VirtualEndpoint.StartClient(Relay, socket => TurnClient.Props(
            TurnClientSettings.Default, Relay, new TurnCredentials(TurnUser, TurnPassword), socket, owner.Ref)), owner.Ref);
        owner.ExpectMsg<VirtualEndpoint.ClientStarted>(Wait);
        var allocated = owner.ExpectMsg<AllocationSucceeded>(Wait);

        Send(mallory, allocated.Relayed, "let me in");
        var stats = await Settle();
        Assert.Equal(0, stats.NoSocket); // it reached the relayed socket, which dropped it (RFC 8656 §9)
        owner.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }
}
