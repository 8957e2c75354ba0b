using System.Net;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Turn;
using P2P.Protocol.Stun;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// A TURN server that forgets the allocation (RFC 8656 §7, §9): coturn 4.6 closes an allocation whose relayed send
/// to a peer fails (a private host candidate a server on the Internet has no route to), then answers the client's
/// next request as one from a new client: 438 Stale Nonce, and 400 once the new nonce is used. Our own relay answers
/// 437 Allocation Mismatch. Either way the client must notice, allocate again, and not feed the new allocation to
/// the peer that killed the old one.
/// </summary>
public sealed class TurnClientDroppedAllocationTests(ITestOutputHelper output) : TurnClientVirtualTimeTestBase(output)
{
    private static readonly IPEndPoint PrivatePeer = IPEndPoint.Parse("10.10.2.2:40000");   // a host candidate behind a NAT
    private static readonly IPEndPoint PublicPeer = IPEndPoint.Parse("198.18.0.2:41000");   // its server-reflexive one
    private static readonly IPEndPoint NewRelayed = IPEndPoint.Parse("127.0.0.1:49200");

    private IActorRef StartAllocated(TurnClientSettings? settings = null)
    {
        var allocator = StartAllocator(settings: settings);
        Server.AcceptAllocation();
        Assert.Equal(FakeTurnServer.Relayed, Owner.ExpectMsg<AllocationSucceeded>().Relayed);
        return allocator;
    }

    /// <summary>A datagram to <paramref name="peer"/>: the permission is asked for and granted, then the Send indication goes.</summary>
    private void SendThroughNewPermission(IActorRef allocator, IPEndPoint peer)
    {
        allocator.Tell(new SendToPeer(peer, FakeTurnServer.Utf8("check")));
        var permission = Server.ExpectRequest(StunMethod.CreatePermission);
        Assert.Equal(peer.Address, permission.Address(StunAttributeType.XorPeerAddress)!.Address);
        Server.Deliver(Server.Success(permission, Server.Md5Key));
        Assert.Equal(peer.Address, Owner.ExpectMsg<PermissionCreated>().Peer);
        var indication = Server.ExpectPacket();
        Assert.Equal(StunMethod.Send, indication.Method);
        Assert.Equal(peer, indication.Address(StunAttributeType.XorPeerAddress));
    }

    /// <summary>The allocator allocates again as at the start (401 challenge, then credentials); the server grants <see cref="NewRelayed"/>.</summary>
    private void AcceptReallocation()
    {
        var first = Server.ExpectRequest(StunMethod.Allocate);
        Server.Deliver(Server.Challenge(first, 401, "nonce-3"));
        var second = Server.ExpectRequest(StunMethod.Allocate);
        Assert.Equal(StunError.None, second.Verify(Server.Md5Key));
        Server.Deliver(Server.Response(second, StunClass.SuccessResponse, (ref StunMessageWriter w) =>
        {
            w.AddAddress(StunAttributeType.XorRelayedAddress, StunAddress.From(NewRelayed));
            w.AddAddress(StunAttributeType.XorMappedAddress, StunAddress.From(FakeTurnServer.Mapped));
            w.AddUInt32(StunAttributeType.Lifetime, 600);
        }, Server.Md5Key));
    }

    [Fact]
    public void A_438_then_400_on_CreatePermission_reallocates_and_the_private_peer_that_never_answered_gets_no_more_data()
    {
        var allocator = StartAllocated();
        SendThroughNewPermission(allocator, PrivatePeer); // coturn's relayed send to 10.10.2.2 fails: it closes the allocation

        allocator.Tell(new SendToPeer(PublicPeer, FakeTurnServer.Utf8("check")));
        var permission = Server.ExpectRequest(StunMethod.CreatePermission);
        Server.Deliver(Server.Challenge(permission, 438, "nonce-2"));
        var retried = Server.ExpectRequest(StunMethod.CreatePermission);
        Assert.Equal("nonce-2", retried.String(StunAttributeType.Nonce));
        Server.Deliver(Server.Error(retried, 400, "Bad Request"));

        var dropped = Owner.ExpectMsg<AllocationDropped>();
        Assert.Equal(FakeTurnServer.Relayed, dropped.Relayed);
        Assert.Equal(400, dropped.Code);
        Assert.Equal("TURN server 127.0.0.1:3478 dropped the allocation 127.0.0.1:49152 (CreatePermission for 198.18.0.2 answered 438 Stale Nonce, then 400 Bad Request)",
            dropped.Reason);
        Assert.Equal([PrivatePeer], dropped.NotRelayedTo);

        AcceptReallocation();
        Assert.Equal(NewRelayed, Owner.ExpectMsg<AllocationSucceeded>().Relayed);

        // the datagram that waited for the refused permission was dropped with the old allocation; new ones go on the new one
        allocator.Tell(new SendToPeer(PrivatePeer, FakeTurnServer.Utf8("again")));
        Server.ExpectNothing();
        SendThroughNewPermission(allocator, PublicPeer);
        Sync(allocator);
        Owner.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // no PermissionFailed, no AllocationLost
    }

