using System.Text.RegularExpressions;
using P2P.Actors.Chat;
using P2P.Host.Chat;
using Spectre.Console;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Host;

/// <summary>
/// A progress bar with rate and time left, at the chat-text layer that the ICE chat and <c>p2p host</c>
/// share (<see cref="TransferProgress"/>): a Spectre progress bar with its transfer-speed and remaining-time columns on
/// an interactive console, plain lines with the percentage, the rate and the ETA at a bounded rate otherwise.
/// </summary>
public sealed class TransferProgressTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void Redirected_output_gets_plain_lines_with_percent_rate_and_eta_at_a_bounded_rate()
    {
        var time = new ManualTime();
        var lines = new List<string>();
        var console = Console(interactive: false, new StringWriter());
        var progress = new TransferProgress(console, lines.Add, prefix: s => $"[{s}] ", plainInterval: TimeSpan.FromSeconds(1), time: time);
        Assert.False(progress.Interactive);

        Assert.False(progress.Show("alice-bob-1", new ChatProtocol.FileOffered("3", "report.bin", 10 * MiB)));
        Assert.True(progress.Show("alice-bob-1", new ChatProtocol.FileProgress("3", 4 * MiB, 10 * MiB, 2 * MiB)));
        // more progress within the interval: shown (taken), but no new line
        for (int i = 1; i <= 5; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(150));
            Assert.True(progress.Show("alice-bob-1", new ChatProtocol.FileProgress("3", 4 * MiB + i * 100_000, 10 * MiB, 2 * MiB)));
        }
        time.Advance(TimeSpan.FromMilliseconds(300));
        progress.Show("alice-bob-1", new ChatProtocol.FileProgress("3", 9 * MiB, 10 * MiB, 4 * MiB));
        // another transfer on another session has a pace of its own
        progress.Show("bob-alice-1", new ChatProtocol.FileProgress("3", 20_000, 100_000, 5_000));
        Assert.False(progress.Show("alice-bob-1", new ChatProtocol.FileCompleted("3", "/tmp/report.bin", "ab")));

        foreach (var line in lines) output.WriteLine(line);
        Assert.Equal(
        [
            "[alice-bob-1] file 3: 40% (4096.0 KiB of 10.0 MiB), 2048.0 KiB/s, ETA 00:00:03",
            "[alice-bob-1] file 3: 90% (9216.0 KiB of 10.0 MiB), 4096.0 KiB/s, ETA 00:00:01",
            "[bob-alice-1] file 3: 20% (19.5 KiB of 97.7 KiB), 5000 B/s, ETA 00:00:16",
        ], lines);
    }

    [Fact]
    public void An_interactive_console_shows_a_spectre_bar_with_rate_and_time_left_and_lines_go_above_it()
    {
        var time = new ManualTime();
        var lines = new List<string>();
        var screen = new StringWriter();
        var progress = new TransferProgress(Console(interactive: true, screen), lines.Add, time: time);
        Assert.True(progress.Interactive);

        progress.Show("chat", new ChatProtocol.FileOffered("7", "video.mp4", 8 * MiB));
        for (int i = 1; i <= 4; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            Assert.True(progress.Show("chat", new ChatProtocol.FileProgress("7", i * MiB, 8 * MiB, MiB)));
        }
        Assert.True(progress.Live);
        progress.WriteLine("Received: still chatting");
        Assert.False(progress.Show("chat", new ChatProtocol.FileCompleted("7", "/tmp/video.mp4", "ab")));
        Assert.False(progress.Live);

        var drawn = Regex.Replace(screen.ToString(), @"\x1b\[[0-9;?]*[A-Za-z]", ""); // without the cursor and colour sequences
        output.WriteLine(drawn);
        Assert.Empty(lines); // nothing went around the display
        Assert.Contains("file 7 'video.mp4'", drawn);
        // percentage, the session's rate (1 MiB/s) and the time left at that rate (4 MiB to go)
        Assert.Matches(@"file 7 'video\.mp4' ━+ +50% 1024\.0 KiB/s 00:00:04", drawn);
        Assert.Contains("100%", drawn);         // completed
        Assert.Contains("Received: still chatting", drawn);
        Assert.Contains("\x1b[", screen.ToString()); // drawn in place with ANSI sequences, not as lines
    }

    [Fact]
    public void A_bar_that_starts_late_in_a_transfer_shows_the_sessions_rate_not_its_first_jump_as_speed()
    {
        // A resumed file, or a bar made at the first report, starts with megabytes already there; an estimate from
        // the bar's own updates would show those as sent in an instant (Spectre's speed column read GiB/s here).
        var time = new ManualTime();
        var screen = new StringWriter();
        var progress = new TransferProgress(Console(interactive: true, screen), _ => { }, time: time);

        progress.Show("chat", new ChatProtocol.FileOffered("9", "disk.img", 10 * MiB));
        progress.Show("chat", new ChatProtocol.FileResumed("9", 6 * MiB));
        time.Advance(TimeSpan.FromMilliseconds(10));
        progress.Show("chat", new ChatProtocol.FileProgress("9", 6 * MiB, 10 * MiB, 512 * 1024));
        time.Advance(TimeSpan.FromMilliseconds(10));
        progress.Show("chat", new ChatProtocol.FileProgress("9", 7 * MiB, 10 * MiB, 512 * 1024));
        progress.EndAll();

        var drawn = Regex.Replace(screen.ToString(), @"\x1b\[[0-9;?]*[A-Za-z]", "");
        output.WriteLine(drawn);
        Assert.Matches(@"file 9 'disk\.img' ━+ +70% 512\.0 KiB/s 00:00:06", drawn);
        Assert.DoesNotContain("GiB/s", drawn);
    }

    private static IAnsiConsole Console(bool interactive, TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = interactive ? AnsiSupport.Yes : AnsiSupport.No,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 160;
        return console;
    }

    /// <summary>A clock the test moves by hand: the rates Spectre computes and the pacing of the plain lines follow it.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

        public void Advance(TimeSpan by) => _now += by;

        public override DateTimeOffset GetUtcNow() => _now;

        public override long GetTimestamp() => _now.UtcTicks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }
}
