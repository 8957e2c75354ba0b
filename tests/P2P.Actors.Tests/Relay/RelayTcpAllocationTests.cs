using Xunit;
using System.Net;
using System.Net.Sockets;
using System.Text;
using P2P.Protocol.Stun;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// RFC 6062 TCP allocations over real loopback sockets: a TCP control connection allocates a TCP relayed address;
/// Connect reaches a TCP peer, a permitted peer that connects to the relayed address is announced with a
/// ConnectionAttempt, and a ConnectionBind on a second client connection turns it into a raw byte pipe to the peer.
/// </summary>
public sealed class RelayTcpAllocationTests(ITestOutputHelper output) : RelayTestBase(output)
{
    private static async Task<(TurnTestClient Control, IPEndPoint Relayed)> AllocateTcp(RunningRelay relay)
    {
        var control = await TurnTestClient.Tcp(relay.Tcp, "alice", "secret");
        var reply = await control.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(6));
        Assert.True(reply.IsSuccess, $"TCP Allocate failed: {reply}");
        return (control, reply.Address(StunAttributeType.XorRelayedAddress)!);
    }

    private static Task<StunReply> Connect(TurnTestClient control, IPEndPoint peer) =>
        control.SignedRequest(StunMethod.Connect, (ref StunMessageWriter w) => w.AddAddress(StunAttributeType.XorPeerAddress, StunAddress.From(peer)));

    private static uint ConnectionIdOf(StunReply reply)
    {
        Assert.True(reply.View.TryGetUInt32(StunAttributeType.ConnectionId, out uint id), $"no CONNECTION-ID in {reply}");
        return id;
    }

    /// <summary>A second connection to the server, bound to <paramref name="connection"/>; raw bytes after the success.</summary>
    private static async Task<TurnTestClient> BindData(RunningRelay relay, uint connection)
    {
        var data = await TurnTestClient.Tcp(relay.Tcp, "alice", "secret");
        data.RawAfterSuccess = true;
        var bind = await data.SignedRequest(StunMethod.ConnectionBind, (ref StunMessageWriter w) => w.AddUInt32(StunAttributeType.ConnectionId, connection));
        Assert.True(bind.IsSuccess, $"ConnectionBind failed: {bind}");
        return data;
    }

    private static async Task<string> ReadRaw(TurnTestClient data, int length)
    {
        var received = new List<byte>();
        while (received.Count < length)
        {
            var chunk = await data.NextIncoming();
            Assert.True(chunk is not null, $"the data connection ended after {received.Count} of {length} bytes");
            received.AddRange(chunk!);
        }
        return Encoding.ASCII.GetString(received.ToArray());
    }

    private static async Task<string> ReadRaw(Socket socket, int length)
    {
        var buffer = new byte[length];
        int filled = 0;
        using var cts = new CancellationTokenSource(TurnTestClient.Timeout);
        while (filled < length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cts.Token);
            Assert.True(n > 0, $"the peer's connection ended after {filled} of {length} bytes");
            filled += n;
        }
        return Encoding.Latin1.GetString(buffer);
    }

    private static async Task<bool> ClosedWithin(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await socket.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Connect_reaches_a_tcp_peer_from_the_relayed_address_and_the_bound_connection_carries_raw_bytes_both_ways()
    {
        var relay = await StartRelay();
        var (control, relayed) = await AllocateTcp(relay);
        await using var _ = control;
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var peerEndPoint = (IPEndPoint)listener.LocalEndpoint;

        var connect = await Connect(control, peerEndPoint);
        Assert.True(connect.IsSuccess, $"Connect failed: {connect}");
        Assert.True(control.Verifies(connect));
        uint connection = ConnectionIdOf(connect);
        using var peer = await listener.AcceptSocketAsync();
        Assert.Equal(relayed, (IPEndPoint)peer.RemoteEndPoint!);

        await using var data = await BindData(relay, connection);
        await data.SendRaw(Encoding.ASCII.GetBytes("hello peer, raw"));
        Assert.Equal("hello peer, raw", await ReadRaw(peer, 15));
        await peer.SendAsync(Encoding.ASCII.GetBytes("hello client"), SocketFlags.None);
        Assert.Equal("hello client", await ReadRaw(data, 12));

        peer.Shutdown(SocketShutdown.Both);
        peer.Close();
        Assert.Null(await data.NextIncoming()); // the peer closing closes the data connection
        Assert.Single(await Allocations(relay)); // the control connection and its allocation stay
    }

    [Fact]
    public async Task A_permitted_peer_that_connects_gets_a_connection_attempt_and_its_early_bytes_arrive_after_the_bind()
    {
        var relay = await StartRelay();
        var (control, relayed) = await AllocateTcp(relay);
        await using var _ = control;
        Assert.True((await control.CreatePermission(new IPEndPoint(IPAddress.Loopback, 9))).IsSuccess);

        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(relayed);
        await peer.SendAsync(Encoding.ASCII.GetBytes("sent before the bind"), SocketFlags.None);

        var indication = await control.NextIncoming();
        Assert.NotNull(indication);
        var attempt = new StunReply(indication!);
        Assert.Equal(StunMethod.ConnectionAttempt, attempt.Method);
        Assert.Equal(StunClass.Indication, attempt.Class);
        Assert.Equal((IPEndPoint)peer.LocalEndPoint!, attempt.Address(StunAttributeType.XorPeerAddress));
        uint connection = ConnectionIdOf(attempt);

        await using var data = await BindData(relay, connection);
        Assert.Equal("sent before the bind", await ReadRaw(data, 20));
        await data.SendRaw(Encoding.ASCII.GetBytes("and back"));
        Assert.Equal("and back", await ReadRaw(peer, 8));
    }

    [Fact]
    public async Task A_connection_bind_signed_with_the_nonce_of_the_control_connection_is_accepted_at_once()
    {
        // coturn's clients sign the ConnectionBind on the new connection with the nonce they hold for the control connection.
        var relay = await StartRelay();
        var (control, _) = await AllocateTcp(relay);
        await using var _ = control;
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        uint connection = ConnectionIdOf(await Connect(control, (IPEndPoint)listener.LocalEndpoint));
        await using var data = await TurnTestClient.Tcp(relay.Tcp, "alice", "secret");
        data.Realm = control.Realm;
        data.Nonce = control.Nonce;
        var bind = await data.Transact(data.BuildSigned(StunMethod.ConnectionBind, TransactionId.NewRandom(),
            (ref StunMessageWriter w) => w.AddUInt32(StunAttributeType.ConnectionId, connection)));
        Assert.True(bind.IsSuccess, $"ConnectionBind with the control connection's nonce: {bind}");
    }

    [Fact]
    public async Task A_peer_that_does_not_read_is_disconnected_rather_than_losing_bytes_of_the_stream()
    {
        var relay = await StartRelay(Settings with { TcpWriteQueueBytes = 64 * 1024 });
        var (control, _) = await AllocateTcp(relay);
        await using var _ = control;
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        uint connection = ConnectionIdOf(await Connect(control, (IPEndPoint)listener.LocalEndpoint));
        using var peer = await listener.AcceptSocketAsync();
        peer.ReceiveBufferSize = 64 * 1024;
        await using var data = await BindData(relay, connection);

        var chunk = new byte[64 * 1024];
        try
        {
            for (int i = 0; i < 1024; i++) await data.SendRaw(chunk); // up to 64 MiB that the peer never reads
        }
        catch (SocketException)
        {
            // the relay closed the data connection while we were writing
        }
        // The peer then reads what reached it, and the end of the stream: never all of it, never a stream left open.
        Assert.InRange(await ReadToEnd(peer), 0, 1024L * chunk.Length - 1);
        Assert.Null(await data.NextIncoming()); // the data connection is closed too
    }

    [Fact]
    public async Task A_client_that_does_not_read_its_data_connection_is_disconnected_rather_than_losing_bytes_of_the_stream()
    {
        var relay = await StartRelay(Settings with { TcpWriteQueueBytes = 64 * 1024 });
        var (control, _) = await AllocateTcp(relay);
        await using var _ = control;
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        uint connection = ConnectionIdOf(await Connect(control, (IPEndPoint)listener.LocalEndpoint));
        using var peer = await listener.AcceptSocketAsync();

        // A data connection read by hand: the ConnectionBind (with the control connection's nonce), its response, then nothing.
        using var data = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
        await data.ConnectAsync(relay.Tcp);
        await data.SendAsync(control.BuildSigned(StunMethod.ConnectionBind, TransactionId.NewRandom(),
            (ref StunMessageWriter w) => w.AddUInt32(StunAttributeType.ConnectionId, connection)), SocketFlags.None);
        var header = Encoding.Latin1.GetBytes(await ReadRaw(data, StunMessage.HeaderLength));
        int length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
        var response = new StunReply([.. header, .. Encoding.Latin1.GetBytes(await ReadRaw(data, length))]);
        Assert.True(response.IsSuccess, response.ToString());

        var chunk = new byte[64 * 1024];
        try
        {
            for (int i = 0; i < 1024; i++) await peer.SendAsync(chunk, SocketFlags.None); // up to 64 MiB the client does not read yet
        }
        catch (SocketException)
        {
            // the relay closed the peer's connection while it was writing
        }
        Assert.InRange(await ReadToEnd(data), 0, 1024L * chunk.Length - 1);
    }

    [Fact]
    public async Task A_peer_without_a_permission_is_closed_and_not_announced()
    {
        var relay = await StartRelay();
        var (control, relayed) = await AllocateTcp(relay);
        await using var _ = control;
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(relayed);
        Assert.True(await ClosedWithin(peer, TimeSpan.FromSeconds(10)), "the relay kept a connection from a peer without a permission");
        Assert.Null(await control.NextIncoming(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task A_connection_that_is_not_bound_in_time_is_closed()
    {
        var relay = await StartRelay(Settings with { TcpPeerBindTimeout = TimeSpan.FromMilliseconds(500) });
        var (control, _) = await AllocateTcp(relay);
        await using var __ = control;
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var connect = await Connect(control, (IPEndPoint)listener.LocalEndpoint);
        Assert.True(connect.IsSuccess, connect.ToString());
        using var peer = await listener.AcceptSocketAsync();
        Assert.True(await ClosedWithin(peer, TimeSpan.FromSeconds(10)), "the unbound peer connection was not closed after the bind timeout");
        await using var late = await TurnTestClient.Tcp(relay.Tcp, "alice", "secret");
        var bind = await late.SignedRequest(StunMethod.ConnectionBind, (ref StunMessageWriter w) => w.AddUInt32(StunAttributeType.ConnectionId, ConnectionIdOf(connect)));
        Assert.Equal(400, bind.ErrorCode);
    }

    [Fact]
    public async Task Errors_follow_rfc_6062()
    {
        var relay = await StartRelay();
        await using var udp = Alice(relay);
        var overUdp = await udp.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(6));
        Assert.Equal(400, overUdp.ErrorCode); // §5.1: a TCP allocation needs a TCP or TLS control connection
        await AllocateOk(udp);
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var peer = (IPEndPoint)listener.LocalEndpoint;
        Assert.Equal(400, (await Connect(udp, peer)).ErrorCode); // Connect on a UDP allocation
        var bindOverUdp = await udp.SignedRequest(StunMethod.ConnectionBind, (ref StunMessageWriter w) => w.AddUInt32(StunAttributeType.ConnectionId, 1));
        Assert.Equal(400, bindOverUdp.ErrorCode); // §5.4

        var (control, _) = await AllocateTcp(relay);
        await using var _ = control;
        await using var bob = await TurnTestClient.Tcp(relay.Tcp, "bob", "hunter2");
        var evenPort = await bob.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(6);
            w.AddEvenPort(reserveNext: false);
        });
        Assert.Equal(400, evenPort.ErrorCode); // §5.1 step 3
        Assert.True((await Connect(control, peer)).IsSuccess);
        Assert.Equal(446, (await Connect(control, peer)).ErrorCode); // §5.2: one connection per peer address

        int closedPort;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        Assert.Equal(447, (await Connect(control, new IPEndPoint(IPAddress.Loopback, closedPort))).ErrorCode); // §5.2: connection failed

        await using var data = await TurnTestClient.Tcp(relay.Tcp, "alice", "secret");
        var unknown = await data.SignedRequest(StunMethod.ConnectionBind, (ref StunMessageWriter w) => w.AddUInt32(StunAttributeType.ConnectionId, 12345));
        Assert.Equal(400, unknown.ErrorCode); // §5.4: no such pending connection
    }

    /// <summary>Bytes read from <paramref name="socket"/> until its stream ends (a close or a reset), at most 30 s.</summary>
    private static async Task<long> ReadToEnd(Socket socket)
    {
        long total = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[256 * 1024];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0) total += n;
        }
        catch (SocketException)
        {
            // reset: also an end
        }
        return total;
    }
}
