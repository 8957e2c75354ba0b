using P2P.Actors.Chat;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace P2P.Host.Chat;

/// <summary>
/// The progress of file transfers on a console, for the ICE chat and <c>p2p host</c>. On an interactive console
/// (a terminal that understands ANSI) each running transfer is a Spectre <see cref="ProgressTask"/> in one live
/// <see cref="Progress"/> display with its bar, percentage, rate and time left, shown while any transfer runs. The rate
/// is the chat session's own (<see cref="ChatProtocol.FileProgress.BytesPerSecond"/>), not Spectre's estimate from the
/// updates, which counts the bytes a bar starts with (a resumed file, a bar made at the first report) as sent at once. The display is redrawn only when a transfer
/// reports progress (no refresh timer), and every other line goes above it through <see cref="WriteLine"/>, so the
/// chat's lines stay readable and a line being typed is redrawn over at most twice a second. When the output is
/// redirected (a pipe, a file, a test) each transfer prints a plain line with the percentage, the rate and the ETA
/// instead, at most once per <paramref name="plainInterval"/>.
/// Thread-safe: the console's event loop shows events while other threads write lines.
/// </summary>
/// <param name="console">Where the live display goes, and the lines written while it is shown.</param>
/// <param name="plainLine">Writes one plain line (with no live display, and on a console that is not interactive).</param>
/// <param name="prefix">Put before a transfer's line or label, from its scope (<c>p2p host</c>: "[session] "); nothing when null.</param>
/// <param name="plainInterval">Shortest time between two plain lines of one transfer; one second when null.</param>
/// <param name="time">The clock of the rates and the plain lines' pacing; the system's when null.</param>
public sealed class TransferProgress(IAnsiConsole console, Action<string> plainLine, Func<string, string>? prefix = null, TimeSpan? plainInterval = null,
    TimeProvider? time = null)
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly TimeSpan _plainInterval = plainInterval ?? TimeSpan.FromSeconds(1);
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProgressTask> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _lastLine = new(StringComparer.Ordinal);
    private volatile ProgressContext? _context;
    private Task? _display;
    private TaskCompletionSource? _finish;

    /// <summary>True when the console shows live bars (interactive and ANSI-capable), false when it gets plain lines.</summary>
    public bool Interactive { get; private set; } = console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi;

    /// <summary>A live display is on the console now: other output must go through <see cref="WriteLine"/>.</summary>
    public bool Live => _context is not null;

    /// <summary>
    /// Takes a chat event of the chat <paramref name="scope"/> (a session id: file ids are unique only within a chat).
    /// True when the event was shown here (progress); false when the caller should print its usual line
    /// (<see cref="ChatEventText.Describe"/>) for it. A completed or failed transfer's bar ends.
    /// </summary>
    public bool Show(string scope, ChatProtocol.IChatEvent e)
    {
        if (FileId(e) is not { } id) return false;
        lock (_gate) return Show(scope, $"{scope}/{id}", e);
    }

    private bool Show(string scope, string transfer, ChatProtocol.IChatEvent e)
    {
        switch (e)
        {
            case ChatProtocol.FileOffered o:
                _names[transfer] = o.Name;
                return false;
            case ChatProtocol.FileOfferSent s:
                _names[transfer] = s.Name;
                return false;
            case ChatProtocol.FileProgress p:
                if (!Interactive || !Update(scope, transfer, p.Id, p.Bytes, p.Total, p.BytesPerSecond)) PrintLine(scope, transfer, p);
                return true;
            case ChatProtocol.FileResumed r when Interactive && _tasks.TryGetValue(transfer, out var resumed):
                resumed.Value = r.Offset;
                return false;
            case ChatProtocol.FileCompleted:
                End(transfer, completed: true);
                return false;
            case ChatProtocol.FileFailed or ChatProtocol.FileInterrupted:
                End(transfer, completed: false);
                return false;
            default:
                return false;
        }
    }

    /// <summary>A line for the user: above the live bars while they are shown (the console's render hook keeps them below), else plainly.</summary>
    public void WriteLine(string text)
    {
        lock (_gate)
        {
            if (Live) console.WriteLine(text);
            else plainLine(text);
        }
    }

    /// <summary>Ends every bar (a transfer still running stays where it got to) and waits for the display to finish drawing.</summary>
    public void EndAll()
    {
        lock (_gate)
        {
            foreach (var key in _tasks.Keys.ToList()) End(key, completed: false);
        }
    }

    /// <summary>The file a transfer event is about; null for events that are not about one file.</summary>
    public static string? FileId(ChatProtocol.IChatEvent e) => e switch
    {
        ChatProtocol.FileOffered o => o.Id,
        ChatProtocol.FileOfferSent s => s.Id,
        ChatProtocol.FileProgress p => p.Id,
        ChatProtocol.FileResumed r => r.Id,
        ChatProtocol.FileCompleted c => c.Id,
        ChatProtocol.FileFailed f => f.Id,
        ChatProtocol.FileInterrupted i => i.Id,
        _ => null,
    };

    private void PrintLine(string scope, string transfer, ChatProtocol.FileProgress p)
    {
        var now = _time.GetUtcNow();
        if (_lastLine.TryGetValue(transfer, out var last) && now - last < _plainInterval && p.Bytes < p.Total) return;
        _lastLine[transfer] = now;
        plainLine(prefix?.Invoke(scope) + ChatEventText.Describe(p, c => c));
    }

    /// <summary>The transfer's bar moved; false when no live display could be started (the console then gets plain lines).</summary>
    private bool Update(string scope, string transfer, string id, long bytes, long total, double rate)
    {
        if (!_tasks.TryGetValue(transfer, out var task))
        {
            if ((_context ?? StartDisplay()) is not { } context) return false;
            var label = prefix?.Invoke(scope) + (_names.TryGetValue(transfer, out var name) ? $"file {id} '{name}'" : $"file {id}");
            _tasks[transfer] = task = context.AddTask(Markup.Escape(label), autoStart: true, maxValue: Math.Max(1, total));
        }
        task.MaxValue = Math.Max(1, total);
        task.Value = bytes;
        task.State.Update<double>(RateKey, _ => rate);
        _context!.Refresh();
        return true;
    }

    private void End(string transfer, bool completed)
    {
        _names.Remove(transfer);
        _lastLine.Remove(transfer);
        if (!_tasks.Remove(transfer, out var task)) return;
        if (completed) task.Value = task.MaxValue;
        task.StopTask();
        _context?.Refresh();
        if (_tasks.Count > 0) return;
        // no transfer left: the display ends, its last bars stay on the screen above what follows; it draws them on a
        // thread of its own, and what the caller prints next must come after (a console thread, not an actor, waits)
        _context = null;
        _finish?.TrySetResult();
        if (_display is { } display)
        {
            ((IAsyncResult)display).AsyncWaitHandle.WaitOne();
            if (display.IsFaulted) Interactive = false; // the display broke: plain lines from now on
        }
        _display = null;
    }

    private ProgressContext? StartDisplay()
    {
        var started = new TaskCompletionSource<ProgressContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = _finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _display = new Progress(console, _time)
            .AutoRefresh(false)
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                new RateColumn(), new TimeLeftColumn())
            .StartAsync(async context =>
            {
                started.TrySetResult(context);
                await finish.Task;
            });
        // StartAsync calls the delegate before its first await, so the context is normally there already (a console
        // thread, not an actor, may wait otherwise). A display that ended first could not start (another live display
        // holds the console): plain lines from then on.
        if (Task.WhenAny(started.Task, _display).GetAwaiter().GetResult() != started.Task)
        {
            Interactive = false;
            return null;
        }
        return _context = started.Task.Result;
    }

    private const string RateKey = "p2p.rate";

    /// <summary>The transfer's rate as the chat session measured it, in the units of the plain lines ("812.0 KiB/s").</summary>
    private sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text($"{ChatEventText.Size((long)task.State.Get<double>(RateKey))}/s");
    }

    /// <summary>Time left at the session's rate, as the plain lines say it ("00:01:05").</summary>
    private sealed class TimeLeftColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(ChatEventText.Eta((long)task.Value, (long)task.MaxValue, task.State.Get<double>(RateKey)));
    }
}
