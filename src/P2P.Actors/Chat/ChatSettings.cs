using Akka.Configuration;

namespace P2P.Actors.Chat;

/// <summary>Settings of <see cref="ChatSession"/>, read once from <c>p2p.chat</c> in <c>akka.hocon</c>.</summary>
/// <param name="DownloadFolder">Where accepted files are written (as <c>&lt;name&gt;.part</c> until verified).</param>
/// <param name="ChunkSize">Bytes of file data per data channel message (below sctp.max-message-size).</param>
/// <param name="Window">File chunks sent and not yet acknowledged by the receiver, at most.</param>
/// <param name="ProgressInterval">Shortest time between two <see cref="ChatProtocol.FileProgress"/> events of one transfer.</param>
/// <param name="ReopenDelay">Wait before the side that opens a channel opens it again after it closed.</param>
/// <param name="FaultsPerMinute">Restarts after a fault within a minute, at most; one more stops the chat (<see cref="ChatProtocol.ChatStopped"/>).</param>
/// <param name="AckEvery">The receiver of a file acknowledges at the latest after this many chunks written (<see cref="ChunkAcks"/>).</param>
/// <param name="LineAckDelay">
/// The receiver of chat lines acknowledges the lines shown in order at most this long after the first of them, one
/// cumulative <c>ack</c> for all that came meanwhile; zero acknowledges each line at once.
/// </param>
public sealed record ChatSettings(string DownloadFolder, int ChunkSize, int Window, TimeSpan ProgressInterval, TimeSpan ReopenDelay, int FaultsPerMinute = 10, int AckEvery = 8, int WarmUpLines = 48, TimeSpan WarmUpLineInterval = default, TimeSpan LineAckDelay = default)
{
    public const string Section = "p2p.chat";

    /// <summary>The values of <c>akka.hocon</c>, with downloads in the user's Downloads folder.</summary>
    public static readonly ChatSettings Default = new(
        DownloadFolder: DefaultDownloadFolder(),
        ChunkSize: 16 * 1024 - 64,
        Window: 32,
        ProgressInterval: TimeSpan.FromMilliseconds(500),
        ReopenDelay: TimeSpan.FromSeconds(1),
        FaultsPerMinute: 10,
        AckEvery: 8,
        WarmUpLines: 48,
        WarmUpLineInterval: TimeSpan.FromMilliseconds(10),
        LineAckDelay: TimeSpan.FromMilliseconds(200));

    /// <summary>The <c>p2p.chat</c> section of <paramref name="config"/> when it has one, else <see cref="Default"/>.</summary>
    public static ChatSettings OrDefault(Config config) => config.HasPath(Section) ? From(config) : Default;

    public static ChatSettings From(Config config)
    {
        var c = config.GetConfig(Section);
        if (c is null || c.IsEmpty) throw new ConfigurationException($"configuration section '{Section}' is missing (see akka.hocon)");
        string folder = c.GetString("download-folder", "");
        var settings = new ChatSettings(
            DownloadFolder: string.IsNullOrWhiteSpace(folder) ? DefaultDownloadFolder() : folder,
            ChunkSize: c.GetInt("chunk-size"),
            Window: c.GetInt("window"),
            ProgressInterval: c.GetTimeSpan("progress-interval"),
            ReopenDelay: c.GetTimeSpan("reopen-delay"),
            FaultsPerMinute: c.GetInt("faults-per-minute"),
            AckEvery: c.GetInt("ack-every", Default.AckEvery),
            WarmUpLines: c.GetInt("warm-up-lines", Default.WarmUpLines),
            WarmUpLineInterval: c.HasPath("warm-up-line-interval") ? c.GetTimeSpan("warm-up-line-interval") : Default.WarmUpLineInterval,
            LineAckDelay: c.HasPath("line-ack-delay") ? c.GetTimeSpan("line-ack-delay") : Default.LineAckDelay);
        settings.Validate();
        return settings;
    }

    public void Validate()
    {
        if (ChunkSize is < 1024 or > 256 * 1024) throw new ConfigurationException($"'{Section}.chunk-size' must be 1 KiB..256 KiB (sctp.max-message-size), not {ChunkSize}");
        if (Window < 1) throw new ConfigurationException($"'{Section}.window' must be at least 1, not {Window}");
        if (ProgressInterval < TimeSpan.Zero || ReopenDelay <= TimeSpan.Zero)
            throw new ConfigurationException($"'{Section}': progress-interval must not be negative and reopen-delay must be positive");
        if (AckEvery < 1) throw new ConfigurationException($"'{Section}.ack-every' must be at least 1, not {AckEvery}");
        if (LineAckDelay < TimeSpan.Zero || LineAckDelay > TimeSpan.FromSeconds(1))
            throw new ConfigurationException($"'{Section}.line-ack-delay' must be 0..1s (0 acknowledges each line at once; the sender waits at most p2p.close-timeout for acks at the end of input), not {LineAckDelay}");
        if (WarmUpLineInterval < TimeSpan.Zero) throw new ConfigurationException($"'{Section}.warm-up-line-interval' must not be negative, not {WarmUpLineInterval}");
        if (WarmUpLines < 0) throw new ConfigurationException($"'{Section}.warm-up-lines' must not be negative (0 turns the warm-up off), not {WarmUpLines}");
        if (FaultsPerMinute < 0) throw new ConfigurationException($"'{Section}.faults-per-minute' must not be negative, not {FaultsPerMinute}");
    }

    private static string DefaultDownloadFolder()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? Path.Combine(Path.GetTempPath(), "p2p-downloads") : Path.Combine(home, "Downloads");
    }
}
