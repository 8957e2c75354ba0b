using System.Net;
using System.Net.Sockets;
using Akka.Actor;

namespace P2P.Actors.Transport;

/// <summary>
/// Receives for a <see cref="UdpSocket"/> outside .NET's asynchronous socket engine: on a thread of its own with
/// blocking receives, so that the socket is never registered with the engine's epoll set (which would wake the
/// engine's thread on every datagram sent, to say the socket is writable). A receiver may handle a datagram on its
/// own thread (a relay's data path) and hands every other one to the socket's handler through
/// <see cref="UdpDelivery"/>, as the actor's own receive loop would. Real sockets only.
/// </summary>
public interface IUdpReceiver
{
    /// <summary>
    /// Starts receiving on <paramref name="socket"/>, which is bound and must only be read by the receiver from now on
    /// (sending on it from other threads is fine). Disposing the returned handle stops it; the socket actor does so
    /// before it closes the socket.
    /// </summary>
    IDisposable Start(Socket socket, IPEndPoint local, UdpDelivery delivery);
}

/// <summary>How a <see cref="IUdpReceiver"/> reaches its socket actor's handler, from any thread.</summary>
public sealed class UdpDelivery(IActorRef handler, IActorRef socketActor, IPEndPoint local)
{
    private static readonly IPEndPoint AnyV4 = new(IPAddress.Any, 0);

    public IPEndPoint Local { get; } = local;

    /// <summary>Copies the datagram into a <see cref="UdpSocketProtocol.Received"/> for the handler.</summary>
    public void Deliver(ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        var remote = EndPoints.Unmapped((IPEndPoint)AnyV4.Create(from));
        handler.Tell(new UdpSocketProtocol.Received(remote, Local, datagram.ToArray()), socketActor);
    }

    /// <summary>The receiver cannot go on: the socket actor throws, and its parent's supervision decides.</summary>
    public void Fail(Exception error) => socketActor.Tell(new UdpSocketProtocol.ReceiveLoopFailed(error));
}
