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

    [Fact]
    public void A_socket_bound_to_any_reports_the_address_each_datagram_arrived_on()
    {
        var handler = CreateTestProbe();
        var socket = Sys.ActorOf(UdpSocket.Props(new IPEndPoint(IPAddress.Any, 0), handler.Ref));
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
