using System.Net;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Transport;
using P2P.Actors.Turn;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// TurnClient with <see cref="TurnTransport.Tcp"/> and a connection handed over by the caller (a probe plays it
/// and the server), in virtual time: the reliable transaction schedule (RFC 8489 §6.2.2), padded ChannelData
/// (RFC 8656 §12.5) and a lost connection.
/// </summary>
public sealed class TurnClientOverTcpVirtualTimeTests(ITestOutputHelper output) : TurnClientVirtualTimeTestBase(output)
{
    private IActorRef StartAllocator() => StartAllocator(transport: TurnTransport.Tcp);

    [Fact]
    public void Over_tcp_allocate_is_sent_once_and_fails_after_ti_of_39_5_s()
    {
        var allocator = StartAllocator();
        Watch(allocator);
        Server.ExpectRequest(StunMethod.Allocate);
        Sync(allocator);

        Scheduler.Advance(TimeSpan.FromSeconds(39.5) - TimeSpan.FromMilliseconds(1));
        Server.ExpectNothing(50); // no retransmission over a reliable transport
        Owner.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));

        var failed = Owner.ExpectMsg<AllocationFailed>();
        Assert.Equal("TURN server 127.0.0.1:3478 did not answer Allocate (1 request over 39.5 s over TCP)", failed.Reason);
        ExpectTerminated(allocator);
    }

    [Fact]
    public void Over_tcp_channel_data_is_padded_to_four_bytes_and_the_allocation_reports_tcp()
    {
        var allocator = StartAllocator();
        Server.AcceptAllocation();
        Assert.Equal(TurnTransport.Tcp, Owner.ExpectMsg<AllocationSucceeded>().Transport);
        var peer = new IPEndPoint(IPAddress.Parse("192.0.2.7"), 4000);

        allocator.Tell(new BindChannel(peer));
        var bind = Server.ExpectRequest(StunMethod.ChannelBind);
        Server.Deliver(Server.Success(bind, Server.Md5Key));
        Owner.ExpectMsg<PermissionCreated>(); // the binding installs the permission too (RFC 8656 §12)
        Owner.ExpectMsg<ChannelBound>();

        allocator.Tell(new SendToPeer(peer, FakeTurnServer.Utf8("two")));
        var sent = Server.ExpectPacket().Bytes;
        Assert.Equal(8, sent.Length); // 4 header + 3 data + 1 padding
        Assert.Equal(new byte[] { 0x40, 0x00, 0x00, 0x03, (byte)'t', (byte)'w', (byte)'o', 0x00 }, sent);
        Assert.Equal(StreamFraming.FrameStatus.Complete, StreamFraming.TryGetFrameLength(sent, out int frame));
        Assert.Equal(sent.Length, frame);

        // Padded ChannelData from the server is read by its length field.
        var padded = new byte[ChannelData.EncodedLength(5, padForStream: true)];
        ChannelData.Write(padded, 0x4000, FakeTurnServer.Utf8("back!"), padForStream: true);
        Server.Deliver(padded);
        Assert.Equal(FakeTurnServer.Utf8("back!"), Owner.ExpectMsg<PeerData>().Data.ToArray());
    }

    [Fact]
    public void Over_tcp_a_lost_connection_is_allocation_lost_without_a_release()
    {
        var allocator = StartAllocator();
        Watch(allocator);
        Server.AcceptAllocation();
        Owner.ExpectMsg<AllocationSucceeded>();

        allocator.Tell(new TcpClientProtocol.Disconnected(FakeTurnServer.Server, "TURN server 127.0.0.1:3478 closed the TCP connection"));

        var lost = Owner.ExpectMsg<AllocationLost>();
        Assert.Equal("TURN server 127.0.0.1:3478 closed the TCP connection", lost.Reason);
        ExpectTerminated(allocator);
        Server.ExpectNothing(); // no Refresh LIFETIME 0 into a connection that is gone
    }

    [Fact]
    public void Over_tcp_a_connection_lost_while_releasing_ends_the_release()
    {
        var allocator = StartAllocator();
        Server.AcceptAllocation();
        Owner.ExpectMsg<AllocationSucceeded>();

        allocator.Tell(Deallocate.Instance);
        Server.ExpectRequest(StunMethod.Refresh);
        allocator.Tell(new TcpClientProtocol.Disconnected(FakeTurnServer.Server, "TURN server 127.0.0.1:3478 closed the TCP connection"));

        Owner.ExpectMsg<Deallocated>();
    }
}
