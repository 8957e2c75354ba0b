using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Transport;

namespace P2P.Actors.Relay;

/// <summary>
/// One TCP connection between an RFC 6062 TCP allocation and a peer, child of its <see cref="Allocation"/>. States:
/// <c>Connecting</c> (a Connect, RFC 6062 §5.2: from the relayed address, within the connect timeout; the parent hears
/// <see cref="TcpRelayProtocol.PeerConnected"/> or <see cref="TcpRelayProtocol.PeerConnectFailed"/>), <c>AwaitingBind</c>
/// (connected or accepted, §5.3: nothing is read from the peer, so its bytes wait in the kernel until the client's data
/// connection is bound; past the bind timeout the connection is closed), and <c>Relaying</c> (after
/// <see cref="TcpRelayProtocol.Bind"/>: the peer's bytes go to the client's data <see cref="TcpConnection"/> as they
/// arrive, the client's come as <see cref="TcpRelayProtocol.FromClient"/> and are written in order). Either side
/// closing ends it; its end closes the data connection too.
/// </summary>
public sealed class TcpPeerConnection : ReceiveActor, IWithTimers
{
    private const int ReadBufferBytes = 65_536;

    private readonly uint _id;
    private readonly IPEndPoint _peer;
    private readonly IPEndPoint _relayed;
    private readonly RelaySettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<ReadOnlyMemory<byte>> _writes = new();
    private Socket _socket;
    private IActorRef? _client;
    private bool _writing;
    private int _queuedBytes;
    private bool _connecting;

    public ITimerScheduler Timers { get; set; } = null!;

