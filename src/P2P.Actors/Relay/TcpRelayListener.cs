using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using P2P.Actors.Transport;

namespace P2P.Actors.Relay;

/// <summary>
/// The relayed transport address of an RFC 6062 TCP allocation: a listening TCP socket whose accepted connections go to
/// the parent <see cref="Allocation"/> as <see cref="TcpRelayProtocol.PeerAccepted"/> (it checks the peer's permission).
/// It is bound with SO_REUSEADDR and SO_REUSEPORT so that the allocation's outgoing connections (Connect) can use the same
/// address as their local end (RFC 6062 §5.2).
/// </summary>
public sealed class TcpRelayListener : ReceiveActor
{
    private readonly IPEndPoint _bind;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _socket;

    public TcpRelayListener(IPEndPoint bind)
    {
        _bind = bind;
        Receive<TcpRelayProtocol.AcceptFailed>(f => throw new SocketException((int)SocketError.SocketError, $"accepting on relayed {_bind} failed: {f.Error.Message}"));
    }

    public static Props Props(IPEndPoint bind) => Akka.Actor.Props.Create(() => new TcpRelayListener(bind));

    protected override void PreStart()
    {
        var socket = new Socket(_bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            TcpSockets.ShareLocalPort(socket);
            socket.Bind(_bind);
            socket.Listen(16);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            Context.Parent.Tell(new TcpRelayProtocol.ListenFailed($"cannot listen on {_bind}: {e.SocketErrorCode}"));
            Context.Stop(Self);
            return;
        }
        _socket = socket;
        Context.Parent.Tell(new TcpRelayProtocol.Listening((IPEndPoint)socket.LocalEndPoint!));
        IActorRef owner = Context.Parent, self = Self;
        _ = TcpSockets.AcceptLoopAsync(socket, accepted => owner.Tell(new TcpRelayProtocol.PeerAccepted(accepted)), e =>
        {
            self.Tell(new TcpRelayProtocol.AcceptFailed(e));
            return false;
        }, _stop.Token);
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        _socket?.Dispose();
        _stop.Dispose();
    }
}
