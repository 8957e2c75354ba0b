using System.Buffers;
using System.Net.Sockets;
using System.Net.WebSockets;
using Akka.Actor;

namespace P2P.Actors.Signaling;

/// <summary>
/// One WebSocket as seen by the actor that owns it (<see cref="SignalingConnection"/> on the server,
/// <see cref="SignalingClient"/> on the client). Used only from that actor's thread: it starts one receive at a
/// time and one send at a time, and every result comes back to the actor as a message of
/// <see cref="SignalingSocketProtocol"/>, so the actor never blocks and never touches the socket concurrently.
/// </summary>
internal sealed class SignalingSocket
{
    private readonly WebSocket _socket;
    private readonly int _maxMessageBytes;
    private readonly int _maxQueuedMessages;
    private readonly IActorRef _self;
    private readonly bool _tagged;
    private readonly Queue<object> _outbox = new(); // byte[] frames, then at most one CloseRequest
    private bool _sending;

    /// <param name="tagged">Every result comes wrapped in <see cref="SignalingSocketProtocol.FromSocket"/>, for an owner that
    /// replaces its socket (a client that reconnects) and must tell a late result of the old one from the new one's.</param>
    public SignalingSocket(WebSocket socket, SignalSettings settings, IActorRef self, bool tagged = false)
    {
        _tagged = tagged;
        _socket = socket;
        _maxMessageBytes = settings.MaxMessageBytes;
        _maxQueuedMessages = settings.MaxQueuedMessages;
        _self = self;
    }

    public bool IsOpen => _socket.State == WebSocketState.Open;

    /// <summary>Starts reading the next whole message; the result arrives as a Received, TooLarge, NotText or Closed message.</summary>
    public void ReceiveNext() =>
        ReceiveAsync().PipeTo(_self, success: Tag, failure: e => Tag(new SignalingSocketProtocol.Closed(Describe(e))));

    private object Tag(object result) => _tagged ? new SignalingSocketProtocol.FromSocket(this, result) : result;

    /// <summary>
    /// Queues <paramref name="message"/>; messages go out one at a time, in order. False when the other side reads so
    /// slowly that <see cref="SignalSettings.MaxQueuedMessages"/> are already waiting: the message is not queued.
    /// </summary>
    public bool Send(SignalMessage message)
    {
        if (!IsOpen) return true;
        if (_outbox.Count >= _maxQueuedMessages) return false;
        _outbox.Enqueue(message.ToUtf8());
        SendNext();
        return true;
    }

    /// <summary>Closes the socket (RFC 6455 §7) once everything queued before has been sent; the actor then gets CloseSent.</summary>
    public void CloseAfterSends(WebSocketCloseStatus status, string description)
    {
        _outbox.Enqueue(new CloseRequest(status, description));
        SendNext();
    }

    /// <summary>Called by the owner for <see cref="SignalingSocketProtocol.SendCompleted"/>: sends what is queued next.</summary>
    public void OnSendCompleted()
    {
        _sending = false;
        SendNext();
    }

    /// <summary>
    /// Handles a socket message while the owner is closing (RFC 6455 §7.1.1: after sending its close frame an endpoint
    /// waits for the other's before it drops the connection). Returns true when the owner may stop: the close frame
    /// went out and the other side's came back, or the connection is gone.
    /// </summary>
    public bool OnClosing(object message)
    {
        switch (message)
        {
            case SignalingSocketProtocol.SendCompleted:
                OnSendCompleted();
                return false;
            case SignalingSocketProtocol.CloseSent:
                return _socket.State is not WebSocketState.CloseSent;
            case SignalingSocketProtocol.Closed:
                return true;
            case SignalingSocketProtocol.Received or SignalingSocketProtocol.TooLarge or SignalingSocketProtocol.NotText:
                ReceiveNext(); // read on until the other side's close frame
                return false;
            default:
                return false;
        }
    }

    /// <summary>Drops the connection without a close handshake (the owner is stopping).</summary>
    public void Abort()
    {
        if (_socket.State is not (WebSocketState.Closed or WebSocketState.Aborted)) _socket.Abort();
    }

    private void SendNext()
    {
        if (_sending || _outbox.Count == 0) return;
        _sending = true;
        var next = _outbox.Dequeue();
        if (next is CloseRequest close)
        {
            _outbox.Clear();
            var closing = _socket.State is WebSocketState.Open or WebSocketState.CloseReceived
                ? _socket.CloseOutputAsync(close.Status, close.Description, CancellationToken.None)
                : Task.CompletedTask;
            closing.PipeTo(_self, success: () => Tag(new SignalingSocketProtocol.CloseSent()), failure: _ => Tag(new SignalingSocketProtocol.CloseSent()));
            return;
        }
        if (!IsOpen)
        {
            _sending = false;
            _outbox.Clear();
            return;
        }
        _socket.SendAsync((byte[])next, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None)
            .PipeTo(_self, success: () => Tag(new SignalingSocketProtocol.SendCompleted()), failure: e => Tag(new SignalingSocketProtocol.Closed(Describe(e))));
    }

    private async Task<object> ReceiveAsync()
    {
        var chunk = ArrayPool<byte>.Shared.Rent(4096);
        var message = new ArrayBufferWriter<byte>();
        long size = 0;
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(chunk.AsMemory(), CancellationToken.None).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    var description = _socket.CloseStatusDescription;
                    return new SignalingSocketProtocol.Closed(string.IsNullOrEmpty(description)
                        ? $"the other side closed the connection ({(int?)_socket.CloseStatus ?? 1005})"
                        : $"the other side closed the connection: {description}");
                }
                size += result.Count;
                if (size <= _maxMessageBytes) message.Write(chunk.AsSpan(0, result.Count));
                if (!result.EndOfMessage) continue;
                if (size > _maxMessageBytes) return new SignalingSocketProtocol.TooLarge(size);
                if (result.MessageType != WebSocketMessageType.Text) return new SignalingSocketProtocol.NotText();
                return new SignalingSocketProtocol.Received(message.WrittenSpan.ToArray());
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>A failure of a WebSocket operation as a short phrase ("connection refused", "the connection was reset").</summary>
    public static string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
                return socket.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.ConnectionReset => "the connection was reset",
                    SocketError.TimedOut => "timed out",
                    SocketError.HostNotFound or SocketError.NoData => "host not found",
                    SocketError.NetworkUnreachable or SocketError.HostUnreachable => "no route to the host",
                    _ => socket.Message,
                };
        }
        if (e is OperationCanceledException) return "timed out";
        var innermost = e;
        while (innermost.InnerException is not null) innermost = innermost.InnerException;
        return innermost.Message.TrimEnd('.');
    }

    private sealed record CloseRequest(WebSocketCloseStatus Status, string Description);
}

/// <summary>What a <see cref="SignalingSocket"/> tells the actor that owns it.</summary>
internal static class SignalingSocketProtocol
{
    /// <summary>One whole text message.</summary>
    public sealed record Received(byte[] Utf8);
    /// <summary>A message larger than the limit; it was read and dropped.</summary>
    public sealed record TooLarge(long Bytes);
    /// <summary>A binary message; dropped.</summary>
    public sealed record NotText;
    /// <summary>The connection is gone (closed by the other side, reset, or failed); one phrase why.</summary>
    public sealed record Closed(string Reason);
    public sealed record SendCompleted;
    public sealed record CloseSent;
    /// <summary>One of the above from <paramref name="Socket"/> (a socket made tagged).</summary>
    public sealed record FromSocket(SignalingSocket Socket, object Message);
}
