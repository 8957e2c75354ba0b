using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Akka.Actor;
using Akka.Event;
using P2P.Actors.Transport.Tls;
using P2P.Protocol.Turn;

namespace P2P.Actors.Transport;

/// <summary>Messages of <see cref="TcpConnection"/>.</summary>
public static class TcpConnectionProtocol
{
    /// <summary>Write one framed message (STUN or padded ChannelData). The payload is owned by the message.</summary>
    public sealed record Send(ReadOnlyMemory<byte> Payload);

    /// <summary>
    /// A connection was accepted (over TLS: and its handshake is done, <paramref name="Tls"/> says how); told to the handler
    /// with the connection as sender.
    /// </summary>
    public sealed record Connected(IPEndPoint Remote, IPEndPoint Local, TlsSession? Tls = null);

    /// <summary>What a finished TLS handshake agreed on; <paramref name="ApplicationProtocol"/> is empty when the client asked for no ALPN id.</summary>
    public sealed record TlsSession(SslProtocols Protocol, TlsCipherSuite CipherSuite, string ApplicationProtocol);

    /// <summary>One whole frame (RFC 8656 §3.1, §12.4) arrived; the payload is a private copy.</summary>
    public sealed record Received(IPEndPoint Remote, IPEndPoint Local, ReadOnlyMemory<byte> Payload);

    /// <summary>The connection is gone (closed by either side, reset, idle, or unframeable input); <paramref name="Cause"/> says which, for counters.</summary>
    public sealed record Closed(IPEndPoint Remote, IPEndPoint Local, string Reason, TcpCloseCause Cause = TcpCloseCause.Other);

    /// <summary>Close the connection.</summary>
    public sealed record Close;

    /// <summary>
    /// From the handler: while <paramref name="Held"/>, the connection carries state of its own (a TURN allocation, which
    /// lives as long as its connection, RFC 8656 §3.1) and is not closed for being idle; once released, the idle
    /// timeout counts again from then.
    /// </summary>
    public sealed record KeepOpen(bool Held);

    /// <summary>
    /// From the handler: the stream stops carrying frames (an RFC 6062 §4.3 data connection after its ConnectionBind); from
    /// the next read on, the bytes go to the handler as they arrive, as <see cref="Received"/>, and <see cref="Send"/> writes raw bytes.
    /// </summary>
    public sealed record StopFraming;

    internal sealed record IdleCheck;

    internal sealed record HandshakeDone(TlsSession Session);

    internal sealed record HandshakeFailed(string Reason);

    internal sealed record HandshakeTimedOut;

    internal sealed record ReadEnded(string Reason, TcpCloseCause Cause);

    internal sealed record SendCompleted(int Bytes);

    internal sealed record SendFailed(string Reason);
}

/// <summary>Why a <see cref="TcpConnection"/> ended.</summary>
public enum TcpCloseCause
{
    /// <summary>The client closed it, it was reset, a send failed, or the server closed it on purpose.</summary>
    Other,
    /// <summary>No whole message arrived within the idle timeout, and the handler did not hold it open.</summary>
    Idle,
    /// <summary>Bytes that are neither STUN nor ChannelData: a stream cannot be resynchronised.</summary>
    Unframeable,
    /// <summary>The TLS handshake failed (not TLS, no common version or cipher, a bad record) or did not finish in time.</summary>
    TlsHandshakeFailed,
}

/// <summary>
/// Owns one accepted TCP connection carrying STUN/TURN (RFC 8656 §3.1): the byte stream is split into
/// STUN messages and padded ChannelData messages with <see cref="StreamFraming"/> and each frame goes
/// to the handler. Writes are queued and sent one at a time; past the queue limit they are dropped and
/// counted (the relay is datagram-like, a slow reader must not grow memory). Unframeable input closes
/// the connection: a stream cannot be resynchronised. A connection over which no whole message arrives
/// for the idle timeout is closed, unless its handler holds it open (<see cref="TcpConnectionProtocol.KeepOpen"/>);
/// it is checked every half of the timeout, so it goes between 1 and 1.5 times the timeout after its last message.
/// Problems are reported in <see cref="TcpConnectionProtocol.Closed"/> for the handler to count and log, rate-limited.
/// With <see cref="TlsServerSettings"/> (TURN over TLS, RFC 8656 §3.1) the connection is first a TLS server: it reads and
/// writes the same frames through an <see cref="SslStream"/> once the handshake is done, and tells the handler
/// <see cref="TcpConnectionProtocol.Connected"/> only then; a handshake that fails or outlasts its timeout closes the
/// connection with <see cref="TcpCloseCause.TlsHandshakeFailed"/>.
/// </summary>
public sealed class TcpConnection : ReceiveActor, IWithTimers
{
    /// <summary>Whole frames read so far; written by the read loop, read by the actor's idle check.</summary>
    private sealed class FrameCount
    {
        public long Value;
        /// <summary>Set by <see cref="TcpConnectionProtocol.StopFraming"/>; the read loop then hands over whatever arrived.</summary>
        public volatile bool Unframed;
    }

