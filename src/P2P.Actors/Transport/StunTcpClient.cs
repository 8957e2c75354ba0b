using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Transport.Tls;
using P2P.Protocol.Turn;

namespace P2P.Actors.Transport;

/// <summary>Messages of <see cref="StunTcpClient"/> beyond the <see cref="UdpSocketProtocol"/> it also speaks.</summary>
public static class TcpClientProtocol
{
    /// <summary>
    /// The connection to <paramref name="Server"/> is gone after it had been established (closed by the server,
    /// reset, a failed write, or bytes that cannot be framed); <paramref name="Reason"/> is a sentence for the
    /// user. Told to the handler once, after every frame that arrived before, as the actor stops (not when it is
    /// stopped by someone else: that close is theirs).
    /// </summary>
    public sealed record Disconnected(IPEndPoint Server, string Reason);

    internal sealed record ConnectSucceeded(Socket Socket);

    internal sealed record ConnectFailed(string Cause);

    internal sealed record ConnectTimedOut
    {
        public static readonly ConnectTimedOut Instance = new();
    }

    internal sealed record TlsEstablished(SslStream Stream);

    internal sealed record HandshakeFailed(string Cause);

    internal sealed record HandshakeTimedOut
    {
        public static readonly HandshakeTimedOut Instance = new();
    }

    internal sealed record ReadEnded(string Reason);

    internal sealed record WriteCompleted;

    internal sealed record WriteFailed(string Cause);
}

/// <summary>
/// The client end of a TCP connection to a STUN/TURN server (RFC 8656 §3.1, RFC 8489 §6.2.2): connects
/// (asynchronously, the outcome piped back as a message), splits the inbound byte stream into whole STUN
/// messages and 4-byte padded ChannelData messages (RFC 8656 §12.5) with <see cref="StreamFraming"/>, and
/// writes whole frames. Toward its handler it speaks <see cref="UdpSocketProtocol"/>, so a client of the
/// server (the <c>TurnClient</c>) sends and receives the same messages as over a UDP socket:
/// <list type="bullet">
/// <item><see cref="UdpSocketProtocol.Bound"/> (the connection's local end) once connected, or
/// <see cref="UdpSocketProtocol.BindFailed"/> ("cannot reach TURN server … over TCP: connection refused") and stop;</item>
/// <item>one <see cref="UdpSocketProtocol.Received"/> per whole frame, <c>From</c> the server;</item>
/// <item><see cref="TcpClientProtocol.Disconnected"/> when an established connection is lost, then stop.</item>
/// </list>
/// It accepts <see cref="UdpSocketProtocol.Send"/> (<c>To</c> must be the server) and
/// <see cref="UdpSocketProtocol.GetStats"/>; stopping the actor closes the connection.
/// <para>
/// Padding: this actor does not pad or re-frame. Every <see cref="UdpSocketProtocol.Send"/> must be exactly one
/// whole frame as it goes on the stream, ChannelData already padded to a multiple of four bytes (the sender
/// knows the message kind and writes the padding when it builds the message, without a second copy). A payload
/// that is not one whole frame is dropped, counted as a send error and logged: written, it would desynchronise
/// the server's framing of everything after it.
/// </para>
/// <para>
/// Over TLS (RFC 8656 §3.1, RFC 8489 §6.2.3; <see cref="TlsClientOptions"/>): once connected it runs the TLS handshake
/// as a client (TLS 1.2/1.3, SNI, ALPN "stun.turn" of RFC 7443, the server certificate checked against the system
/// store, given CAs or a pinned fingerprint) and only then reports <see cref="UdpSocketProtocol.Bound"/>; the frames
/// inside are exactly those over TCP. The sentences say which step failed: "TCP connect to the TURN server … failed:
/// connection refused", "TLS handshake with the TURN server … failed: certificate not trusted; …".
/// </para>
/// Writes are queued and written one at a time; past <c>writeQueueBytes</c> further sends are dropped and
/// counted (what goes over it is datagram-like, a stalled connection must not grow memory). Nothing from the
/// network throws: unframeable input ends the connection with a logged reason, as a stream cannot be resynchronised.
/// </summary>
public sealed class StunTcpClient : ReceiveActor, IWithTimers
{
    /// <summary>Room for two of the largest frames (a STUN message of 20 + 65,532 bytes, ChannelData of 4 + 65,536).</summary>
    private const int ReadBufferBytes = 2 * 65_540 + 64;

