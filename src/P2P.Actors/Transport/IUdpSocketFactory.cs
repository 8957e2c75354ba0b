using System.Net;
using Akka.Actor;

namespace P2P.Actors.Transport;

/// <summary>
/// The transport seam (docs/ARCHITECTURE.md): whoever needs a UDP socket asks a factory for the <see cref="Props"/> of a
/// socket actor instead of creating a <see cref="UdpSocket"/> itself. The actor it makes speaks
/// <see cref="UdpSocketProtocol"/> (the handler gets <see cref="UdpSocketProtocol.Bound"/> or
/// <see cref="UdpSocketProtocol.BindFailed"/>, then every <see cref="UdpSocketProtocol.Received"/>; it accepts
/// <see cref="UdpSocketProtocol.Send"/> and <see cref="UdpSocketProtocol.GetStats"/>), so the same engine code
/// runs on real sockets (<see cref="RealUdpSockets"/>) or on a port of a
/// <see cref="Virtual.VirtualNetwork"/> host.
/// </summary>
public interface IUdpSocketFactory
{
    /// <param name="bind">Address and port to bind (port 0 picks a free one).</param>
    /// <param name="handler">Gets the bind outcome and every received datagram.</param>
    /// <param name="socketBufferBytes">Kernel buffer size for real sockets; 0 keeps the default (virtual sockets ignore it).</param>
    /// <param name="router">Asked first for every received datagram, on the receiving thread (real sockets; virtual ones deliver everything to the handler).</param>
    Props Create(IPEndPoint bind, IActorRef handler, int socketBufferBytes = 0, IUdpRouter? router = null);
}

/// <summary>Real kernel sockets: <see cref="UdpSocket"/> actors.</summary>
public sealed class RealUdpSockets : IUdpSocketFactory
{
    /// <summary>Sockets received by .NET's asynchronous socket engine: no thread each (a relay's thousands of allocations).</summary>
    public static readonly RealUdpSockets Instance = new(receiveThread: false);

    /// <summary>Sockets each received by a thread of its own (a peer's one socket, which carries its sessions' data): less CPU per datagram.</summary>
    public static readonly RealUdpSockets WithReceiveThreads = new(receiveThread: true);

    private readonly bool _receiveThread;

    private RealUdpSockets(bool receiveThread) => _receiveThread = receiveThread;

    public Props Create(IPEndPoint bind, IActorRef handler, int socketBufferBytes = 0, IUdpRouter? router = null) =>
        UdpSocket.Props(bind, handler, socketBufferBytes, dontFragment: true, receiveThread: _receiveThread, router: router);

    public override string ToString() => _receiveThread ? "real UDP sockets, a receive thread each" : "real UDP sockets";
}