    private const int ReadBufferBytes = 2 * 65_536 + 64;

    /// <summary>
    /// Messages queued while a write was under way go out together, up to this many bytes, as one write of the actor (one
    /// completion message instead of one per message): over TCP in one system call; over TLS each message stays a record
    /// of its own, since coturn's turnutils_uclient reads one message per record and drops the rest of a record, and the
    /// records go out in one send (<see cref="CoalescingWriteStream"/>).
    /// </summary>
    private const int WriteBatchBytes = 16_384;

    private readonly Socket _socket;
    private readonly TlsServerSettings? _tls;
    private Stream _stream;
    private readonly IActorRef _handler;
    private readonly int _writeQueueLimit;
    private readonly IPEndPoint _remote;
    private readonly IPEndPoint _local;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<ReadOnlyMemory<byte>> _writes = new();
    private byte[]? _batch;
    private readonly List<ReadOnlyMemory<byte>> _writing = [];
    private CoalescingWriteStream? _coalescing;
    private int _queuedBytes;
    private bool _sending;
    private readonly TimeSpan _idleTimeout;
    private readonly FrameCount _frames = new();
    private string _closeReason = "closed by server";
    private TcpCloseCause _closeCause = TcpCloseCause.Other;
    private long _writesDropped;
    private long _framesAtLastCheck;
    private int _quietChecks;
    private bool _held;

    public ITimerScheduler Timers { get; set; } = null!;

    public TcpConnection(Socket socket, IActorRef handler, int writeQueueBytes, TimeSpan idleTimeout, TlsServerSettings? tls = null)
    {
        _socket = socket;
        _tls = tls;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _handler = handler;
        _writeQueueLimit = writeQueueBytes;
        _idleTimeout = idleTimeout;
        _remote = EndPoints.Unmapped((IPEndPoint)socket.RemoteEndPoint!);
        _local = EndPoints.Unmapped((IPEndPoint)socket.LocalEndPoint!);
        if (tls is null) Open();
        else Handshaking();
    }

    /// <summary>TLS only: until the handshake is done nothing is framed, sent or held; a failure or the timeout closes the connection.</summary>
    private void Handshaking()
    {
        Receive<TcpConnectionProtocol.HandshakeDone>(done =>
        {
            Timers.Cancel(nameof(TcpConnectionProtocol.HandshakeTimedOut));
            Become(Open);
            Start(done.Session);
        });
        Receive<TcpConnectionProtocol.HandshakeFailed>(f => FailHandshake(f.Reason));
        Receive<TcpConnectionProtocol.HandshakeTimedOut>(_ => FailHandshake($"no TLS handshake within {_tls!.HandshakeTimeout.TotalSeconds:0.#} s"));
        Receive<TcpConnectionProtocol.Close>(_ => Context.Stop(Self));
    }

    private void FailHandshake(string reason)
    {
        _closeReason = reason;
        _closeCause = TcpCloseCause.TlsHandshakeFailed;
        Context.Stop(Self);
    }

    private void Open()
    {
        Receive<TcpConnectionProtocol.Send>(OnSend);
        Receive<TcpConnectionProtocol.SendCompleted>(_ =>
        {
            _sending = false;
            SendNext();
        });
        Receive<TcpConnectionProtocol.SendFailed>(f =>
        {
            _closeReason = f.Reason;
            Context.Stop(Self);
        });
        Receive<TcpConnectionProtocol.ReadEnded>(r =>
        {
            _closeReason = r.Reason;
            _closeCause = r.Cause;
            _log.Debug("TCP {0} -> {1}: {2}", _remote, _local, r.Reason);
            Context.Stop(Self);
        });
        Receive<TcpConnectionProtocol.Close>(_ => Context.Stop(Self));
        Receive<TcpConnectionProtocol.KeepOpen>(k =>
        {
            _held = k.Held;
            _quietChecks = 0;
        });
        Receive<TcpConnectionProtocol.IdleCheck>(_ => OnIdleCheck());
        Receive<TcpConnectionProtocol.StopFraming>(_ => _frames.Unframed = true);
    }

