using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;

namespace P2P.Actors.Transport;

/// <summary>Messages of <see cref="TcpListener"/>.</summary>
public static class TcpListenerProtocol
{
    /// <summary>The listening socket is bound; told to the handler once at start.</summary>
    public sealed record Bound(IPEndPoint LocalEndPoint);

    /// <summary>The socket could not be bound (port in use, address not local); the actor stops itself.</summary>
    public sealed record BindFailed(IPEndPoint Requested, string Reason);

    internal sealed record Accepted(Socket Socket);

    internal sealed record AcceptLoopFailed(Exception Error);
}

/// <summary>
/// Owns one listening TCP socket (with <see cref="UdpSocket"/> and <see cref="TcpConnection"/> the only
/// places that touch sockets). Each accepted connection becomes a <see cref="TcpConnection"/> child
/// that reports to the same handler; a connection that fails is stopped, never the listener.
/// </summary>
public sealed class TcpListener : ReceiveActor
{
    private readonly IPEndPoint _requested;
    private readonly IActorRef _handler;
    private readonly int _writeQueueBytes;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stop = new();
    private Socket? _socket;
    private long _accepted;

    public TcpListener(IPEndPoint bind, IActorRef handler, int writeQueueBytes)
    {
        _requested = bind;
        _handler = handler;
        _writeQueueBytes = writeQueueBytes;
        Receive<TcpListenerProtocol.Accepted>(a =>
        {
            _accepted++;
            Context.ActorOf(TcpConnection.Props(a.Socket, _handler, _writeQueueBytes), $"conn-{_accepted}");
        });
        Receive<TcpListenerProtocol.AcceptLoopFailed>(f =>
            throw new SocketException((int)SocketError.SocketError, $"TCP accept loop on {_requested} failed: {f.Error.Message}"));
    }

    /// <param name="bind">Address and port to listen on (port 0 picks a free one).</param>
    /// <param name="handler">Gets Bound/BindFailed here, and every connection's messages (<see cref="TcpConnectionProtocol"/>).</param>
    /// <param name="writeQueueBytes">Per connection: bytes queued for a slow reader before further writes are dropped.</param>
    public static Props Props(IPEndPoint bind, IActorRef handler, int writeQueueBytes = 1 << 20) =>
        Akka.Actor.Props.Create(() => new TcpListener(bind, handler, writeQueueBytes));

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        var socket = new Socket(_requested.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (_requested.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = _requested.Address.Equals(IPAddress.IPv6Any);
            socket.Bind(_requested);
            socket.Listen(512);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            string reason = e.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? $"TCP port {_requested.Port} on {_requested.Address} is already in use"
                : $"cannot listen on TCP {_requested}: {e.Message}";
            _log.Warning("TCP bind failed: {0}", reason);
            _handler.Tell(new TcpListenerProtocol.BindFailed(_requested, reason), Self);
            Context.Stop(Self);
            return;
        }
        _socket = socket;
        var local = (IPEndPoint)socket.LocalEndPoint!;
        _handler.Tell(new TcpListenerProtocol.Bound(local), Self);
        _ = AcceptLoop(socket, Self, _stop.Token);
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        _socket?.Dispose();
        _stop.Dispose();
    }

    private static async Task AcceptLoop(Socket listener, IActorRef self, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                continue; // the client gave up before we accepted it
            }
            catch (Exception e)
            {
                if (!stop.IsCancellationRequested) self.Tell(new TcpListenerProtocol.AcceptLoopFailed(e));
                return;
            }
            self.Tell(new TcpListenerProtocol.Accepted(accepted));
        }
    }
}
