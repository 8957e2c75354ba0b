namespace P2P.Host.Direct;

/// <summary>
/// Passes everything through to <paramref name="inner"/> and remembers the first bytes read from it, so that a
/// failed TLS handshake can tell "the other side spoke TLS and refused" from "the other side sent plain text or
/// nothing" (a TLS record starts 0x16 0x03, RFC 8446 section 5.1).
/// </summary>
public sealed class SniffingStream(Stream inner) : Stream
{
    private readonly byte[] _first = new byte[2];
    private int _firstCount;

    /// <summary>The first bytes that came from the other side (up to two), empty when nothing has arrived.</summary>
    public ReadOnlySpan<byte> FirstBytes => _first.AsSpan(0, _firstCount);

    /// <summary>True when what arrived first is the start of a TLS handshake record.</summary>
    public bool SawTls => LooksLikeTls(FirstBytes);

    public static bool LooksLikeTls(ReadOnlySpan<byte> first) => first.Length >= 2 && first[0] == 0x16 && first[1] == 0x03;

    private int Remember(ReadOnlySpan<byte> read)
    {
        int take = Math.Min(_first.Length - _firstCount, read.Length);
        read[..take].CopyTo(_first.AsSpan(_firstCount));
        _firstCount += take;
        return read.Length;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Remember(buffer.Span[..n]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer) => Remember(buffer[..inner.Read(buffer)]);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override bool CanRead => inner.CanRead;

    public override bool CanWrite => inner.CanWrite;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
