using System.Threading.Channels;

namespace P2P.Host.Chat;

/// <summary>
/// Typed lines, read so that waiting for one can be cancelled. <see cref="Console.In"/> reads synchronously even
/// through <c>ReadLineAsync(token)</c> and ignores the token, so a prompt would hold the process through Ctrl+C; here
/// one background thread reads the lines, in order, into a channel, and <see cref="ReadLineAsync"/> waits on that
/// channel. A line that arrives after the reader stopped waiting is kept for the next call, never dropped.
/// Whoever waits for a line goes on on the reading thread (synchronous continuations): a typed chat line is handed to
/// its actor from there, not first to a thread-pool thread woken only to hand it on, which was one wake-up of two on
/// the way from stdin to the socket.
/// </summary>
public sealed class LineInput
{
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleWriter = true, AllowSynchronousContinuations = true });

    public LineInput(TextReader input)
    {
        var reader = new Thread(() => Pump(input)) { IsBackground = true, Name = "p2p console input" };
        reader.Start();
    }

    private void Pump(TextReader input)
    {
        try
        {
            while (input.ReadLine() is { } line) _lines.Writer.TryWrite(line);
            _lines.Writer.TryComplete();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            _lines.Writer.TryComplete(); // the input went away: as its end
        }
    }

    /// <summary>The next line (without its end of line), or null once the input has ended.</summary>
    /// <exception cref="OperationCanceledException">When <paramref name="cancel"/> is cancelled first.</exception>
    public async Task<string?> ReadLineAsync(CancellationToken cancel)
    {
        while (await _lines.Reader.WaitToReadAsync(cancel))
        {
            if (_lines.Reader.TryRead(out var line)) return line;
        }
        return null;
    }
}
