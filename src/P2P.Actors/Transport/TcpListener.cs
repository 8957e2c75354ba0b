using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Transport.Tls;

namespace P2P.Actors.Transport;

/// <summary>Messages of <see cref="TcpListener"/>.</summary>
public static class TcpListenerProtocol
{
    /// <summary>The listening socket is bound; told to the handler once at start.</summary>
    public sealed record Bound(IPEndPoint LocalEndPoint);

    /// <summary>The socket could not be bound (port in use, address not local); the actor stops itself.</summary>
    public sealed record BindFailed(IPEndPoint Requested, string Reason);

    /// <summary>A connection was closed as soon as it was accepted: it was over a cap of <see cref="TcpServerLimits"/>.</summary>
    public sealed record Refused(IPEndPoint Remote, string Reason);

    internal sealed record Accepted(Socket Socket);

    internal sealed record AcceptLoopFailed(Exception Error);
}

/// <summary>What a server's TCP connections may cost: each, and all of them together.</summary>
/// <param name="IdleTimeout">A connection that sends no whole message for this long, and is not held open by its handler, is closed.</param>
/// <param name="MaxConnections">Open connections in total; past it a new one is closed as soon as it is accepted.</param>
/// <param name="MaxConnectionsPerIp">Open connections from one client address; past it a new one from there is closed at once.</param>
public sealed record TcpServerLimits(TimeSpan IdleTimeout, int MaxConnections, int MaxConnectionsPerIp);

/// <summary>
/// Owns one listening TCP socket (with <see cref="UdpSocket"/> and <see cref="TcpConnection"/> the only
/// places that touch sockets). Each accepted connection becomes a <see cref="TcpConnection"/> child
/// that reports to the same handler; a connection that fails is stopped, never the listener. Connections
/// are counted, in total and per client address, against <see cref="TcpServerLimits"/>: one over a cap is
/// closed at once and reported to the handler as <see cref="TcpListenerProtocol.Refused"/>. With
/// <see cref="TlsServerSettings"/> every connection is a TLS server (TURN over TLS), counted against the same caps
/// from the moment it is accepted, handshake included.
/// </summary>
public sealed class TcpListener : ReceiveActor
{
    private readonly IPEndPoint _requested;
    private readonly IActorRef _handler;
    private readonly int _writeQueueBytes;
    private readonly TcpServerLimits _limits;
    private readonly TlsServerSettings? _tls;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<IActorRef, IPAddress> _connections = [];
    private readonly Dictionary<IPAddress, int> _perIp = [];
    private Socket? _socket;
    private long _accepted;

    public TcpListener(IPEndPoint bind, IActorRef handler, int writeQueueBytes, TcpServerLimits limits, TlsServerSettings? tls = null)
    {
        _tls = tls;
        _requested = bind;
        _handler = handler;
        _writeQueueBytes = writeQueueBytes;
        _limits = limits;
        Receive<TcpListenerProtocol.Accepted>(a => OnAccepted(a.Socket));
        Receive<Terminated>(t =>
        {
            if (!_connections.Remove(t.ActorRef, out var ip)) return;
            if (_perIp[ip] <= 1) _perIp.Remove(ip);
            else _perIp[ip]--;
        });
        Receive<TcpListenerProtocol.AcceptLoopFailed>(f =>
            throw new SocketException((int)SocketError.SocketError, $"TCP accept loop on {_requested} failed: {f.Error.Message}"));
    }

    /// <param name="bind">Address and port to listen on (port 0 picks a free one).</param>
    /// <param name="handler">Gets Bound/BindFailed/Refused here, and every connection's messages (<see cref="TcpConnectionProtocol"/>).</param>
    /// <param name="writeQueueBytes">Per connection: bytes queued for a slow reader before further writes are dropped.</param>
    /// <param name="limits">Idle timeout and connection caps.</param>
    /// <param name="tls">Speak TLS as the server on every connection; null for plain TCP.</param>
    public static Props Props(IPEndPoint bind, IActorRef handler, int writeQueueBytes, TcpServerLimits limits, TlsServerSettings? tls = null) =>
        Akka.Actor.Props.Create(() => new TcpListener(bind, handler, writeQueueBytes, limits, tls));

    private void OnAccepted(Socket socket)
    {
        IPEndPoint remote;
        try { remote = EndPoints.Unmapped((IPEndPoint)socket.RemoteEndPoint!); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            socket.Dispose(); // gone before it was taken up
            return;
        }
        int fromThere = _perIp.GetValueOrDefault(remote.Address);
        string? refused = _connections.Count >= _limits.MaxConnections ? $"{_connections.Count} TCP connections are open, the most allowed"
            : fromThere >= _limits.MaxConnectionsPerIp ? $"{fromThere} TCP connections from {remote.Address} are open, the most allowed from one address"
            : null;
        if (refused is not null)
        {
            socket.Dispose();
            _handler.Tell(new TcpListenerProtocol.Refused(remote, refused), Self);
            return;
        }
        _accepted++;
        var connection = Context.ActorOf(TcpConnection.Props(socket, _handler, _writeQueueBytes, _limits.IdleTimeout, _tls), $"conn-{_accepted}");
        Context.Watch(connection);
        _connections[connection] = remote.Address;
        _perIp[remote.Address] = fromThere + 1;
    }

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
        var self = Self;
        _ = TcpSockets.AcceptLoopAsync(socket, accepted => self.Tell(new TcpListenerProtocol.Accepted(accepted)), e =>
        {
            self.Tell(new TcpListenerProtocol.AcceptLoopFailed(e));
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
