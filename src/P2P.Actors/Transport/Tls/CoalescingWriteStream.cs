using System.Buffers;

namespace P2P.Actors.Transport.Tls;

/// <summary>
/// The stream under a server's <see cref="System.Net.Security.SslStream"/>: reads go straight through; between
/// <see cref="BeginBatch"/> and <see cref="EndBatchAsync"/> the records the TLS stream writes are gathered and sent in
/// one write, so that a batch of messages costs one system call while each message stays a record of its own. Outside a
/// batch (the handshake, an alert) writes go straight through. The TLS stream writes from one caller at a time, but it may
/// answer a record it reads (a TLS 1.3 key update) from the reading thread, so the gathered bytes are guarded by a lock.
/// </summary>
internal sealed class CoalescingWriteStream(Stream inner) : Stream
{
    private readonly Lock _gate = new();
    private readonly ArrayBufferWriter<byte> _gathered = new(16_384 + 1024);
    private bool _batching;

    public void BeginBatch()
    {
        lock (_gate) _batching = true;
    }

    /// <summary>Sends what the batch gathered, in one write.</summary>
    public async ValueTask EndBatchAsync(CancellationToken cancellationToken)
    {
        ReadOnlyMemory<byte> gathered;
        lock (_gate)
        {
            _batching = false;
            gathered = _gathered.WrittenMemory;
        }
        // nothing is added while not batching; the next batch begins only after this write completed
        if (!gathered.IsEmpty) await inner.WriteAsync(gathered, cancellationToken).ConfigureAwait(false);
        lock (_gate) _gathered.ResetWrittenCount();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_batching)
            {
                _gathered.Write(buffer.Span);
                return ValueTask.CompletedTask;
            }
        }
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_gate)
        {
            if (_batching)
            {
                _gathered.Write(buffer);
                return;
            }
        }
        inner.Write(buffer);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => inner.Read(buffer);

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
