using System.Net;
using System.Net.Sockets;
using P2P.Actors.Transport;
using Xunit;

namespace P2P.Actors.Tests.Transport;

/// <summary>
/// The Linux system calls under the relay's fast data path (<see cref="LinuxUdp"/>, <see cref="DatagramBatch"/>), on
/// real loopback sockets: many datagrams per recvmmsg and sendmmsg, senders as SocketAddress values that equal .NET's
/// own, a refused datagram that does not stop the rest of its batch, and epoll keys.
/// </summary>
public sealed class LinuxUdpTests : IDisposable
{
    private readonly List<Socket> _sockets = [];

    public void Dispose()
    {
        foreach (var socket in _sockets) socket.Dispose();
    }

    private Socket Bound(IPAddress address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _sockets.Add(socket);
        socket.Bind(new IPEndPoint(address, 0));
        return socket;
    }

    private static int Fd(Socket socket) => LinuxUdp.Descriptor(socket.SafeHandle);

    private static IPEndPoint EndPointOf(Socket socket) => (IPEndPoint)socket.LocalEndPoint!;

    [Fact]
    public void The_calls_are_found_on_this_machine()
    {
        Assert.Equal(OperatingSystem.IsLinux(), LinuxUdp.IsSupported);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public void One_call_takes_every_waiting_datagram_with_its_sender_and_room_for_a_header(string ip)
    {
        var address = IPAddress.Parse(ip);
        var receiver = Bound(address);
        var first = Bound(address);
        var second = Bound(address);
        for (int i = 0; i < 5; i++)
            (i % 2 == 0 ? first : second).SendTo(new byte[] { (byte)i, 1, 2, (byte)(10 * i) }, EndPointOf(receiver));
        Assert.Equal(1, LinuxUdp.WaitReadable(Fd(receiver), 1_000));
        Thread.Sleep(50); // loopback delivers at once; this only lets the last of the five land too

        var batch = new DatagramBatch(8, 2_048, 4);
        int received = batch.Receive(Fd(receiver), 0, 8, out int error);

        Assert.Equal(0, error);
        Assert.Equal(5, received);
        var v4 = new SocketAddress(AddressFamily.InterNetwork);
        var v6 = new SocketAddress(AddressFamily.InterNetworkV6);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(new byte[] { (byte)i, 1, 2, (byte)(10 * i) }, batch.Payload(i).ToArray());
            var expected = EndPointOf(i % 2 == 0 ? first : second).Serialize();
            Assert.Equal(expected, batch.SenderOf(i, v4, v6)); // equal as dictionary keys, as the relay's routes use them
            Assert.Equal(expected.GetHashCode(), batch.SenderOf(i, v4, v6).GetHashCode());
            Assert.Equal(8, batch.WithHeadroom(i).Length);
            Assert.Equal(batch.Payload(i).ToArray(), batch.WithHeadroom(i)[4..].ToArray());
        }
    }

    [Fact]
    public void Nothing_waiting_returns_at_once_and_waiting_times_out()
    {
        var receiver = Bound(IPAddress.Loopback);
        var batch = new DatagramBatch(4, 2_048, 0);
        Assert.Equal(0, batch.Receive(Fd(receiver), 0, 4, out int error));
        Assert.Equal(0, error);
        Assert.Equal(0, LinuxUdp.WaitReadable(Fd(receiver), 20));
    }

    [Fact]
    public void A_batch_goes_out_in_order_to_each_destination_and_a_refused_datagram_loses_only_itself()
    {
        var sender = Bound(IPAddress.Loopback);
        var a = Bound(IPAddress.Loopback);
        var b = Bound(IPAddress.Loopback);
        var batch = new DatagramBatch(4, 64, 0);
        batch.SetOutgoing(0, "to-a-1"u8, EndPointOf(a).Serialize());
        // An IPv6 destination on an IPv4 socket: the kernel refuses this one datagram.
        batch.SetOutgoing(1, "nowhere"u8, new IPEndPoint(IPAddress.IPv6Loopback, 9).Serialize());
        batch.SetOutgoing(2, "to-b"u8, EndPointOf(b).Serialize());
        batch.SetOutgoing(3, "to-a-2"u8, EndPointOf(a).Serialize());
        Span<int> refused = stackalloc int[4];

        int failed = batch.Send(Fd(sender), 4, refused);

        Assert.Equal(1, failed);
        Assert.Equal(1, refused[0]);
        Assert.Equal("to-a-1", Receive(a));
        Assert.Equal("to-a-2", Receive(a));
        Assert.Equal("to-b", Receive(b));
    }

    [Fact]
    public void Epoll_reports_the_keys_of_the_readable_sockets_only()
    {
        var quiet = Bound(IPAddress.Loopback);
        var busy = Bound(IPAddress.Loopback);
        var sender = Bound(IPAddress.Loopback);
        using var epoll = new LinuxUdp.Epoll();
        Assert.True(epoll.Add(Fd(quiet), 7, out _));
        Assert.True(epoll.Add(Fd(busy), 42, out _));
        var events = LinuxUdp.Epoll.NewEvents(4);
        Assert.Equal(0, epoll.Wait(events, 20));

        sender.SendTo("x"u8, EndPointOf(busy));
        Assert.Equal(1, epoll.Wait(events, 1_000));
        Assert.Equal(42UL, LinuxUdp.Epoll.KeyOf(events, 0));

        epoll.Remove(Fd(busy));
        Assert.Equal(0, epoll.Wait(events, 20)); // still readable, but no longer watched
    }

    private static string Receive(Socket socket)
    {
        socket.ReceiveTimeout = 1_000;
        var buffer = new byte[64];
        int length = socket.Receive(buffer);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, length);
    }
}
