using System.Net.Sockets;
using P2P.Protocol.Turn;

namespace P2P.Actors.Transport;

/// <summary>Why a framed TCP stream to or from a STUN/TURN peer stopped being read.</summary>
internal enum StreamEnd
{
    /// <summary>The other side closed the connection between two frames.</summary>
    Closed,
    /// <summary>The other side closed the connection with part of a frame read.</summary>
    ClosedMidFrame,
    /// <summary>The connection was reset.</summary>
    Reset,
    /// <summary>Another socket error.</summary>
    Failed,
    /// <summary>Bytes that are neither STUN nor ChannelData: the framing is lost for good.</summary>
    Unframeable,
}

/// <summary>
/// The read loop both ends of a TURN-over-TCP connection share (RFC 8656 §3.1, §12.4): reads until the
/// stream ends and hands over each whole frame, whatever the segmentation of the reads. It runs outside the
/// actor (a task on the socket); its callbacks must only tell actors.
/// </summary>
internal static class StreamFrameReader
{
    public delegate StreamFraming.FrameStatus FrameLength(ReadOnlySpan<byte> buffered, out int frameLength);

    /// <param name="bufferBytes">Room for at least one whole frame (a ChannelData or STUN message is at most 65,540 bytes).</param>
    /// <param name="onBytes">Told each read's size, for counters.</param>
    /// <param name="onFrame">Told each whole frame, a private copy, in stream order.</param>
    /// <param name="onEnd">Told once, last: how the stream ended, the socket error when there was one, and the first byte when unframeable.</param>
    public static Task RunAsync(Socket socket, int bufferBytes, FrameLength frameLength, Action<int> onBytes, Action<byte[]> onFrame,
        Action<StreamEnd, SocketException?, byte> onEnd, CancellationToken stop) =>
        RunAsync((buffer, ct) => socket.ReceiveAsync(buffer, SocketFlags.None, ct), bufferBytes, frameLength, onBytes, onFrame,
            (end, error, first) => onEnd(end, error as SocketException, first), stop);

    /// <summary>
    /// The same over a <see cref="Stream"/> (a TLS stream, RFC 8656 §3.1): the error told to <paramref name="onEnd"/> is the
    /// socket error under the stream's <see cref="IOException"/> when there is one, else that exception (a TLS record
    /// that does not decrypt, for example).
    /// </summary>
    public static Task RunAsync(Stream stream, int bufferBytes, FrameLength frameLength, Action<int> onBytes, Action<byte[]> onFrame,
        Action<StreamEnd, Exception?, byte> onEnd, CancellationToken stop) =>
        RunAsync((buffer, ct) => stream.ReadAsync(buffer, ct), bufferBytes, frameLength, onBytes, onFrame, onEnd, stop);

    private static async Task RunAsync(Func<Memory<byte>, CancellationToken, ValueTask<int>> receive, int bufferBytes, FrameLength frameLength,
        Action<int> onBytes, Action<byte[]> onFrame, Action<StreamEnd, Exception?, byte> onEnd, CancellationToken stop)
    {
        var buffer = new byte[bufferBytes];
        int filled = 0;
        while (!stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await receive(buffer.AsMemory(filled), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                onEnd(e.SocketErrorCode == SocketError.ConnectionReset ? StreamEnd.Reset : StreamEnd.Failed, e, 0);
                return;
            }
            catch (IOException) when (stop.IsCancellationRequested) { return; }
            catch (IOException e)
            {
                var socketError = e.InnerException as SocketException;
                onEnd(socketError?.SocketErrorCode == SocketError.ConnectionReset ? StreamEnd.Reset : StreamEnd.Failed, socketError ?? (Exception)e, 0);
                return;
            }
            if (n == 0)
            {
                onEnd(filled == 0 ? StreamEnd.Closed : StreamEnd.ClosedMidFrame, null, 0);
                return;
            }
            filled += n;
            onBytes(n);
            int start = 0;
            while (true)
            {
                var result = frameLength(buffer.AsSpan(start, filled - start), out int length);
                if (result == StreamFraming.FrameStatus.Invalid)
                {
                    onEnd(StreamEnd.Unframeable, null, buffer[start]);
                    return;
                }
                if (result == StreamFraming.FrameStatus.NeedMore) break;
                onFrame(buffer.AsSpan(start, length).ToArray());
                start += length;
            }
            if (start > 0)
            {
                buffer.AsSpan(start, filled - start).CopyTo(buffer);
                filled -= start;
            }
        }
    }
}
