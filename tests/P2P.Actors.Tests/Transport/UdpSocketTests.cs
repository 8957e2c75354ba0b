using System.Net;
using System.Net.Sockets;
using Akka.TestKit.Xunit2;
using P2P.Actors.Transport;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Transport;

/// <summary>The real-socket backend of the transport seam.</summary>
public sealed class UdpSocketTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_socket_bound_to_any_reports_the_address_each_datagram_arrived_on(bool receiveThread)
    {
        var handler = CreateTestProbe();
        var socket = Sys.ActorOf(UdpSocket.Props(new IPEndPoint(IPAddress.Any, 0), handler.Ref, receiveThread: receiveThread));
        var bound = handler.ExpectMsg<UdpSocketProtocol.Bound>(Generous).LocalEndPoint;
        Assert.Equal(IPAddress.Any, bound.Address);

        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        sender.SendTo("ping"u8, new IPEndPoint(IPAddress.Loopback, bound.Port));
        var received = handler.ExpectMsg<UdpSocketProtocol.Received>(Generous);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, bound.Port), received.Local); // not 0.0.0.0: the host candidate it came to
        Assert.Equal(sender.LocalEndPoint, received.From);

        socket.Tell(new UdpSocketProtocol.Send(received.From, "pong"u8.ToArray()), TestActor);
        var reply = new byte[16];
        sender.ReceiveTimeout = 5000;
        int n = sender.Receive(reply);
        Assert.Equal("pong"u8.ToArray(), reply[..n]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Datagrams_from_different_senders_each_name_their_own_sender(bool receiveThread)
    {
        var handler = CreateTestProbe();
        Sys.ActorOf(UdpSocket.Props(new IPEndPoint(IPAddress.Loopback, 0), handler.Ref, receiveThread: receiveThread));
        var bound = handler.ExpectMsg<UdpSocketProtocol.Bound>(Generous).LocalEndPoint;
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        a.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        b.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        foreach (var (sender, text) in new[] { (a, "a1"), (a, "a2"), (b, "b1"), (a, "a3"), (b, "b2") })
        {
            sender.SendTo(System.Text.Encoding.ASCII.GetBytes(text), bound);
            var received = handler.ExpectMsg<UdpSocketProtocol.Received>(Generous);
            Assert.Equal(text, System.Text.Encoding.ASCII.GetString(received.Payload.Span));
            Assert.Equal(sender.LocalEndPoint, received.From);
            Assert.Equal(bound, received.Local);
        }
    }

    /// <summary>A socket's own receive thread (named "udp &lt;port&gt;") blocks in the kernel; closing the socket must end it.</summary>
    [Fact]
    public void Stopping_the_socket_ends_its_receive_thread()
    {
        var handler = CreateTestProbe();
        var socket = Sys.ActorOf(UdpSocket.Props(new IPEndPoint(IPAddress.Loopback, 0), handler.Ref, receiveThread: true));
        string name = $"udp {handler.ExpectMsg<UdpSocketProtocol.Bound>(Generous).LocalEndPoint.Port}";
        AwaitAssert(() => Assert.Contains(name, ThreadNames()), Generous);
        Watch(socket);
        Sys.Stop(socket);
        ExpectTerminated(socket, Generous);
        AwaitAssert(() => Assert.DoesNotContain(name, ThreadNames()), Generous);
    }

    /// <summary>This process's thread names as Linux shows them (at most 15 characters).</summary>
    private static List<string> ThreadNames() =>
        Directory.EnumerateDirectories("/proc/self/task")
            .Select(task => { try { return File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'); } catch (IOException) { return ""; } })
            .ToList();

    [Fact]
    public void A_taken_port_is_a_bind_failure_with_a_sentence()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var handler = CreateTestProbe();
        Sys.ActorOf(UdpSocket.Props((IPEndPoint)taken.LocalEndPoint!, handler.Ref));
        Assert.Contains("already in use", handler.ExpectMsg<UdpSocketProtocol.BindFailed>(Generous).Reason);
    }
}
