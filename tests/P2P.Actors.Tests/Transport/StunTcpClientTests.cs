using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Transport;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using Xunit;
using Xunit.Abstractions;
using RawTcpListener = System.Net.Sockets.TcpListener;

namespace P2P.Actors.Tests.Transport;

/// <summary>
/// <see cref="StunTcpClient"/> against a raw TCP server played by the test on 127.0.0.1, which writes bytes in odd
/// chunks: frames split across reads, several frames in one read, bad input, closes and refusals (RFC 8656 §3.1, §12.5).
/// </summary>
public sealed class StunTcpClientTests : TestKit
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private readonly RawTcpListener _listener;
    private readonly IPEndPoint _server;
    private readonly List<Socket> _accepted = [];

    public StunTcpClientTests(ITestOutputHelper output) : base("akka.loglevel = DEBUG", output)
    {
        _listener = new RawTcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _server = (IPEndPoint)_listener.LocalEndpoint;
    }

    private (IActorRef Client, Socket Accepted, IPEndPoint Local) Connect(Akka.TestKit.TestProbe handler)
    {
        var accept = _listener.AcceptSocketAsync();
        var client = Sys.ActorOf(StunTcpClient.Props(_server, handler.Ref));
        var local = handler.ExpectMsg<UdpSocketProtocol.Bound>(Generous).LocalEndPoint;
        Assert.True(accept.Wait(Generous), "the client did not connect");
        var accepted = accept.Result;
        _accepted.Add(accepted);
        accepted.NoDelay = true;
        Assert.Equal(local, accepted.RemoteEndPoint);
        return (client, accepted, local);
    }

    private static byte[] StunMessage(StunMethod method, int attributeBytes)
    {
        var buffer = new byte[20 + 4 + ((attributeBytes + 3) & ~3)];
        var writer = new StunMessageWriter(buffer, method, StunClass.Indication, TransactionId.NewRandom());
        writer.AddBytes(StunAttributeType.Data, Enumerable.Range(0, attributeBytes).Select(i => (byte)i).ToArray());
        return writer.ToArray();
    }

    private static byte[] PaddedChannelData(ushort channel, int dataBytes)
    {
        var data = Enumerable.Range(0, dataBytes).Select(i => (byte)(0xA0 + i)).ToArray();
        var packet = new byte[ChannelData.EncodedLength(dataBytes, padForStream: true)];
        ChannelData.Write(packet, channel, data, padForStream: true);
        return packet;
    }

    /// <summary>Writes <paramref name="bytes"/> in chunks of the given sizes (cycled), pausing between them so they
    /// tend to arrive as separate reads.</summary>
    private static void WriteInChunks(Socket socket, byte[] bytes, params int[] sizes)
    {
        int offset = 0, i = 0;
        while (offset < bytes.Length)
        {
            int n = Math.Min(sizes[i++ % sizes.Length], bytes.Length - offset);
            socket.Send(bytes, offset, n, SocketFlags.None);
            offset += n;
            Thread.Sleep(5);
        }
    }

    private void ExpectFrame(Akka.TestKit.TestProbe handler, byte[] expected, IPEndPoint local)
    {
        var received = handler.ExpectMsg<UdpSocketProtocol.Received>(Generous);
        Assert.Equal(_server, received.From);
        Assert.Equal(local, received.Local);
        Assert.Equal(expected, received.Payload.ToArray());
    }

    [Fact]
    public void A_stun_message_split_into_odd_chunks_arrives_as_one_whole_frame()
    {
        var handler = CreateTestProbe();
        var (_, accepted, local) = Connect(handler);
        var message = StunMessage(StunMethod.Data, 301);

        WriteInChunks(accepted, message, 1, 2, 3, 7, 13, 50);

        ExpectFrame(handler, message, local);
        handler.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Several_frames_in_one_write_arrive_one_by_one_with_channel_data_padding_skipped()
    {
        var handler = CreateTestProbe();
        var (_, accepted, local) = Connect(handler);
        var first = StunMessage(StunMethod.Data, 10);
        var second = PaddedChannelData(0x4000, 5);   // 4 + 5 data + 3 padding
        var third = PaddedChannelData(0x4FFF, 8);    // no padding needed
        var fourth = StunMessage(StunMethod.Data, 0);
        Assert.Equal(12, second.Length);

        accepted.Send([.. first, .. second, .. third, .. fourth]);

        ExpectFrame(handler, first, local);
        ExpectFrame(handler, second, local);
        ExpectFrame(handler, third, local);
        ExpectFrame(handler, fourth, local);
        handler.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Frames_cut_across_their_boundaries_by_odd_reads_are_each_delivered_whole()
    {
        var handler = CreateTestProbe();
        var (_, accepted, local) = Connect(handler);
        var frames = new[]
        {
            PaddedChannelData(0x4001, 1), StunMessage(StunMethod.Data, 33), PaddedChannelData(0x4002, 1200),
            StunMessage(StunMethod.Data, 3), PaddedChannelData(0x4003, 0), StunMessage(StunMethod.Data, 60_000),
        };

        WriteInChunks(accepted, frames.SelectMany(f => f).ToArray(), 3, 17, 5, 1, 999, 2, 4096, 11);

        foreach (var frame in frames) ExpectFrame(handler, frame, local);
        handler.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Bytes_that_are_neither_stun_nor_channel_data_close_the_connection_after_the_good_frames()
    {
        var handler = CreateTestProbe();
        var (client, accepted, local) = Connect(handler);
        Watch(client);
        var good = StunMessage(StunMethod.Data, 4);

        accepted.Send([.. good, 0xFF, 0x00, 0x00, 0x04, 1, 2, 3, 4]);

        ExpectFrame(handler, good, local);
        var lost = handler.ExpectMsg<TcpClientProtocol.Disconnected>(Generous);
        Assert.Equal(_server, lost.Server);
        Assert.Equal($"TURN server {_server} sent bytes that are neither STUN nor ChannelData (first byte 0xFF); closed the TCP connection", lost.Reason);
        ExpectTerminated(client, Generous);
        accepted.ReceiveTimeout = (int)Generous.TotalMilliseconds;
        Assert.Equal(0, accepted.Receive(new byte[16])); // the client closed its end
    }

    [Fact]
    public void The_server_closing_the_connection_is_told_as_disconnected_and_the_client_stops()
    {
        var handler = CreateTestProbe();
        var (client, accepted, _) = Connect(handler);
        Watch(client);

        accepted.Shutdown(SocketShutdown.Both);
        accepted.Close();

        var lost = handler.ExpectMsg<TcpClientProtocol.Disconnected>(Generous);
        Assert.Equal($"TURN server {_server} closed the TCP connection", lost.Reason);
        ExpectTerminated(client, Generous);
    }

    [Fact]
    public void Connection_refused_is_bind_failed_with_a_readable_reason()
    {
        var handler = CreateTestProbe();
        _listener.Stop(); // nothing listens on the port any more

        var client = Sys.ActorOf(StunTcpClient.Props(_server, handler.Ref));
        Watch(client);

        var failed = handler.ExpectMsg<UdpSocketProtocol.BindFailed>(Generous);
        Assert.Equal(_server, failed.Requested);
        Assert.Equal($"cannot reach TURN server {_server} over TCP: connection refused", failed.Reason);
        ExpectTerminated(client, Generous);
        handler.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // no Disconnected: it never was connected
    }

    [Fact]
    public void Sends_write_whole_frames_in_order_and_drop_what_would_break_the_framing()
    {
        var handler = CreateTestProbe();
        var (client, accepted, _) = Connect(handler);
        var stun = StunMessage(StunMethod.Send, 7);
        var padded = PaddedChannelData(0x4000, 5);
        var unpadded = new byte[4 + 5];
        ChannelData.Write(unpadded, 0x4000, [1, 2, 3, 4, 5], padForStream: false);

        client.Tell(new UdpSocketProtocol.Send(_server, stun));
        client.Tell(new UdpSocketProtocol.Send(_server, unpadded));                              // not a whole frame over TCP
        client.Tell(new UdpSocketProtocol.Send(new IPEndPoint(IPAddress.Loopback, 9), stun));    // not our server
        client.Tell(new UdpSocketProtocol.Send(_server, new byte[] { 0x00, 0x01, 0x00 }));       // a truncated header
        client.Tell(new UdpSocketProtocol.Send(_server, padded));

        var expected = stun.Concat(padded).ToArray();
        var got = new byte[expected.Length];
        accepted.ReceiveTimeout = (int)Generous.TotalMilliseconds;
        int filled = 0;
        while (filled < got.Length) filled += accepted.Receive(got, filled, got.Length - filled, SocketFlags.None);
        Assert.Equal(expected, got);

        client.Tell(new UdpSocketProtocol.GetStats(), TestActor);
        var stats = ExpectMsg<UdpSocketProtocol.Stats>(Generous);
        Assert.Equal(2, stats.DatagramsOut);
        Assert.Equal(expected.Length, stats.BytesOut);
        Assert.Equal(3, stats.SendErrors);
    }

    [Fact]
    public void Sends_before_the_connection_is_up_are_written_once_connected()
    {
        var handler = CreateTestProbe();
        var client = Sys.ActorOf(StunTcpClient.Props(_server, handler.Ref));
        var stun = StunMessage(StunMethod.Send, 1);
        client.Tell(new UdpSocketProtocol.Send(_server, stun)); // most likely still connecting

        using var accepted = _listener.AcceptSocket();
        handler.ExpectMsg<UdpSocketProtocol.Bound>(Generous);
        var got = new byte[stun.Length];
        accepted.ReceiveTimeout = (int)Generous.TotalMilliseconds;
        int filled = 0;
        while (filled < got.Length) filled += accepted.Receive(got, filled, got.Length - filled, SocketFlags.None);
        Assert.Equal(stun, got);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        _listener.Stop();
        foreach (var socket in _accepted) socket.Dispose();
    }
}