    /// <param name="idleTimeout">Close the connection when no whole message arrived for this long and it is not held open.</param>
    /// <param name="tls">Speak TLS as the server first (TURN over TLS); null for plain TCP.</param>
    public static Props Props(Socket socket, IActorRef handler, int writeQueueBytes, TimeSpan idleTimeout, TlsServerSettings? tls = null) =>
        Akka.Actor.Props.Create(() => new TcpConnection(socket, handler, writeQueueBytes, idleTimeout, tls));


    protected override void PreStart()
    {
        _socket.NoDelay = true;
        if (_tls is null)
        {
            Start(null);
            return;
        }
        _coalescing = new CoalescingWriteStream(_stream);
        var ssl = new SslStream(_coalescing, leaveInnerStreamOpen: false);
        _stream = ssl;
        Timers.StartSingleTimer(nameof(TcpConnectionProtocol.HandshakeTimedOut), new TcpConnectionProtocol.HandshakeTimedOut(), _tls.HandshakeTimeout);
        Handshake(ssl, _tls, _stop.Token).PipeTo(Self, failure: e => new TcpConnectionProtocol.HandshakeFailed(DescribeHandshakeFailure(e)));
    }

    private void Start(TcpConnectionProtocol.TlsSession? tls)
    {
        _handler.Tell(new TcpConnectionProtocol.Connected(_remote, _local, tls), Self);
        Timers.StartPeriodicTimer(nameof(TcpConnectionProtocol.IdleCheck), new TcpConnectionProtocol.IdleCheck(), _idleTimeout / 2);
        _ = ReadLoop(_stream, _remote, _local, _handler, Self, _frames, _stop.Token);
    }

    private static async Task<TcpConnectionProtocol.HandshakeDone> Handshake(SslStream ssl, TlsServerSettings tls, CancellationToken stop)
    {
        await ssl.AuthenticateAsServerAsync(tls.AuthenticationOptions(), stop).ConfigureAwait(false);
        return new TcpConnectionProtocol.HandshakeDone(new TcpConnectionProtocol.TlsSession(
            ssl.SslProtocol, ssl.NegotiatedCipherSuite, ssl.NegotiatedApplicationProtocol.ToString()));
    }

    /// <summary>One sentence for the log: what the handshake's exception says, with the TLS alert or socket error under it.</summary>
    private static string DescribeHandshakeFailure(Exception e)
    {
        if (e is AggregateException a) e = a.GetBaseException();
        string inner = e.InnerException is { } i && i.Message != e.Message ? $" ({i.Message})" : string.Empty;
        return e is AuthenticationException or IOException
            ? $"TLS handshake failed: {e.Message}{inner}"
            : $"TLS handshake failed: {e.GetType().Name}: {e.Message}";
    }

    /// <summary>Two checks in a row without a new frame (at least the idle timeout) close a connection that is not held.</summary>
    private void OnIdleCheck()
    {
        long frames = Interlocked.Read(ref _frames.Value);
        if (_held || frames != _framesAtLastCheck)
        {
            _framesAtLastCheck = frames;
            _quietChecks = 0;
            return;
        }
        if (++_quietChecks < 2) return;
        _closeReason = $"no message for {_idleTimeout.TotalSeconds:0.#} s";
        _closeCause = TcpCloseCause.Idle;
        Context.Stop(Self);
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _stream.Dispose();
        _socket.Dispose();
        _stop.Dispose();
        _handler.Tell(new TcpConnectionProtocol.Closed(_remote, _local, _closeReason, _closeCause), Self);
    }

    private void OnSend(TcpConnectionProtocol.Send send)
    {
        if (_queuedBytes + send.Payload.Length > _writeQueueLimit)
        {
            if (_frames.Unframed)
            {
                _closeReason = "client reads too slowly: a byte stream cannot drop bytes"; // RFC 6062 data connection
                Context.Stop(Self);
                return;
            }
            _writesDropped++;
            if (_writesDropped == 1 || _writesDropped % 1000 == 0)
                _log.Warning("TCP {0}: client reads too slowly, {1} messages dropped", _remote, _writesDropped);
            return;
        }
        _writes.Enqueue(send.Payload);
        _queuedBytes += send.Payload.Length;
        SendNext();
    }