    public TcpPeerConnection(uint id, IPEndPoint peer, IPEndPoint relayed, Socket? accepted, RelaySettings settings)
    {
        _id = id;
        _peer = peer;
        _relayed = relayed;
        _settings = settings;
        _connecting = accepted is null;
        _socket = accepted ?? new Socket(peer.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (_connecting) Connecting();
        else AwaitingBind();
    }

    /// <summary>A Connect to <paramref name="peer"/> from the allocation's <paramref name="relayed"/> address.</summary>
    public static Props Connect(uint id, IPEndPoint peer, IPEndPoint relayed, RelaySettings settings) =>
        Akka.Actor.Props.Create(() => new TcpPeerConnection(id, peer, relayed, null, settings));

    /// <summary>A connection a peer made to the relayed address.</summary>
    public static Props Accepted(uint id, Socket socket, IPEndPoint relayed, RelaySettings settings) =>
        Akka.Actor.Props.Create(() => new TcpPeerConnection(id, EndPoints.Unmapped((IPEndPoint)socket.RemoteEndPoint!), relayed, socket, settings));

    protected override void PreStart()
    {
        _socket.NoDelay = true;
        if (!_connecting)
        {
            Timers.StartSingleTimer(typeof(TcpRelayProtocol.BindTimedOut), new TcpRelayProtocol.BindTimedOut(), _settings.TcpPeerBindTimeout);
            return;
        }
        try
        {
            TcpSockets.ShareLocalPort(_socket);
            _socket.Bind(new IPEndPoint(_relayed.Address, _relayed.Port));
        }
        catch (SocketException e)
        {
            // The relayed port cannot be shared here: the connection still works, from another port of the relay's address.
            _log.Debug("Connect to {0}: cannot bind the relayed address {1} ({2}); using another port", _peer, _relayed, e.SocketErrorCode);
            _socket.Dispose();
            _socket = new Socket(_peer.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _socket.Bind(new IPEndPoint(_relayed.Address, 0));
        }
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(_settings.TcpPeerConnectTimeout);
        var connectTimeout = _settings.TcpPeerConnectTimeout;
        ConnectAsync(_socket, _peer, timeout).PipeTo(Self,
            success: () => new TcpRelayProtocol.ConnectDone(),
            failure: e => new TcpRelayProtocol.PeerConnectFailed(_id, e.GetBaseException() switch
            {
                OperationCanceledException => $"no connection within {connectTimeout.TotalSeconds:0.#} s",
                SocketException s => s.SocketErrorCode.ToString(),
                var other => other.Message,
            }));
    }

    private static async Task ConnectAsync(Socket socket, IPEndPoint peer, CancellationTokenSource timeout)
    {
        using (timeout) await socket.ConnectAsync(peer, timeout.Token).ConfigureAwait(false);
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
        _stop.Dispose();
        _client?.Tell(new TcpConnectionProtocol.Close());
    }

    // ------------------------------------------------------------------ states

    private void Connecting()
    {
        Receive<TcpRelayProtocol.ConnectDone>(_ =>
        {
            _connecting = false;
            Context.Parent.Tell(new TcpRelayProtocol.PeerConnected(_id));
            Timers.StartSingleTimer(typeof(TcpRelayProtocol.BindTimedOut), new TcpRelayProtocol.BindTimedOut(), _settings.TcpPeerBindTimeout);
            Become(AwaitingBind);
        });
        Receive<TcpRelayProtocol.PeerConnectFailed>(f =>
        {
            Context.Parent.Tell(f);
            Context.Stop(Self);
        });
    }

    private void AwaitingBind()
    {
        Receive<TcpRelayProtocol.Bind>(b =>
        {
            Timers.Cancel(typeof(TcpRelayProtocol.BindTimedOut));
            _client = b.DataConnection;
            _ = ReadLoop(_socket, b.DataConnection, Self, _stop.Token);
            Become(Relaying);
        });
        Receive<TcpRelayProtocol.BindTimedOut>(_ =>
        {
            _log.Info("TCP peer connection {0:x8} with {1} got no ConnectionBind within {2} s; closed", _id, _peer, _settings.TcpPeerBindTimeout.TotalSeconds);
            Context.Stop(Self);
        });
        Receive<TcpRelayProtocol.ClientClosed>(_ => Context.Stop(Self));
    }

    private void Relaying()
    {
        Receive<TcpRelayProtocol.FromClient>(f =>
        {
            if (_queuedBytes + f.Bytes.Length > _settings.TcpWriteQueueBytes)
            {
                // A byte stream cannot drop bytes: a peer that reads too slowly loses its connection.
                _log.Info("TCP peer connection {0:x8} with {1}: the peer reads too slowly ({2} bytes queued); closed", _id, _peer, _queuedBytes);
                Context.Stop(Self);
                return;
            }
            _writes.Enqueue(f.Bytes);
            _queuedBytes += f.Bytes.Length;
            WriteNext();
        });
        Receive<TcpRelayProtocol.WriteCompleted>(w =>
        {
            _writing = false;
            _queuedBytes -= w.Bytes;
            WriteNext();
        });
        Receive<TcpRelayProtocol.PeerEnded>(e =>
        {
            _log.Debug("TCP peer connection {0:x8} with {1} ended: {2}", _id, _peer, e.Reason);
            Context.Stop(Self);
        });
        Receive<TcpRelayProtocol.ClientClosed>(_ => Context.Stop(Self));
    }

    private void WriteNext()
    {
        if (_writing || _writes.Count == 0) return;
        _writing = true;
        var bytes = _writes.Dequeue();
        TcpSockets.WriteAllAsync(_socket, bytes, _stop.Token).PipeTo(Self,
            success: () => new TcpRelayProtocol.WriteCompleted(bytes.Length),
            failure: e => new TcpRelayProtocol.PeerEnded($"send failed: {e.GetBaseException().Message}"));
    }

    /// <summary>The peer's bytes, as they arrive, to the client's data connection (which writes them raw).</summary>
    private static async Task ReadLoop(Socket socket, IActorRef client, IActorRef self, CancellationToken stop)
    {
        var buffer = new byte[ReadBufferBytes];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, stop).ConfigureAwait(false);
                if (n == 0)
                {
                    self.Tell(new TcpRelayProtocol.PeerEnded("closed by peer"));
                    return;
                }
                client.Tell(new TcpConnectionProtocol.Send(buffer.AsSpan(0, n).ToArray()), self);
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
        catch (SocketException e)
        {
            self.Tell(new TcpRelayProtocol.PeerEnded($"receive failed: {e.SocketErrorCode}"));
        }
    }
}
