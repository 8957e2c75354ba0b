using System.Collections.Concurrent;
using Org.BouncyCastle.Tls;

namespace P2P.Actors.Dtls;

/// <summary>Thrown by <see cref="QueuedDatagramTransport.Receive(Span{byte}, int)"/> once the transport is closed, to end the worker's blocking read.</summary>
internal sealed class DatagramTransportClosedException() : IOException("the DTLS datagram transport is closed");

/// <summary>Takes one datagram the record layer wrote; the span is the record layer's buffer, valid only during the call.</summary>
internal delegate void DatagramSender(ReadOnlySpan<byte> datagram);

/// <summary>
/// BouncyCastle's <see cref="DatagramTransport"/> over actor messages: datagrams the actor received
/// are queued here (bounded; when full they are dropped, as a UDP socket buffer would) and read by
/// the DTLS worker thread, which may block in <see cref="Receive(Span{byte}, int)"/>; datagrams the
/// record layer writes are handed to <c>send</c> (which tells the connection actor). Only the worker
/// thread blocks here; the actor side (<see cref="Offer"/>) never does.
/// </summary>
internal sealed class QueuedDatagramTransport : DatagramTransport
{
    private readonly BlockingCollection<byte[]> _inbound;
    private readonly DatagramSender _send;
    private readonly CancellationTokenSource _closed = new();
    private readonly int _receiveLimit;
    private long _dropped, _queued;

    public QueuedDatagramTransport(int sendLimit, int receiveLimit, int queueLength, DatagramSender send)
    {
        SendLimit = sendLimit;
        _receiveLimit = receiveLimit;
        _send = send;
        _inbound = new BlockingCollection<byte[]>(new ConcurrentQueue<byte[]>(), queueLength);
    }

    public bool IsClosed => _closed.IsCancellationRequested;

    /// <summary>Once the handshake is done the actor reads only what is queued: a read of an empty queue answers "none" at once.</summary>
    public bool NonBlocking { get; set; }

    /// <summary>Datagrams queued and not read yet.</summary>
    public int Pending => _inbound.Count;

    /// <summary>Datagrams queued for the record layer so far (what came from the peer and was not dropped).</summary>
    public long Queued => Interlocked.Read(ref _queued);

    /// <summary>Datagrams dropped because the queue was full or the transport closed.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>From the actor: queue a received datagram without blocking; false (and counted) if it was dropped.</summary>
    public bool Offer(byte[] datagram)
    {
        if (!IsClosed && _inbound.TryAdd(datagram))
        {
            Interlocked.Increment(ref _queued);
            return true;
        }
        Interlocked.Increment(ref _dropped);
        return false;
    }

    public int GetReceiveLimit() => _receiveLimit;

    /// <summary>Largest datagram the record layer may write; raised once the handshake is done (<see cref="DtlsSettings.ApplicationSendLimit"/>).</summary>
    public int SendLimit { get; set; }

    public int GetSendLimit() => SendLimit;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    /// <summary>Waits up to <paramref name="waitMillis"/> (0: no limit, as a socket timeout) for a datagram; -1 when none came.</summary>
    public int Receive(Span<byte> buffer, int waitMillis)
    {
        if (IsClosed) throw new DatagramTransportClosedException();
        byte[] datagram;
        try
        {
            int wait = NonBlocking ? 0 : waitMillis <= 0 ? Timeout.Infinite : waitMillis;
            if (!_inbound.TryTake(out datagram!, wait, _closed.Token)) return -1;
        }
        catch (OperationCanceledException)
        {
            throw new DatagramTransportClosedException();
        }
        int length = Math.Min(datagram.Length, buffer.Length);
        datagram.AsSpan(0, length).CopyTo(buffer);
        return length;
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        if (!IsClosed) _send(buffer); // the sender copies only what it hands to another thread
    }

    /// <summary>Ends any blocked <see cref="Receive(Span{byte}, int)"/>; called by the record layer after its close_notify, or by the worker to abort a handshake.</summary>
    public void Close()
    {
        if (IsClosed) return;
        _closed.Cancel();
    }
}
