using System.Net;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Protocol.Stun;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// The channel the TURN client binds by itself to each peer it sends data to (<c>p2p.turn-client.bind-channels</c>,
/// RFC 8656 §12): the first datagrams go as Send indications, the rest as ChannelData once the server bound it; nobody
/// is told; a refused binding is not asked again and the data goes on as indications.
/// </summary>
public sealed class TurnClientAutomaticChannelTests(ITestOutputHelper output) : TurnClientVirtualTimeTestBase(output)
{
    private static readonly IPEndPoint Peer = new(IPAddress.Parse("127.0.0.2"), 7000);

    private IActorRef StartWithPermission(bool bindChannels = true, int after = 1)
    {
        var allocator = StartAllocator(settings: Settings with { BindChannels = bindChannels, BindChannelAfter = after });
        Server.AcceptAllocation();
        Owner.ExpectMsg<AllocationSucceeded>();
        allocator.Tell(new CreatePermission(Peer.Address));
        Server.Deliver(Server.Success(Server.ExpectRequest(StunMethod.CreatePermission), Server.Md5Key));
        Owner.ExpectMsg<PermissionCreated>();
        return allocator;
    }

    private void ExpectSendIndication(string text)
    {
        var indication = Server.ExpectPacket();
        Assert.Equal((StunMethod.Send, StunClass.Indication), (indication.Method, indication.Class));
        Assert.Equal(FakeTurnServer.Utf8(text), indication.Data);
    }

    [Fact]
    public void Data_to_a_peer_moves_to_a_channel_bound_after_the_first_send_indication_and_nobody_is_told()
    {
        var allocator = StartWithPermission();

        allocator.Tell(new SendToPeer(Peer, FakeTurnServer.Utf8("one")));
        ExpectSendIndication("one");
        var bind = Server.ExpectRequest(StunMethod.ChannelBind);
        Assert.Equal(Peer, bind.Address(StunAttributeType.XorPeerAddress));
        Assert.Equal((ushort)0x4000, bind.Channel);

        allocator.Tell(new SendToPeer(Peer, FakeTurnServer.Utf8("two"))); // while the binding is on its way
        ExpectSendIndication("two");
        Server.ExpectNothing();             // one binding per peer, not one per datagram

        Server.Deliver(Server.Success(bind, Server.Md5Key));
        allocator.Tell(new SendToPeer(Peer, FakeTurnServer.Utf8("three")));
        Assert.Equal(FakeTurnServer.ChannelDataPacket(0x4000, FakeTurnServer.Utf8("three")), Server.ExpectPacket().Bytes);
        Owner.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // no ChannelBound: nobody asked for it

        // asking for it afterwards is answered with the channel the allocator already has
        allocator.Tell(new BindChannel(Peer));
        Assert.Equal(new ChannelBound(Peer, 0x4000), Owner.ExpectMsg<ChannelBound>());
        Server.ExpectNothing();
    }

    [Fact]
    public void The_channel_is_asked_for_only_once_enough_datagrams_went_to_the_peer()
    {
        // a candidate pair that only sees a few checks gets no channel to refresh for the allocation's whole life
        var allocator = StartWithPermission(after: 3);
        allocator.Tell(new SendToPeer(Peer, FakeTurnServer.Utf8("check 1")));
        ExpectSendIndication("check 1");
        allocator.Tell(new SendToPeer(Peer, FakeTurnServer.Utf8("check 2")));
        ExpectSendIndication("check 2");
        Server.ExpectNothing();

        allocator.Tell(new SendToPeer(Peer, FakeTurnServer.Utf8("data")));
        ExpectSendIndication("data");
        Assert.Equal(Peer, Server.ExpectRequest(StunMethod.ChannelBind).Address(StunAttributeType.XorPeerAddress));
        Assert.Equal(10, Settings.BindChannelAfter); // what akka.hocon sets
    }

    [Fact]
    public void A_refused_automatic_channel_is_not_asked_again_and_the_data_goes_on_as_send_indications()
    {
        var allocator = StartWithPermission();

        allocator.Tell(new SendToPeer(Peer, FakeTurnServer.Utf8("one")));
        ExpectSendIndication("one");
        var bind = Server.ExpectRequest(StunMethod.ChannelBind);
        Server.Deliver(Server.Error(bind, 403, "Forbidden", Server.Md5Key));
        Sync(allocator);

        for (int i = 0; i < 3; i++)
        {
            allocator.Tell(new SendToPeer(Peer, FakeTurnServer.Utf8($"more {i}")));
            ExpectSendIndication($"more {i}");
        }
        Server.ExpectNothing();                            // no second ChannelBind
        Owner.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // and no ChannelBindFailed: nobody asked for it
    }

    [Fact]
    public void With_bind_channels_off_the_data_stays_in_send_indications()
    {
        var allocator = StartWithPermission(bindChannels: false);
        for (int i = 0; i < 3; i++)
        {
            allocator.Tell(new SendToPeer(Peer, FakeTurnServer.Utf8($"data {i}")));
            ExpectSendIndication($"data {i}");
        }
        Server.ExpectNothing();
    }
}