    private readonly IPEndPoint _server;
    private readonly IActorRef _handler;
    private readonly int _writeQueueLimit;
    private readonly TimeSpan _connectTimeout;
    private readonly string _role;
    private readonly TlsClientOptions? _tlsOptions;
    private readonly TimeSpan _handshakeTimeout;
    private readonly string _transport; // "TCP" or "TLS", in sentences
    private readonly IPEndPoint? _localBind;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<ReadOnlyMemory<byte>> _writes = new();
    private Socket? _connecting; // until the connect ends: disposed on stop, which aborts it
    private Socket? _socket;
    private SslStream? _tls; // over TLS, once the handshake is done: what is read and written
    private IPEndPoint? _local;
    private int _queuedBytes;
    private bool _writing;
    private string? _disconnectReason;
    private long _framesIn, _bytesIn, _framesOut, _bytesOut, _sendErrors;

    public ITimerScheduler Timers { get; set; } = null!;

    public StunTcpClient(IPEndPoint server, IActorRef handler, int writeQueueBytes, TimeSpan connectTimeout, string role,
        TlsClientOptions? tls = null, TimeSpan handshakeTimeout = default, IPEndPoint? localBind = null)
    {
        _localBind = localBind;
        _server = EndPoints.Unmapped(server);
        _handler = handler;
        _writeQueueLimit = writeQueueBytes;
        _connectTimeout = connectTimeout;
        _role = role;
        _tlsOptions = tls;
        _handshakeTimeout = handshakeTimeout > TimeSpan.Zero ? handshakeTimeout : connectTimeout;
        _transport = tls is null ? "TCP" : "TLS";
        Connecting();
    }

    /// <param name="server">The server's TCP transport address.</param>
    /// <param name="handler">Gets Bound/BindFailed, every Received frame and Disconnected.</param>
    /// <param name="writeQueueBytes">Bytes queued for writing (also while connecting) before further sends are dropped.</param>
    /// <param name="connectTimeout">Give up connecting after this long (a silent network would otherwise take the kernel's minutes).</param>
    /// <param name="role">What the server is, for the sentences told to the handler ("TURN server", "STUN server").</param>
    /// <param name="tls">Null: plain TCP. Else TLS over the connection, the server checked as these options say.</param>
    /// <param name="handshakeTimeout">Over TLS: give up the handshake after this long (default: <paramref name="connectTimeout"/>).</param>
    /// <param name="localBind">Connect from this address and port, shared with a listener on it (SO_REUSEADDR/SO_REUSEPORT):
    /// an ICE-TCP simultaneous-open port learning its NAT mapping (RFC 6544 §5.2). Null: any port.</param>
    public static Props Props(IPEndPoint server, IActorRef handler, int writeQueueBytes = 1 << 20, TimeSpan? connectTimeout = null, string role = "TURN server",
        TlsClientOptions? tls = null, TimeSpan? handshakeTimeout = null, IPEndPoint? localBind = null)
    {
        var timeout = connectTimeout ?? TimeSpan.FromSeconds(10);
        var handshake = handshakeTimeout ?? timeout;
        return Akka.Actor.Props.Create(() => new StunTcpClient(server, handler, writeQueueBytes, timeout, role, tls, handshake, localBind));
    }

