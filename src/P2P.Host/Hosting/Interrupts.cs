using System.Runtime.InteropServices;

namespace P2P.Host.Hosting;

/// <summary>
/// Ctrl+C and SIGTERM, the same in every mode. The first signal cancels <see cref="Token"/>: the
/// command then stops the way it stops on "quit" (the other side is told, TURN allocations are released) and returns.
/// A second signal, or a stop that outlasts <c>p2p.stop-timeout</c>, ends the process at once with exit code 130, so
/// no stuck server or peer can keep the user waiting.
/// </summary>
public sealed class Interrupts : IDisposable
{
    /// <summary>The exit code of a command stopped by a signal, as a shell reports Ctrl+C.</summary>
    public const int ExitCode = 130;

    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;
    private readonly string _name;
    private readonly TimeSpan _limit;
    private readonly TextWriter _status;
    private readonly bool _cancelOnFirst;
    private int _signals;

    private Interrupts(string name, TimeSpan limit, TextWriter status, CancellationToken outer, bool cancelOnFirst)
    {
        _name = name;
        _limit = limit;
        _status = status;
        _cancelOnFirst = cancelOnFirst;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>
    /// Takes SIGINT and SIGTERM for a command that stops itself: the first cancels <see cref="Token"/>.
    /// </summary>
    /// <param name="name">How the program names itself in the one line it prints when it has to force the exit ("p2p host").</param>
    /// <param name="limit">How long the stop may take after the first signal (<c>p2p.stop-timeout</c>).</param>
    public static Interrupts Take(string name, TimeSpan limit, TextWriter status, CancellationToken outer = default) =>
        new(name, limit, status, outer, cancelOnFirst: true);

    /// <summary>
    /// For a command whose first signal the generic host handles (it stops the host: the relay, the signaling
    /// server): only the second signal and the time limit are watched here.
    /// </summary>
    public static Interrupts Watch(string name, TimeSpan limit, TextWriter status) =>
        new(name, limit, status, CancellationToken.None, cancelOnFirst: false);

    /// <summary>Cancelled by the first SIGINT or SIGTERM (or by the outer token).</summary>
    public CancellationToken Token => _stop.Token;

    private void OnSignal(PosixSignalContext context)
    {
        int count = Interlocked.Increment(ref _signals);
        if (count > 1)
        {
            Force($"{_name}: stopped at once (second {context.Signal}).");
            return;
        }
        if (_cancelOnFirst)
        {
            context.Cancel = true; // this process stops itself, in order
            // the token's callbacks run the command's stop: not on the signal's thread, which must return at once
            _ = Task.Run(() =>
            {
                try { _stop.Cancel(); }
                catch (ObjectDisposedException) { }
            });
        }
        // else: the generic host's own handler stops it (and sets Cancel itself)
        _ = Task.Delay(_limit).ContinueWith(_ => Force($"{_name}: did not stop within {_limit.TotalSeconds:0.#} s; stopped at once."), TaskScheduler.Default);
    }

    private void Force(string line)
    {
        try
        {
            _status.WriteLine(line);
            _status.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        ExitNow(ExitCode);
    }

    /// <summary>
    /// Ends the process without running exit handlers: Akka's CLR shutdown hook would otherwise run a coordinated
    /// shutdown first, which is what a forced stop must not wait for.
    /// </summary>
    private static void ExitNow(int code)
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            Console.Out.Flush();
            _exit(code);
        }
        Environment.Exit(code);
    }

    [DllImport("libc", EntryPoint = "_exit")]
    private static extern void _exit(int status);

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _stop.Dispose();
    }
}
