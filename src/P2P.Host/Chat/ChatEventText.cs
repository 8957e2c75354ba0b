using P2P.Actors.Chat;

namespace P2P.Host.Chat;

/// <summary>
/// How a console tells the user a chat event: one wording for the ICE chat and <c>p2p host</c>, which differ only in
/// how their commands are typed (<c>/accept 3</c> there, <c>accept bob-alice-1 3</c> here: <paramref name="command"/>
/// turns "accept 3" into the console's form).
/// </summary>
public static class ChatEventText
{
    /// <summary>One line for the user, or null for events not worth one (a received line is printed by the caller).</summary>
    public static string? Describe(ChatProtocol.IChatEvent e, Func<string, string> command) => e switch
    {
        ChatProtocol.MessageDelivered m => $"delivered #{m.Id}",
        ChatProtocol.MessageRefused r => $"p2p: not sent: {r.Reason.TrimEnd('.')}.",
        ChatProtocol.FileOfferSent s => $"offering '{s.Name}' ({Size(s.Size)}) as file {s.Id}; waiting for the other side to accept",
        ChatProtocol.FileOffered o => $"the peer offers '{o.Name}' ({Size(o.Size)}): type {command($"accept {o.Id}")} or {command($"reject {o.Id}")}",
        ChatProtocol.FileNeedsConfirmation c => $"{c.Path} exists: type {command($"accept {c.Id} overwrite")} to replace it, or {command($"reject {c.Id}")}",
        ChatProtocol.FileProgress p => $"file {p.Id}: {Percent(p.Bytes, p.Total)}% ({Size(p.Bytes)} of {Size(p.Total)}), {Size((long)p.BytesPerSecond)}/s, ETA {Eta(p)}",
        ChatProtocol.FileResumed r => $"file {r.Id}: resuming at {Size(r.Offset)}",
        ChatProtocol.FileCompleted c => $"file {c.Id}: done, {c.Path}, sha-256 {c.Sha256} verified",
        ChatProtocol.FileFailed f => $"p2p: file {f.Id}: {f.Reason.TrimEnd('.')}.",
        ChatProtocol.FileInterrupted i => $"p2p: file {i.Id}: {i.Reason.TrimEnd('.')}.",
        ChatProtocol.ChatStopped s => $"p2p: chat stopped: {s.Reason.TrimEnd('.')}.",
        _ => null,
    };

    /// <summary>Bytes for people: "812 B", "48.0 KiB", "12.5 MiB".</summary>
    public static string Size(long n) => n < 10_000 ? $"{n} B" : n < 10_000_000 ? $"{n / 1024.0:0.0} KiB" : $"{n / 1048576.0:0.0} MiB";

    /// <summary>Whole percent done, rounded down: 100 only once every byte is there.</summary>
    private static long Percent(long bytes, long total) => total <= 0 ? 100 : Math.Clamp(bytes * 100 / total, 0, 100);

    /// <summary>The time left at the current rate as hh:mm:ss (as Spectre's remaining-time column shows it), "--:--:--" without a rate yet.</summary>
    private static string Eta(ChatProtocol.FileProgress p) => Eta(p.Bytes, p.Total, p.BytesPerSecond);

    /// <summary>Time left for <paramref name="total"/> - <paramref name="bytes"/> at <paramref name="bytesPerSecond"/>: "00:01:05", "--:--:--" at no rate.</summary>
    public static string Eta(long bytes, long total, double bytesPerSecond)
    {
        if (bytes >= total) return "00:00:00";
        if (bytesPerSecond <= 0) return "--:--:--";
        double seconds = Math.Ceiling((total - bytes) / bytesPerSecond);
        if (seconds >= 100 * 3600) return ">99:59:59";
        var left = TimeSpan.FromSeconds(seconds);
        return $"{(int)left.TotalHours:00}:{left.Minutes:00}:{left.Seconds:00}";
    }
}
