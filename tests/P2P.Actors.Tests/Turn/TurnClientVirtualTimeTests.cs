using System.Net;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Turn;
using P2P.Protocol.Stun;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// TurnClient against a server played by the test (a probe in place of the socket), with TestKit's
/// virtual-time scheduler: retransmissions, challenges, refreshes and expiry run without waiting.
/// </summary>
public sealed class TurnClientVirtualTimeTests(ITestOutputHelper output) : TurnClientVirtualTimeTestBase(output)
{
    private IActorRef StartAllocated(uint lifetimeSeconds = 600)
    {
        var allocator = StartAllocator();
        Server.AcceptAllocation(lifetimeSeconds);
        Owner.ExpectMsg<AllocationSucceeded>();
        return allocator;
    }

    /// <summary>Moves virtual time to just before <paramref name="delay"/> and checks nothing was sent, then to it.</summary>
    private void AdvanceExactly(TimeSpan delay)
    {
        Scheduler.Advance(delay - TimeSpan.FromMilliseconds(1));
        Server.ExpectNothing(50);
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
    }

    /// <summary>Waits until the allocator has handled everything sent to it so far (timers it started are then
    /// scheduled against the current virtual time, before the test advances it).</summary>

    [Fact]
    public void Allocate_is_resent_at_0_5_1_5_3_5_7_5_15_5_31_5_s_and_fails_at_39_5_s_with_a_clear_reason()
    {
        var allocator = StartAllocator();
        Watch(allocator);
        var first = Server.ExpectRequest(StunMethod.Allocate);
        Assert.False(first.Has(StunAttributeType.Username));
        Assert.False(first.HasMessageIntegrity);

        var previous = TimeSpan.Zero;
        foreach (double at in new[] { 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 })
        {
            AdvanceExactly(TimeSpan.FromSeconds(at) - previous);
            previous = TimeSpan.FromSeconds(at);
            var again = Server.ExpectRequest(StunMethod.Allocate);
            Assert.Equal(first.Bytes, again.Bytes); // a retransmission is the same request, same transaction
        }

        Scheduler.Advance(TimeSpan.FromSeconds(39.5) - previous - TimeSpan.FromMilliseconds(1));
        Owner.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));

        var failed = Owner.ExpectMsg<AllocationFailed>();
        Assert.Null(failed.Code);
        Assert.Equal("TURN server 127.0.0.1:3478 did not answer Allocate (7 requests over 39.5 s)", failed.Reason);
        Server.ExpectNothing();
        ExpectTerminated(allocator);
    }

    [Fact]
    public void Challenge_401_is_answered_with_username_realm_nonce_and_md5_message_integrity()
    {
        StartAllocator();
        var first = Server.ExpectRequest(StunMethod.Allocate);
        Assert.Equal(17u << 24, first.UInt32(StunAttributeType.RequestedTransport));
        Assert.Equal(600u, first.UInt32(StunAttributeType.Lifetime));
        Server.Deliver(Server.Challenge(first, 401, "nonce-1"));

        var second = Server.ExpectRequest(StunMethod.Allocate);
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(FakeTurnServer.Username, second.String(StunAttributeType.Username));
        Assert.Equal(FakeTurnServer.Realm, second.String(StunAttributeType.Realm));
        Assert.Equal("nonce-1", second.String(StunAttributeType.Nonce));
        Assert.Null(second.PasswordAlgorithm); // no RFC 8489 cookie in the nonce: RFC 5389 behaviour
        Assert.True(second.HasMessageIntegrity);
        Assert.False(second.HasMessageIntegritySha256);
        Assert.Equal(StunError.None, second.Verify(Server.Md5Key)); // key = MD5("u:r:p")

        Server.Deliver(Server.AllocateSuccess(second, 600, Server.Md5Key));
        var allocated = Owner.ExpectMsg<AllocationSucceeded>();
        Assert.Equal(FakeTurnServer.Relayed, allocated.Relayed);
        Assert.Equal(FakeTurnServer.Mapped, allocated.Mapped);
        Assert.Equal(TimeSpan.FromSeconds(600), allocated.Lifetime);
    }

    [Fact]
    public void Nonce_cookie_offering_sha256_selects_it_with_password_algorithm_and_message_integrity_sha256()
    {
        StartAllocator();
        var first = Server.ExpectRequest(StunMethod.Allocate);
        string nonce = NonceCookie.Create(SecurityFeatures.PasswordAlgorithms, "opaque");
        Server.Deliver(Server.Challenge(first, 401, nonce, PasswordAlgorithm.Md5, PasswordAlgorithm.Sha256));

        var second = Server.ExpectRequest(StunMethod.Allocate);
        Assert.Equal(nonce, second.String(StunAttributeType.Nonce));
        Assert.Equal(PasswordAlgorithm.Sha256, second.PasswordAlgorithm);
        Assert.True(second.Has(StunAttributeType.PasswordAlgorithms)); // echoed as received (RFC 8489 §9.2.4)
        Assert.True(second.HasMessageIntegritySha256);
        Assert.Equal(StunError.None, second.Verify(Server.Sha256Key)); // key = SHA-256("u:r:p")

        Server.Deliver(Server.AllocateSuccess(second, 600, Server.Sha256Key, sha256: true));
        Assert.Equal(FakeTurnServer.Relayed, Owner.ExpectMsg<AllocationSucceeded>().Relayed);
    }

    [Fact]
    public void Stale_nonce_438_is_retried_with_the_new_nonce_and_succeeds()
    {
        StartAllocator();
        var first = Server.ExpectRequest(StunMethod.Allocate);
        Server.Deliver(Server.Challenge(first, 401, "nonce-1"));
        var second = Server.ExpectRequest(StunMethod.Allocate);
        Server.Deliver(Server.Challenge(second, 438, "nonce-2"));

        var third = Server.ExpectRequest(StunMethod.Allocate);
        Assert.Equal("nonce-2", third.String(StunAttributeType.Nonce));
        Assert.Equal(StunError.None, third.Verify(Server.Md5Key));
        Server.Deliver(Server.AllocateSuccess(third, 600, Server.Md5Key));
        Owner.ExpectMsg<AllocationSucceeded>();
    }

    [Fact]
    public void Stale_nonce_438_without_end_fails_after_the_configured_retries()
    {
        StartAllocator();
        var request = Server.ExpectRequest(StunMethod.Allocate);
        Server.Deliver(Server.Challenge(request, 401, "nonce-0"));
        for (int i = 1; i <= Settings.MaxStaleNonceRetries + 1; i++)
        {
            request = Server.ExpectRequest(StunMethod.Allocate);
            Server.Deliver(Server.Challenge(request, 438, $"nonce-{i}"));
        }
        var failed = Owner.ExpectMsg<AllocationFailed>();
        Assert.Equal(438, failed.Code);
        Assert.Contains("438 Stale Nonce", failed.Reason);
    }

    [Fact]
    public void Second_401_after_sending_credentials_fails_with_a_readable_reason()
    {
        StartAllocator(password: "wrong");
        var first = Server.ExpectRequest(StunMethod.Allocate);
        Server.Deliver(Server.Challenge(first, 401, "nonce-1"));
        var second = Server.ExpectRequest(StunMethod.Allocate);
        Assert.NotEqual(StunError.None, second.Verify(Server.Md5Key));
        Server.Deliver(Server.Challenge(second, 401, "nonce-1"));

        var failed = Owner.ExpectMsg<AllocationFailed>();
        Assert.Equal(401, failed.Code);
        Assert.Equal("TURN server 127.0.0.1:3478 refused credentials for user 'u' (401 Unauthorized)", failed.Reason);
    }

    [Theory]
    [InlineData(486, "Allocation Quota Reached")]
    [InlineData(508, "Insufficient Capacity")]
    [InlineData(403, "Forbidden")]
    public void Other_errors_fail_the_allocation_with_code_and_reason(int code, string reason)
    {
        StartAllocator();
        var first = Server.ExpectRequest(StunMethod.Allocate);
        Server.Deliver(Server.Challenge(first, 401, "nonce-1"));
        var second = Server.ExpectRequest(StunMethod.Allocate);
        Server.Deliver(Server.Error(second, code, reason, Server.Md5Key));

        var failed = Owner.ExpectMsg<AllocationFailed>();
        Assert.Equal(code, failed.Code);
        Assert.Equal($"TURN server 127.0.0.1:3478 rejected the allocation ({code} {reason})", failed.Reason);
    }

    [Fact]
    public void Allocation_is_refreshed_60_s_before_it_expires_and_a_438_on_refresh_takes_the_new_nonce()
    {
        StartAllocated(lifetimeSeconds: 600);

        AdvanceExactly(TimeSpan.FromSeconds(540));
        var refresh = Server.ExpectRequest(StunMethod.Refresh);
        Assert.Equal(600u, refresh.UInt32(StunAttributeType.Lifetime));
        Assert.Equal(StunError.None, refresh.Verify(Server.Md5Key));
        Server.Deliver(Server.Challenge(refresh, 438, "nonce-2"));

        var retried = Server.ExpectRequest(StunMethod.Refresh);
        Assert.Equal("nonce-2", retried.String(StunAttributeType.Nonce));
        Server.Deliver(Server.Success(retried, Server.Md5Key, lifetimeSeconds: 300));
        Assert.Equal(TimeSpan.FromSeconds(300), Owner.ExpectMsg<AllocationRefreshed>().Lifetime);

        // The next refresh follows the newly granted lifetime: 300 - 60 s later.
        AdvanceExactly(TimeSpan.FromSeconds(240));
        var next = Server.ExpectRequest(StunMethod.Refresh);
        Assert.Equal("nonce-2", next.String(StunAttributeType.Nonce));
    }

    [Fact]
    public void Refresh_without_an_answer_reports_the_allocation_lost()
    {
        var allocator = StartAllocated(lifetimeSeconds: 600);
        Watch(allocator);
        Scheduler.Advance(TimeSpan.FromSeconds(540));
        var refresh = Server.ExpectRequest(StunMethod.Refresh);
        foreach (double wait in new[] { 0.5, 1, 2, 4, 8, 16 })
        {
            Scheduler.Advance(TimeSpan.FromSeconds(wait));
            Assert.Equal(refresh.Bytes, Server.ExpectRequest(StunMethod.Refresh).Bytes);
        }
        Scheduler.Advance(TimeSpan.FromSeconds(8));

        var lost = Owner.ExpectMsg<AllocationLost>();
        Assert.Contains("did not answer Refresh", lost.Reason);
        ExpectTerminated(allocator);
    }

    [Fact]
    public void Stopping_the_allocator_sends_refresh_with_lifetime_zero()
    {
        var allocator = StartAllocated();

        Sys.Stop(allocator);

        var refresh = Server.ExpectRequest(StunMethod.Refresh);
        Assert.Equal(0u, refresh.UInt32(StunAttributeType.Lifetime));
        Assert.Equal(StunError.None, refresh.Verify(Server.Md5Key));
        Server.ExpectNothing();
    }

    [Fact]
    public void Deallocate_sends_refresh_with_lifetime_zero_reports_deallocated_and_stops()
    {
        var allocator = StartAllocated();
        Watch(allocator);

        allocator.Tell(Deallocate.Instance);
        var refresh = Server.ExpectRequest(StunMethod.Refresh);
        Assert.Equal(0u, refresh.UInt32(StunAttributeType.Lifetime));
        Server.Deliver(Server.Success(refresh, Server.Md5Key, lifetimeSeconds: 0));

        Owner.ExpectMsg<Deallocated>();
        ExpectTerminated(allocator);
        Server.ExpectNothing(); // no second release from PostStop
    }

    [Fact]
    public void Malformed_stray_and_forged_packets_are_dropped_counted_and_do_not_disturb_the_allocation()
    {
        var allocator = StartAllocator();
        var first = Server.ExpectRequest(StunMethod.Allocate);
        Server.Deliver(Server.Challenge(first, 401, "nonce-1"));
        var request = Server.ExpectRequest(StunMethod.Allocate);

        Server.Deliver([0xFF, 0x00, 0x01]);                                             // neither STUN nor ChannelData
        Server.Deliver(request.Bytes.AsSpan(0, 30).ToArray());                          // truncated STUN
        var corrupt = Server.AllocateSuccess(request, 600, Server.Md5Key);
        corrupt[^1] ^= 0xFF;
        Server.Deliver(corrupt);                                                        // bad FINGERPRINT
        Server.Deliver(Server.AllocateSuccess(first, 600, Server.Md5Key));            // answers a finished transaction
        Server.Deliver(Server.AllocateSuccess(request, 600, Server.Sha256Key));       // integrity with the wrong key
        Server.Deliver(Server.AllocateSuccess(request, 600, key: null));               // success without integrity
        Server.Deliver(FakeTurnServer.ChannelDataPacket(0x4001, [1, 2, 3]));            // channel never bound
        allocator.Tell(new P2P.Actors.Transport.UdpSocketProtocol.Received(new IPEndPoint(IPAddress.Loopback, 9), FakeTurnServer.Client, new byte[20]));
        Owner.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        allocator.Tell(GetStats.Instance, TestActor);
        var stats = ExpectMsg<Stats>();
        Assert.Equal(3, stats.Malformed);
        Assert.Equal(1, stats.StrayResponses);
        Assert.Equal(2, stats.BadIntegrity);
        Assert.Equal(1, stats.UnknownChannel);
        Assert.Equal(1, stats.ForeignSource);

        Server.Deliver(Server.AllocateSuccess(request, 600, Server.Md5Key));
        Assert.Equal(FakeTurnServer.Relayed, Owner.ExpectMsg<AllocationSucceeded>().Relayed);
    }

    [Fact]
    public void Data_goes_in_send_indications_after_an_explicit_permission_then_in_channel_data_once_bound()
    {
        var allocator = StartAllocated();
        var peer = new IPEndPoint(IPAddress.Parse("127.0.0.2"), 7000);

        // First send without a permission: a CreatePermission goes out and the datagram waits for it.
        allocator.Tell(new SendToPeer(peer, FakeTurnServer.Utf8("one")));
        var permission = Server.ExpectRequest(StunMethod.CreatePermission);
        Assert.Equal(peer.Address, permission.Address(StunAttributeType.XorPeerAddress)!.Address);
        Assert.Equal(StunError.None, permission.Verify(Server.Md5Key));
        Server.ExpectNothing();
        Server.Deliver(Server.Success(permission, Server.Md5Key));
        Assert.Equal(peer.Address, Owner.ExpectMsg<PermissionCreated>().Peer);

        var indication = Server.ExpectPacket();
        Assert.Equal(StunMethod.Send, indication.Method);
        Assert.Equal(StunClass.Indication, indication.Class);
        Assert.Equal(peer, indication.Address(StunAttributeType.XorPeerAddress));
        Assert.Equal(FakeTurnServer.Utf8("one"), indication.Data);

        Server.Deliver(Server.DataIndication(peer, FakeTurnServer.Utf8("back")));
        var data = Owner.ExpectMsg<PeerData>();
        Assert.Equal(peer, data.Peer);
        Assert.Equal(FakeTurnServer.Utf8("back"), data.Data.ToArray());
        Assert.False(data.ViaChannel);

        allocator.Tell(new BindChannel(peer));
        var bind = Server.ExpectRequest(StunMethod.ChannelBind);
        Assert.Equal((ushort)0x4000, bind.Channel);
        Assert.Equal(peer, bind.Address(StunAttributeType.XorPeerAddress));
        Server.Deliver(Server.Success(bind, Server.Md5Key));
        Assert.Equal(new ChannelBound(peer, 0x4000), Owner.ExpectMsg<ChannelBound>());

        allocator.Tell(new SendToPeer(peer, FakeTurnServer.Utf8("two")));
        var channelData = Server.ExpectPacket();
        Assert.Equal(FakeTurnServer.ChannelDataPacket(0x4000, FakeTurnServer.Utf8("two")), channelData.Bytes);

        Server.Deliver(FakeTurnServer.ChannelDataPacket(0x4000, FakeTurnServer.Utf8("back again")));
        var viaChannel = Owner.ExpectMsg<PeerData>();
        Assert.Equal(peer, viaChannel.Peer);
        Assert.Equal(FakeTurnServer.Utf8("back again"), viaChannel.Data.ToArray());
        Assert.True(viaChannel.ViaChannel);
    }

    [Fact]
    public void Permissions_are_refreshed_every_240_s_and_channels_every_540_s()
    {
        var allocator = StartAllocated(lifetimeSeconds: 3600);
        var peer = new IPEndPoint(IPAddress.Loopback, 7000);

        allocator.Tell(new CreatePermission(peer.Address));
        var permission = Server.ExpectRequest(StunMethod.CreatePermission);
        Server.Deliver(Server.Success(permission, Server.Md5Key));
        Owner.ExpectMsg<PermissionCreated>();
        allocator.Tell(new BindChannel(peer));
        var bind = Server.ExpectRequest(StunMethod.ChannelBind);
        Server.Deliver(Server.Success(bind, Server.Md5Key));
        Owner.ExpectMsg<ChannelBound>();

        AdvanceExactly(TimeSpan.FromSeconds(240));
        var refresh1 = Server.ExpectRequest(StunMethod.CreatePermission);
        Assert.Equal(peer.Address, refresh1.Address(StunAttributeType.XorPeerAddress)!.Address);
        Server.Deliver(Server.Success(refresh1, Server.Md5Key));
        Sync(allocator);

        AdvanceExactly(TimeSpan.FromSeconds(240));
        var refresh2 = Server.ExpectRequest(StunMethod.CreatePermission);
        Server.Deliver(Server.Success(refresh2, Server.Md5Key));
        Sync(allocator);

        AdvanceExactly(TimeSpan.FromSeconds(60));
        var rebind = Server.ExpectRequest(StunMethod.ChannelBind);
        Assert.Equal((ushort)0x4000, rebind.Channel);
        Assert.Equal(peer, rebind.Address(StunAttributeType.XorPeerAddress));
        Server.Deliver(Server.Success(rebind, Server.Md5Key));

        Owner.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // refreshes are silent: no repeated Created/Bound events
    }

    [Fact]
    public void Commands_sent_while_allocating_wait_for_the_allocation()
    {
        var allocator = StartAllocator();
        allocator.Tell(new CreatePermission(IPAddress.Loopback));
        Server.AcceptAllocation();
        Owner.ExpectMsg<AllocationSucceeded>();

        var permission = Server.ExpectRequest(StunMethod.CreatePermission);
        Server.Deliver(Server.Success(permission, Server.Md5Key));
        Assert.Equal(IPAddress.Loopback, Owner.ExpectMsg<PermissionCreated>().Peer);
    }

    [Fact]
    public void Refused_permission_is_reported_and_the_datagrams_waiting_for_it_are_dropped()
    {
        var allocator = StartAllocated();
        var peer = new IPEndPoint(IPAddress.Parse("127.0.0.3"), 7000);
        allocator.Tell(new SendToPeer(peer, FakeTurnServer.Utf8("one")));
        allocator.Tell(new SendToPeer(peer, FakeTurnServer.Utf8("two")));
        allocator.Tell(new SendToPeer(peer, new byte[TurnClient.MaxPeerData + 1]));

        var permission = Server.ExpectRequest(StunMethod.CreatePermission); // one request for both datagrams
        Server.Deliver(Server.Error(permission, 403, "Forbidden", Server.Md5Key));

        var failed = Owner.ExpectMsg<PermissionFailed>();
        Assert.Equal(peer.Address, failed.Peer);
        Assert.Equal(403, failed.Code);
        Assert.Equal("TURN server 127.0.0.1:3478 refused a permission for 127.0.0.3 (403 Forbidden)", failed.Reason);
        Server.ExpectNothing();
        allocator.Tell(GetStats.Instance, TestActor);
        Assert.Equal(3, ExpectMsg<Stats>().SendsDropped);
    }

    [Fact]
    public void A_granted_lifetime_of_zero_does_not_make_the_client_refresh_in_a_loop()
    {
        var allocator = StartAllocator();
        var first = Server.ExpectRequest(StunMethod.Allocate);
        Server.Deliver(Server.Challenge(first, 401, "nonce-1"));
        var second = Server.ExpectRequest(StunMethod.Allocate);
        Server.Deliver(Server.AllocateSuccess(second, 0, Server.Md5Key));
        Owner.ExpectMsg<AllocationSucceeded>();

        AdvanceExactly(TimeSpan.FromSeconds(1)); // refreshes no sooner than a second later
        Server.ExpectRequest(StunMethod.Refresh);
        Server.ExpectNothing();
    }
}
