using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace P2P.Actors.Tests.Support;

/// <summary>Which output of an <see cref="InteractiveProcess"/> to read.</summary>
public enum NicePeerStream
{
    Stdout,
    Stderr,
}

/// <summary>The POSIX signals a test sends to a process (Linux numbers).</summary>
public enum PosixSignalNumber
{
    SIGINT = 2,
    SIGKILL = 9,
    SIGTERM = 15,
}

/// <summary>One line a process printed, and when it was read from the pipe (<see cref="Stopwatch.GetTimestamp"/>).</summary>
public readonly record struct OutputLine(string Text, long ReadAt);

/// <summary>
/// A program under test as a running process with stdin, stdout and stderr redirected. Output is read line by
/// line, each stream by a thread of its own that stamps every line with the moment it came out of the pipe (so a
/// test that consumes lines late still knows when they were printed): <see cref="ReadLocalDescriptionAsync"/>,
/// <see cref="WaitForLineAsync"/> and <see cref="WaitForStampedLineAsync"/> consume stdout (or stderr) lines in
/// order; <see cref="Transcript"/> keeps everything for assertion messages. Disposing kills the process.
/// </summary>
public abstract class InteractiveProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<OutputLine> _stdout = Channel.CreateUnbounded<OutputLine>();
    private readonly Channel<OutputLine> _stderr = Channel.CreateUnbounded<OutputLine>();
    private readonly StringBuilder _transcript = new();
    private readonly Task _readers;

    protected InteractiveProcess(string name, Process process, IReadOnlyList<string> arguments)
    {
        Name = name;
        _process = process;
        Arguments = arguments;
        _readers = Task.WhenAll(
            Pump(process.StandardOutput, _stdout, "out"),
            Pump(process.StandardError, _stderr, "err"));
    }

    /// <summary>What it is called in messages ("nice-peer", "p2p").</summary>
    public string Name { get; }

    /// <summary>The command-line arguments it was started with.</summary>
    public IReadOnlyList<string> Arguments { get; }

    public Process Process => _process;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything it printed so far, each line prefixed with "out| " or "err| ", plus its command line.</summary>
    public string Transcript
    {
        get { lock (_transcript) return $"$ {Name} {string.Join(' ', Arguments)}\n{_transcript}"; }
    }

    /// <summary>Starts <paramref name="file"/> with stdin, stdout and stderr redirected (UTF-8, "\n" lines).</summary>
    protected static Process Launch(ProcessStartInfo info)
    {
        info.RedirectStandardInput = true;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        info.StandardInputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        info.StandardOutputEncoding = Encoding.UTF8;
        info.StandardErrorEncoding = Encoding.UTF8;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {info.FileName}");
        process.StandardInput.AutoFlush = true;
        process.StandardInput.NewLine = "\n";
        return process;
    }

    /// <summary>
    /// Reads <paramref name="reader"/> on a thread of its own, blocked in the read, so that each line is stamped as it
    /// leaves the pipe and not when a thread-pool thread gets round to it; completes when the stream ends.
    /// </summary>
    private Task Pump(StreamReader reader, Channel<OutputLine> channel, string tag)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                while (reader.ReadLine() is { } line)
                {
                    long at = Stopwatch.GetTimestamp();
                    lock (_transcript) _transcript.Append(tag).Append("| ").AppendLine(line);
                    channel.Writer.TryWrite(new OutputLine(line, at));
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // process gone
            }
            finally
            {
                channel.Writer.TryComplete();
                done.TrySetResult();
            }
        })
        { IsBackground = true, Name = $"{Name} std{tag} reader" };
        thread.Start();
        return done.Task;
    }

    /// <summary>
    /// Reads stdout lines up to the first empty line: the local description the stand-in printed
    /// (<c>nice_agent_generate_local_sdp</c>), returned with "\n" after each line and without the empty line.
    /// </summary>
    public async Task<string> ReadLocalDescriptionAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var block = new StringBuilder();
        try
        {
            while (true)
            {
                var line = (await _stdout.Reader.ReadAsync(cts.Token).ConfigureAwait(false)).Text;
                if (line.Length == 0)
                {
                    if (block.Length == 0) continue;
                    return block.ToString();
                }
                block.Append(line).Append('\n');
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no complete description within {timeout ?? TimeSpan.FromSeconds(30)}; read so far:\n{block}\n{Transcript}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"{Name} closed stdout before printing a complete description:\n{block}\n{Transcript}");
        }
    }

    /// <summary>Writes one line (a "\n" is appended) to its stdin.</summary>
    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteAsync(line + "\n").ConfigureAwait(false);
        await _process.StandardInput.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Writes a description block as printed by the other side, then the empty line that ends it.</summary>
    public async Task WriteRemoteDescriptionAsync(string description)
    {
        await _process.StandardInput.WriteAsync(description.TrimEnd('\n') + "\n\n").ConfigureAwait(false);
        await _process.StandardInput.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Closes its stdin (end of input, like Ctrl-D).</summary>
    public void CloseStdin() => _process.StandardInput.Close();

    /// <summary>Sends SIGINT (what Ctrl+C sends) or SIGTERM to the process.</summary>
    public void Signal(PosixSignalNumber signal)
    {
        if (kill(_process.Id, (int)signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    /// <summary>Every line printed so far on <paramref name="stream"/>, read or not, in order (from <see cref="Transcript"/>).</summary>
    public IReadOnlyList<string> PrintedLines(NicePeerStream stream)
    {
        string prefix = stream == NicePeerStream.Stdout ? "out| " : "err| ";
        return Transcript.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => l[prefix.Length..]).ToList();
    }

    /// <summary>
    /// Waits until <paramref name="text"/> was printed on either stream (without consuming any line), for output that may
    /// come before or after the lines a test reads; false after <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> WaitForTranscriptAsync(string text, TimeSpan timeout)
    {
        for (var waited = TimeSpan.Zero; waited < timeout; waited += TimeSpan.FromMilliseconds(50))
        {
            if (Transcript.Contains(text, StringComparison.Ordinal)) return true;
            await Task.Delay(50).ConfigureAwait(false);
        }
        return Transcript.Contains(text, StringComparison.Ordinal);
    }

    /// <summary>
    /// Consumes lines of <paramref name="stream"/> until one matches <paramref name="predicate"/> and returns it;
    /// throws (with the transcript) on timeout or when the stream ends first.
    /// </summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout, NicePeerStream stream = NicePeerStream.Stdout) =>
        (await WaitForStampedLineAsync(predicate, timeout, stream).ConfigureAwait(false)).Text;

    /// <summary>
    /// As <see cref="WaitForLineAsync"/>, with the moment the line was read from the pipe: time between two such
    /// stamps is time between the two prints, however late the test consumed them.
    /// </summary>
    public async Task<OutputLine> WaitForStampedLineAsync(Func<string, bool> predicate, TimeSpan timeout, NicePeerStream stream = NicePeerStream.Stdout)
    {
        var reader = (stream == NicePeerStream.Stdout ? _stdout : _stderr).Reader;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var line = await reader.ReadAsync(cts.Token).ConfigureAwait(false);
                if (predicate(line.Text)) return line;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no matching {stream} line within {timeout}:\n{Transcript}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"{Name}'s {stream} ended without a matching line (exited: {_process.HasExited}):\n{Transcript}");
        }
    }

    /// <summary>Waits for the process to exit (and its output to be read) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            await _readers.WaitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout}:\n{Transcript}");
        }
        return _process.ExitCode;
    }

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago (for <c>--no-ice -p</c>).</summary>
    public static int FindFreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public virtual async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try { await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
            }
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }
        finally
        {
            _process.Dispose();
        }
    }
}
