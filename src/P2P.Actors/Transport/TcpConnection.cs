using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using P2P.Protocol.Turn;

namespace P2P.Actors.Transport;

/// <summary>Messages of <see cref="TcpConnection"/>.</summary>
public static class TcpConnectionProtocol
{
    /// <summary>Write one framed message (STUN or padded ChannelData). The payload is owned by the message.</summary>
    public sealed record Send(ReadOnlyMemory<byte> Payload);

    /// <summary>A connection was accepted; told to the handler with the connection as sender.</summary>
    public sealed record Connected(IPEndPoint Remote, IPEndPoint Local);

    /// <summary>One whole frame (RFC 8656 §3.1, §12.4) arrived; the payload is a private copy.</summary>
    public sealed record Received(IPEndPoint Remote, IPEndPoint Local, ReadOnlyMemory<byte> Payload);

    /// <summary>The connection is gone (closed by either side, reset, or unframeable input).</summary>
    public sealed record Closed(IPEndPoint Remote, IPEndPoint Local, string Reason);

    /// <summary>Close the connection.</summary>
    public sealed record Close;

    internal sealed record ReadEnded(string Reason);

    internal sealed record SendCompleted(int Bytes);

    internal sealed record SendFailed(string Reason);
}

/// <summary>
/// Owns one accepted TCP connection carrying STUN/TURN (RFC 8656 §3.1): the byte stream is split into
/// STUN messages and padded ChannelData messages with <see cref="StreamFraming"/> and each frame goes
/// to the handler. Writes are queued and sent one at a time; past the queue limit they are dropped and
/// counted (the relay is datagram-like, a slow reader must not grow memory). Unframeable input closes
/// the connection: a stream cannot be resynchronised.
/// </summary>
public sealed class TcpConnection : ReceiveActor
{
    private const int ReadBufferBytes = 2 * 65_536 + 64;

    private readonly Socket _socket;
    private readonly IActorRef _handler;
    private readonly int _writeQueueLimit;
    private readonly IPEndPoint _remote;
    private readonly IPEndPoint _local;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<ReadOnlyMemory<byte>> _writes = new();
    private int _queuedBytes;
    private bool _sending;
    private string _closeReason = "closed by server";
    private long _writesDropped;

    public TcpConnection(Socket socket, IActorRef handler, int writeQueueBytes)
    {
        _socket = socket;
        _handler = handler;
        _writeQueueLimit = writeQueueBytes;
        _remote = EndPoints.Unmapped((IPEndPoint)socket.RemoteEndPoint!);
        _local = EndPoints.Unmapped((IPEndPoint)socket.LocalEndPoint!);

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
            _log.Debug("TCP {0} -> {1}: {2}", _remote, _local, r.Reason);
            Context.Stop(Self);
        });
        Receive<TcpConnectionProtocol.Close>(_ => Context.Stop(Self));
    }

    public static Props Props(Socket socket, IActorRef handler, int writeQueueBytes) =>
        Akka.Actor.Props.Create(() => new TcpConnection(socket, handler, writeQueueBytes));


    protected override void PreStart()
    {
        _socket.NoDelay = true;
        _handler.Tell(new TcpConnectionProtocol.Connected(_remote, _local), Self);
        _ = ReadLoop(_socket, _remote, _local, _handler, Self, _log, _stop.Token);
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
        _stop.Dispose();
        _handler.Tell(new TcpConnectionProtocol.Closed(_remote, _local, _closeReason), Self);
    }

    private void OnSend(TcpConnectionProtocol.Send send)
    {
        if (_queuedBytes + send.Payload.Length > _writeQueueLimit)
        {
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
        var payload = _writes.Dequeue();
        _queuedBytes -= payload.Length;
        _sending = true;
        WriteAll(_socket, payload, _stop.Token).PipeTo(Self,
            success: n => new TcpConnectionProtocol.SendCompleted(n),
            failure: e => new TcpConnectionProtocol.SendFailed($"send failed: {e.GetBaseException().Message}"));
    }

    private static async Task<int> WriteAll(Socket socket, ReadOnlyMemory<byte> payload, CancellationToken stop)
    {
        int sent = 0;
        while (sent < payload.Length)
            sent += await socket.SendAsync(payload[sent..], SocketFlags.None, stop).ConfigureAwait(false);
        return sent;
    }

    /// <summary>
    /// <see cref="StreamFraming"/>, plus ChannelData with the RFC 5766 §11 channel numbers 0x5000-0x7FFF
    /// (first byte 0x50-0x7F), which coturn's clients still use; padded to 4 bytes like the others.
    /// </summary>
    public static StreamFraming.FrameStatus FrameLength(ReadOnlySpan<byte> buffered, out int frameLength)
    {
        var result = StreamFraming.TryGetFrameLength(buffered, out frameLength);
        if (result != StreamFraming.FrameStatus.Invalid || buffered[0] is < 0x50 or > 0x7F) return result;
        int length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(buffered[2..]);
        frameLength = ChannelData.HeaderLength + ((length + 3) & ~3);
        return buffered.Length >= frameLength ? StreamFraming.FrameStatus.Complete : StreamFraming.FrameStatus.NeedMore;
    }

    private static Task ReadLoop(Socket socket, IPEndPoint remote, IPEndPoint local, IActorRef handler, IActorRef self,
        ILoggingAdapter log, CancellationToken stop) =>
        StreamFrameReader.RunAsync(socket, ReadBufferBytes, FrameLength, _ => { },
            frame => handler.Tell(new TcpConnectionProtocol.Received(remote, local, frame), self),
            (end, error, _) =>
            {
                if (end == StreamEnd.Unframeable) log.Warning("TCP {0}: bytes that are neither STUN nor ChannelData, closing the connection", remote);
                self.Tell(new TcpConnectionProtocol.ReadEnded(end switch
                {
                    StreamEnd.Closed or StreamEnd.ClosedMidFrame => "closed by client",
                    StreamEnd.Unframeable => "unframeable input",
                    _ => $"receive failed: {error!.SocketErrorCode}",
                }));
            },
            stop);
}