    [Fact]
    public void A_437_on_a_permission_refresh_reallocates_and_peers_that_answered_stay_reachable()
    {
        var allocator = StartAllocated();
        SendThroughNewPermission(allocator, PrivatePeer);
        Server.Deliver(Server.DataIndication(PrivatePeer, FakeTurnServer.Utf8("answer"))); // a TURN server on the same LAN reaches it
        Assert.Equal(PrivatePeer, Owner.ExpectMsg<PeerData>().Peer);

        Scheduler.Advance(TimeSpan.FromMilliseconds(300)); // data went to a private address: is the allocation still there?
        var check = Server.ExpectRequest(StunMethod.Refresh);
        Server.Deliver(Server.Success(check, Server.Md5Key, lifetimeSeconds: 600));
        Owner.ExpectMsg<AllocationRefreshed>();

        Scheduler.Advance(TimeSpan.FromSeconds(240));
        var refresh = Server.ExpectRequest(StunMethod.CreatePermission);
        Server.Deliver(Server.Error(refresh, 437, "Allocation Mismatch", Server.Md5Key));

        var dropped = Owner.ExpectMsg<AllocationDropped>();
        Assert.Equal(437, dropped.Code);
        Assert.Equal("TURN server 127.0.0.1:3478 dropped the allocation 127.0.0.1:49152 (CreatePermission for 10.10.2.2 answered 437 Allocation Mismatch)", dropped.Reason);
        Assert.Empty(dropped.NotRelayedTo);
        AcceptReallocation();
        Assert.Equal(NewRelayed, Owner.ExpectMsg<AllocationSucceeded>().Relayed);
        SendThroughNewPermission(allocator, PrivatePeer);
    }

    [Fact]
    public void Data_to_a_private_address_is_followed_by_a_refresh_that_finds_the_allocation_gone_at_once()
    {
        // coturn closes the allocation when its relayed send fails and says nothing until the next request; the
        // permissions for the other peers were asked for at the same moment and granted, so without a question the
        // next request would be the permission refresh, 4 minutes later
        var allocator = StartAllocated();
        SendThroughNewPermission(allocator, PublicPeer);
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        Server.ExpectNothing(); // public peers need no check
        SendThroughNewPermission(allocator, PrivatePeer);
        allocator.Tell(new SendToPeer(PrivatePeer, FakeTurnServer.Utf8("retransmission")));
        Assert.Equal(StunMethod.Send, Server.ExpectPacket().Method);
        Sync(allocator);

        Scheduler.Advance(TimeSpan.FromMilliseconds(299));
        Server.ExpectNothing(50);
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        var check = Server.ExpectRequest(StunMethod.Refresh);
        Assert.Equal(600u, check.UInt32(StunAttributeType.Lifetime));
        Server.Deliver(Server.Challenge(check, 438, "nonce-2"));
        Server.Deliver(Server.Error(Server.ExpectRequest(StunMethod.Refresh), 437, "Allocation Mismatch"));

        var dropped = Owner.ExpectMsg<AllocationDropped>();
        Assert.Equal("TURN server 127.0.0.1:3478 dropped the allocation 127.0.0.1:49152 (Refresh answered 437 Allocation Mismatch)", dropped.Reason);
        Assert.Equal([PrivatePeer], dropped.NotRelayedTo);
        AcceptReallocation();
        Assert.Equal(NewRelayed, Owner.ExpectMsg<AllocationSucceeded>().Relayed);
    }

    [Fact]
    public void A_server_that_keeps_dropping_allocations_loses_the_allocation_for_good_past_the_limit()
    {
        var allocator = StartAllocated(Settings with { MaxReallocations = 1 });
        Watch(allocator);
        Scheduler.Advance(TimeSpan.FromSeconds(540));
        Server.Deliver(Server.Error(Server.ExpectRequest(StunMethod.Refresh), 437, "Allocation Mismatch", Server.Md5Key));
        Owner.ExpectMsg<AllocationDropped>();
        AcceptReallocation();
        Owner.ExpectMsg<AllocationSucceeded>();

        Scheduler.Advance(TimeSpan.FromSeconds(540)); // within the 10-minute window of the first drop
        Server.Deliver(Server.Error(Server.ExpectRequest(StunMethod.Refresh), 437, "Allocation Mismatch", Server.Md5Key));
        var lost = Owner.ExpectMsg<AllocationLost>();
        Assert.Equal(437, lost.Code);
        Assert.Equal("TURN server 127.0.0.1:3478 dropped the allocation 127.0.0.1:49200 (Refresh answered 437 Allocation Mismatch); " +
                     "it dropped 2 allocations within 10 min, so no new one is asked for", lost.Reason);
        ExpectTerminated(allocator);
    }

    [Fact]
    public void A_reallocation_the_server_refuses_ends_in_allocation_lost_saying_both()
    {
        var allocator = StartAllocated();
        Watch(allocator);
        allocator.Tell(new BindChannel(PublicPeer));
        var bind = Server.ExpectRequest(StunMethod.ChannelBind);
        Server.Deliver(Server.Error(bind, 437, "Allocation Mismatch"));
        Assert.Contains("ChannelBind 0x4000 to 198.18.0.2:41000 answered 437", Owner.ExpectMsg<AllocationDropped>().Reason);

        var first = Server.ExpectRequest(StunMethod.Allocate);
        Server.Deliver(Server.Error(first, 486, "Allocation Quota Reached"));
        var lost = Owner.ExpectMsg<AllocationLost>();
        Assert.Equal("TURN server 127.0.0.1:3478 dropped the allocation 127.0.0.1:49152 (ChannelBind 0x4000 to 198.18.0.2:41000 answered 437 Allocation Mismatch), " +
                     "and allocating again failed: TURN server 127.0.0.1:3478 rejected the allocation (486 Allocation Quota Reached)", lost.Reason);
        ExpectTerminated(allocator);
    }
}
