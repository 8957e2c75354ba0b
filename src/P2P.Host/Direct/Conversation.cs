using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Threading.Channels;

namespace P2P.Host.Direct;

/// <summary>
/// The chat once connected: typed lines go out as they are (newline included, no framing), what arrives is shown
/// as "Received: text". Ends when the peer closes ("Connection closed by peer", exit 0), when input ends (what was
/// typed is sent, then the connection is closed, exit 0), or on cancellation (exit 130, as after Ctrl+C).
/// </summary>
public static class Conversation
{
    public const string ClosedByPeer = "Connection closed by peer";

    public const string PeerSpeaksTlsSentence = "The other side started TLS (p2p --secure): run both sides with --secure, or neither.";

    public const string SecureRefusedSentence =
        "The other side ended the secure connection at its start: it may have been given a --peer-fingerprint that is not your certificate's.";

    private enum End
    {
        PeerClosed,
        InputEnded,
        PeerSpeaksTls,
        SecureRefused,
    }

    /// <summary>Runs the chat over <paramref name="stream"/> (the TCP stream, or TLS over it) and returns the exit code.</summary>
    public static async Task<int> RunAsync(Socket socket, Stream stream, TextReader input, TextWriter output, TextWriter status, Serilog.ILogger log, CancellationToken cancel)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var receiving = ReceiveAsync(stream, output, log, stop.Token);
        var sending = SendAsync(ReadTyped(input), stream, log, stop.Token);
        var first = await Task.WhenAny(receiving, sending).ConfigureAwait(false);
        // Close our direction while the read is still pending: cancelling a TLS read first would spoil the stream.
        if (first == sending && sending.IsCompletedSuccessfully && await sending.ConfigureAwait(false) == End.InputEnded)
            await CloseGracefullyAsync(socket, stream).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        End end;
        try
        {
            end = await first.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            log.Information("Chat interrupted");
            return 130;
        }
        await Task.WhenAll(receiving, sending).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
        log.Information("Chat ended: {ChatEnd}", end);

        switch (end)
        {
            case End.InputEnded:
                return 0;
            case End.PeerClosed:
                await output.WriteLineAsync(ClosedByPeer).ConfigureAwait(false);
                await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                return 0;
            case End.PeerSpeaksTls:
                await status.WriteLineAsync(PeerSpeaksTlsSentence).ConfigureAwait(false);
                return 1;
            default:
                await status.WriteLineAsync(SecureRefusedSentence).ConfigureAwait(false);
                return 1;
        }
    }

    private static async Task<End> ReceiveAsync(Stream stream, TextWriter output, Serilog.ILogger log, CancellationToken cancel)
    {
        bool secure = stream is SslStream;
        var buffer = new byte[64 * 1024];
        var text = new ReceivedText();
        bool received = false;
        while (true)
        {
            int n;
            try
            {
                n = await stream.ReadAsync(buffer, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or AuthenticationException)
            {
                log.Debug(e, "Reading from the peer failed");
                // TLS 1.3: the client's handshake is over before the server has judged its certificate, so a refusal
                // arrives as the first thing read. Plain TCP: a reset is the peer going away, as the original says.
                return secure && !received && (e is AuthenticationException || e.InnerException is AuthenticationException) ? End.SecureRefused : End.PeerClosed;
            }
            if (n == 0) return End.PeerClosed;
            // The original never sends a TLS record: such bytes first mean a p2p --secure on the other side.
            if (!secure && !received && SniffingStream.LooksLikeTls(buffer.AsSpan(0, n))) return End.PeerSpeaksTls;
            received = true;
            log.Debug("Received {Bytes} bytes", n);
            foreach (var line in text.Lines(buffer.AsSpan(0, n)))
                await output.WriteLineAsync(line).ConfigureAwait(false);
            await output.FlushAsync(cancel).ConfigureAwait(false);
        }
    }

    private static async Task<End> SendAsync(ChannelReader<string> typed, Stream stream, Serilog.ILogger log, CancellationToken cancel)
    {
        var encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        await foreach (var line in typed.ReadAllAsync(cancel).ConfigureAwait(false))
        {
            var bytes = encoding.GetBytes(line);
            try
            {
                await stream.WriteAsync(bytes, cancel).ConfigureAwait(false);
                await stream.FlushAsync(cancel).ConfigureAwait(false);
                log.Debug("Sent {Bytes} bytes", bytes.Length);
            }
            catch (IOException e)
            {
                log.Debug(e, "Writing to the peer failed");
                return End.PeerClosed;
            }
        }
        return End.InputEnded;
    }

    /// <summary>
    /// Reads typed text on a thread of its own (a console read cannot be cancelled and must not hold a pool thread)
    /// and hands over whole lines, then what follows the last newline at end of input.
    /// </summary>
    private static ChannelReader<string> ReadTyped(TextReader input)
    {
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var thread = new Thread(() =>
        {
            var splitter = new LineSplitter();
            var buffer = new char[4096];
            try
            {
                int n;
                while ((n = input.Read(buffer, 0, buffer.Length)) > 0)
                    foreach (var line in splitter.Append(buffer.AsSpan(0, n)))
                        channel.Writer.TryWrite(line);
                if (splitter.TakeRest() is { } rest) channel.Writer.TryWrite(rest);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // input gone: same as its end
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        })
        { IsBackground = true, Name = "p2p input" };
        thread.Start();
        return channel.Reader;
    }

    /// <summary>TLS close_notify when secure, then FIN after the last typed bytes.</summary>
    private static async Task CloseGracefullyAsync(Socket socket, Stream stream)
    {
        try
        {
            if (stream is SslStream tls) await tls.ShutdownAsync().ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // the peer left first: nothing more to say to it
        }
    }
}