    protected override void PreStart()
    {
        Timers.StartSingleTimer(TcpClientProtocol.ConnectTimedOut.Instance, TcpClientProtocol.ConnectTimedOut.Instance, _connectTimeout);
        var socket = new Socket(_server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (_localBind is not null)
        {
            try
            {
                TcpSockets.ShareLocalPort(socket);
                socket.Bind(_localBind);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                GiveUpConnecting($"cannot bind {_localBind}: {e.Message}");
                return;
            }
        }
        _connecting = socket;
        var self = Self;
        ConnectAsync(socket, _server, _stop.Token).PipeTo(self,
            success: () => new TcpClientProtocol.ConnectSucceeded(socket),
            failure: e =>
            {
                socket.Dispose();
                return new TcpClientProtocol.ConnectFailed(DescribeConnectError(e));
            });
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        _connecting?.Dispose();
        _tls?.Dispose();
        if (_socket is not null)
        {
            try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
            _socket.Dispose();
        }
        _stop.Dispose();
        if (_disconnectReason is not null) _handler.Tell(new TcpClientProtocol.Disconnected(_server, _disconnectReason), Self);
    }

    // ---- states ----------------------------------------------------------------------------------

    private void Connecting()
    {
        Receive<TcpClientProtocol.ConnectSucceeded>(OnConnected);
        Receive<TcpClientProtocol.ConnectFailed>(f =>
        {
            _connecting = null; // disposed by the failed connect
            GiveUpConnecting(f.Cause);
        });
        Receive<TcpClientProtocol.ConnectTimedOut>(_ => GiveUpConnecting($"no answer within {_connectTimeout.TotalSeconds:0.#} s"));
        Receive<UdpSocketProtocol.Send>(OnSend);
        Receive<UdpSocketProtocol.GetStats>(_ => ReplyStats());
    }

    /// <summary>Over TLS: connected, the handshake under way (sends wait in the queue).</summary>
    private void Handshaking()
    {
        Receive<TcpClientProtocol.TlsEstablished>(t => Open(_connecting!, t.Stream));
        Receive<TcpClientProtocol.HandshakeFailed>(f => GiveUpHandshake(f.Cause));
        Receive<TcpClientProtocol.HandshakeTimedOut>(_ => GiveUpHandshake($"no answer within {_handshakeTimeout.TotalSeconds:0.#} s"));
        Receive<TcpClientProtocol.ConnectTimedOut>(_ => { });
        Receive<UdpSocketProtocol.Send>(OnSend);
        Receive<UdpSocketProtocol.GetStats>(_ => ReplyStats());
    }

    private void Connected()
    {
        Receive<UdpSocketProtocol.Send>(OnSend);
        Receive<UdpSocketProtocol.GetStats>(_ => ReplyStats());
        Receive<TcpClientProtocol.WriteCompleted>(_ =>
        {
            _writing = false;
            WriteNext();
        });
        Receive<TcpClientProtocol.WriteFailed>(f => Disconnect($"writing to {_role} {_server} over {_transport} failed: {f.Cause}"));
        Receive<TcpClientProtocol.ReadEnded>(r => Disconnect(r.Reason));
        Receive<TcpClientProtocol.ConnectTimedOut>(_ => { });
        Receive<TcpClientProtocol.HandshakeTimedOut>(_ => { });
    }

    private void OnConnected(TcpClientProtocol.ConnectSucceeded connected)
    {
        Timers.Cancel(TcpClientProtocol.ConnectTimedOut.Instance);
        if (_tlsOptions is null)
        {
            _connecting = null;
            Open(connected.Socket, null);
            return;
        }
        _connecting = connected.Socket; // disposed on stop, which aborts the handshake
        _log.Debug("TCP {0} -> {1} {2}: connected, TLS handshake", connected.Socket.LocalEndPoint, _role, _server);
        Become(Handshaking);
        Timers.StartSingleTimer(TcpClientProtocol.HandshakeTimedOut.Instance, TcpClientProtocol.HandshakeTimedOut.Instance, _handshakeTimeout);
        var verdict = new CertificateVerdict();
        var stream = new SslStream(new NetworkStream(connected.Socket, ownsSocket: false), leaveInnerStreamOpen: false);
        stream.AuthenticateAsClientAsync(_tlsOptions.ToSslOptions(verdict), _stop.Token).PipeTo(Self,
            success: () => new TcpClientProtocol.TlsEstablished(stream),
            failure: e =>
            {
                stream.Dispose();
                return new TcpClientProtocol.HandshakeFailed(DescribeHandshakeError(e, verdict));
            });
    }

    private void Open(Socket socket, SslStream? tls)
    {
        Timers.Cancel(TcpClientProtocol.HandshakeTimedOut.Instance);
        _connecting = null;
        _socket = socket;
        _tls = tls;
        _local = EndPoints.Unmapped((IPEndPoint)_socket.LocalEndPoint!);
        if (tls is null) _log.Debug("TCP {0} -> {1} {2}: connected", _local, _role, _server);
        else
            _log.Info("TLS {0} -> {1} {2}: {3}", _local, _role, _server,
                $"{tls.SslProtocol} {tls.NegotiatedCipherSuite}, ALPN '{tls.NegotiatedApplicationProtocol}', certificate {tls.RemoteCertificate?.Subject}");
        Become(Connected);
        _handler.Tell(new UdpSocketProtocol.Bound(_local), Self);
        _ = ReadLoop(_socket, tls, _server, _local, _handler, Self, _stop.Token);
        WriteNext();
    }

    private void GiveUpConnecting(string cause) =>
        GiveUp(_tlsOptions is null ? $"cannot reach {_role} {_server} over TCP: {cause}" : $"TCP connect to the {_role} {_server} failed: {cause}");

    private void GiveUpHandshake(string cause) => GiveUp($"TLS handshake with the {_role} {_server} failed: {cause}");

    private void GiveUp(string reason)
    {
        // a connection from a given port is a probe for an optional candidate: its owner says once what failed
        if (_localBind is null) _log.Warning("{0}", reason);
        else _log.Debug("{0}", reason);
        _handler.Tell(new UdpSocketProtocol.BindFailed(_server, reason), Self);
        Context.Stop(Self);
    }

    private void Disconnect(string reason)
    {
        if (_disconnectReason is not null) return;
        _log.Info("{0} {1} -> {2} {3}: {4}", _transport, _local, _role, _server, reason);
        _disconnectReason = reason;
        Context.Stop(Self);
    }

    // ---- writing ---------------------------------------------------------------------------------

    private void OnSend(UdpSocketProtocol.Send send)
    {
        if (!EndPoints.Unmapped(send.To).Equals(_server))
        {
            _sendErrors++;
            _log.Warning("Dropped a send to {0}: this TCP connection only reaches {1} {2}", send.To, _role, _server);
            return;
        }
        var payload = send.Payload;
        if (StreamFraming.TryGetFrameLength(payload.Span, out int frameLength) != StreamFraming.FrameStatus.Complete || frameLength != payload.Length)
        {
            _sendErrors++;
            _log.Warning("Dropped a send of {0} bytes to {1} {2}: not exactly one STUN message or 4-byte padded ChannelData (RFC 8656 §12.5)",
                payload.Length, _role, _server);
            return;
        }
        if (_queuedBytes + payload.Length > _writeQueueLimit)
        {
            _sendErrors++;
            if (_sendErrors == 1 || _sendErrors % 1000 == 0)
                _log.Warning("{0} to {1} {2}: writes are not draining, {3} sends dropped so far", _transport, _role, _server, _sendErrors);
            return;
        }
        _writes.Enqueue(payload);
        _queuedBytes += payload.Length;
        WriteNext();
    }

    private void WriteNext()
    {
        if (_socket is null || _writing || _writes.Count == 0 || _disconnectReason is not null) return;
        var payload = _writes.Dequeue();
        _queuedBytes -= payload.Length;
        _writing = true;
        _framesOut++;
        _bytesOut += payload.Length;
        var written = _tls is not null ? _tls.WriteAsync(payload, _stop.Token).AsTask() : TcpSockets.WriteAllAsync(_socket, payload, _stop.Token);
        written.PipeTo(Self,
            success: () => new TcpClientProtocol.WriteCompleted(),
            failure: e => new TcpClientProtocol.WriteFailed(Describe(e)));
    }

    // ---- reading ---------------------------------------------------------------------------------

    /// <summary>
    /// Reads until the stream ends (from the TLS stream over TLS), telling the handler each whole frame as soon as it is
    /// complete (in stream order, before the <see cref="TcpClientProtocol.ReadEnded"/> that ends the connection), whatever
    /// the segmentation of the reads.
    /// </summary>
    private Task ReadLoop(Socket socket, SslStream? tls, IPEndPoint server, IPEndPoint local, IActorRef handler, IActorRef self, CancellationToken stop)
    {
        string role = _role, transport = _transport;
        void OnBytes(int n) => Interlocked.Add(ref _bytesIn, n);
        void OnFrame(byte[] frame)
        {
            Interlocked.Increment(ref _framesIn);
            handler.Tell(new UdpSocketProtocol.Received(server, local, frame), self);
        }
        void OnEnd(StreamEnd end, Exception? error, byte first) => self.Tell(new TcpClientProtocol.ReadEnded(end switch
        {
            StreamEnd.Closed => $"{role} {server} closed the {transport} connection",
            StreamEnd.ClosedMidFrame => $"{role} {server} closed the {transport} connection in the middle of a message",
            StreamEnd.Reset => $"{role} {server} reset the {transport} connection",
            StreamEnd.Unframeable => $"{role} {server} sent bytes that are neither STUN nor ChannelData (first byte 0x{first:X2}); closed the {transport} connection",
            _ => $"reading from {role} {server} over {transport} failed: {Describe(error!)}",
        }));
        return tls is null
            ? StreamFrameReader.RunAsync(socket, ReadBufferBytes, StreamFraming.TryGetFrameLength, OnBytes, OnFrame, OnEnd, stop)
            : StreamFrameReader.RunAsync(tls, ReadBufferBytes, StreamFraming.TryGetFrameLength, OnBytes, OnFrame, OnEnd, stop);
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static Task ConnectAsync(Socket socket, IPEndPoint server, CancellationToken stop) => socket.ConnectAsync(server, stop).AsTask();

    private static string DescribeConnectError(Exception e) => e.GetBaseException() switch
    {
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused",
        SocketException { SocketErrorCode: SocketError.TimedOut } => "connection timed out",
        SocketException { SocketErrorCode: SocketError.HostUnreachable } => "host unreachable",
        SocketException { SocketErrorCode: SocketError.NetworkUnreachable } => "network unreachable",
        SocketException { SocketErrorCode: SocketError.AddressNotAvailable } => "address not available",
        OperationCanceledException => "connecting was cancelled",
        var other => Describe(other),
    };

    private static string DescribeHandshakeError(Exception e, CertificateVerdict verdict) => verdict.Refusal ?? e.GetBaseException() switch
    {
        OperationCanceledException => "the handshake was cancelled",
        SocketException { SocketErrorCode: SocketError.ConnectionReset } => "the server reset the connection during the handshake (is this port TLS?)",
        SocketException s => DescribeConnectError(s),
        IOException or AuthenticationException when e.GetBaseException().Message.Contains("EOF", StringComparison.Ordinal)
            || e.GetBaseException().Message.Contains("0 bytes", StringComparison.Ordinal)
            => "the server closed the connection during the handshake (is this port TLS?)",
        var other => other.Message.TrimEnd('.'),
    };

    private static string Describe(Exception e) => e.GetBaseException() switch
    {
        SocketException s => $"{s.SocketErrorCode} ({s.Message})",
        var other => other.Message,
    };

    private void ReplyStats() => Sender.Tell(new UdpSocketProtocol.Stats(
        Interlocked.Read(ref _framesIn), _framesOut, Interlocked.Read(ref _bytesIn), _bytesOut, _sendErrors));

}