    private void SendNext()
    {
        if (_sending || _writes.Count == 0) return;
        // _writing and _batch are touched here only while no write is under way (_sending is false)
        _writing.Clear();
        int length = 0;
        do
        {
            var message = _writes.Dequeue();
            _queuedBytes -= message.Length;
            _writing.Add(message);
            length += message.Length;
        }
        while (_writes.Count > 0 && length + _writes.Peek().Length <= WriteBatchBytes);
        if (_tls is null && _writing.Count > 1)
        {
            _batch ??= new byte[WriteBatchBytes];
            int at = 0;
            foreach (var message in _writing)
            {
                message.Span.CopyTo(_batch.AsSpan(at));
                at += message.Length;
            }
            _writing.Clear();
            _writing.Add(_batch.AsMemory(0, at));
        }
        _sending = true;
        WriteAll(_stream, _coalescing, _writing, length, _stop.Token).PipeTo(Self,
            success: n => new TcpConnectionProtocol.SendCompleted(n),
            failure: e => new TcpConnectionProtocol.SendFailed($"send failed: {e.GetBaseException().Message}"));
    }

    /// <summary>Writes the messages in order; over TLS one record each, gathered by <paramref name="coalescing"/> into one send.</summary>
    private static async Task<int> WriteAll(Stream stream, CoalescingWriteStream? coalescing, List<ReadOnlyMemory<byte>> messages, int length,
        CancellationToken stop)
    {
        if (coalescing is null || messages.Count == 1)
        {
            foreach (var message in messages) await stream.WriteAsync(message, stop).ConfigureAwait(false);
            return length;
        }
        coalescing.BeginBatch();
        try
        {
            foreach (var message in messages) await stream.WriteAsync(message, stop).ConfigureAwait(false);
        }
        finally
        {
            await coalescing.EndBatchAsync(stop).ConfigureAwait(false);
        }
        return length;
    }

    /// <summary>
    /// <see cref="StreamFraming"/>, plus ChannelData with the RFC 5766 §11 channel numbers 0x5000-0x7FFF
    /// (first byte 0x50-0x7F), which coturn's clients still use; padded to 4 bytes like the others.
    /// </summary>
    public static StreamFraming.FrameStatus FrameLength(ReadOnlySpan<byte> buffered, out int frameLength)
    {
        var result = StreamFraming.TryGetFrameLength(buffered, out frameLength);
        if (result != StreamFraming.FrameStatus.Invalid || !ChannelData.StartsServerChannelData(buffered[0])) return result;
        int length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(buffered[2..]);
        frameLength = ChannelData.HeaderLength + ((length + 3) & ~3);
        return buffered.Length >= frameLength ? StreamFraming.FrameStatus.Complete : StreamFraming.FrameStatus.NeedMore;
    }

    private static Task ReadLoop(Stream stream, IPEndPoint remote, IPEndPoint local, IActorRef handler, IActorRef self,
        FrameCount frames, CancellationToken stop) =>
        StreamFrameReader.RunAsync(stream, ReadBufferBytes,
            (ReadOnlySpan<byte> buffered, out int length) =>
            {
                if (!frames.Unframed) return FrameLength(buffered, out length);
                length = buffered.Length;
                return length > 0 ? StreamFraming.FrameStatus.Complete : StreamFraming.FrameStatus.NeedMore;
            }, _ => { },
            frame =>
            {
                Interlocked.Increment(ref frames.Value);
                handler.Tell(new TcpConnectionProtocol.Received(remote, local, frame), self);
            },
            (end, error, first) => self.Tell(end switch
            {
                StreamEnd.Closed or StreamEnd.ClosedMidFrame => new TcpConnectionProtocol.ReadEnded("closed by client", TcpCloseCause.Other),
                StreamEnd.Unframeable => new TcpConnectionProtocol.ReadEnded($"bytes that are neither STUN nor ChannelData (first byte 0x{first:x2})", TcpCloseCause.Unframeable),
                _ => new TcpConnectionProtocol.ReadEnded(
                    $"receive failed: {(error is SocketException socketError ? socketError.SocketErrorCode.ToString() : error!.Message)}", TcpCloseCause.Other),
            }),
            stop);
}
