using Microsoft.Win32.SafeHandles;

namespace P2P.Actors.Chat;

/// <summary>Rate and pacing of <see cref="ChatProtocol.FileProgress"/> for one transfer.</summary>
internal sealed class TransferClock
{
    private DateTime _start, _last;
    private long _startBytes;

    /// <summary>Counts the rate from <paramref name="bytes"/> now (a start or a resume).</summary>
    public void Restart(long bytes)
    {
        _start = _last = DateTime.UtcNow;
        _startBytes = bytes;
    }

    /// <summary>A progress event when the interval has passed since the last one, with the rate since the (re)start.</summary>
    public ChatProtocol.FileProgress? Report(string id, long bytes, long total, TimeSpan interval)
    {
        var now = DateTime.UtcNow;
        if (now - _last < interval) return null;
        _last = now;
        double seconds = (now - _start).TotalSeconds;
        return new ChatProtocol.FileProgress(id, bytes, total, seconds > 0 ? (bytes - _startBytes) / seconds : 0);
    }
}

/// <summary>A file this side offers: read one chunk at a time from <see cref="Handle"/>.</summary>
internal sealed class OutgoingFile(string id, string path)
{
    public enum Stage { Hashing, Offered, Accepted, Sending }

    public string Id { get; } = id;
    public string Path { get; } = path;
    public string Name { get; } = System.IO.Path.GetFileName(path);
    public string Label => ChatSession.FileLabelPrefix + Id;
    public Stage State { get; set; } = Stage.Hashing;
    public SafeFileHandle? Handle { get; set; }
    public long Size { get; set; }
    public string Sha256 { get; set; } = "";
    /// <summary>Next byte to send, and bytes the receiver confirmed written.</summary>
    public long Next { get; set; }
    public long Acked { get; set; }
    public bool ChannelOpen { get; set; }
    public TransferClock Clock { get; } = new();

    public ChatFrame Offer => new("offer") { Id = Id, Name = Name, Size = Size, Sha256 = Sha256 };
}

/// <summary>A file the peer offers: written to <see cref="PartPath"/>, renamed to <see cref="Target"/> once verified.</summary>
internal sealed class IncomingFile(string id, string name, long size, string sha256, string folder)
{
    public enum Stage { Offered, Confirming, Receiving, Verifying }

    public string Id { get; } = id;
    public string Name { get; } = name;
    public long Size { get; } = size;
    public string Sha256 { get; } = sha256;
    public string Target { get; } = Path.Combine(folder, name);
    public string PartPath => Target + ".part";
    public Stage State { get; set; } = Stage.Offered;
    public bool Overwrite { get; set; }
    public SafeFileHandle? Handle { get; set; }
    public long Written { get; set; }
    /// <summary>Its "file-&lt;id&gt;" channel is open (the sender opens it): only then may "ready" be said.</summary>
    public bool ChannelOpen { get; set; }
    public TransferClock Clock { get; } = new();
}

/// <summary>Checks on names offered by the peer: a bare file name that stays inside the download folder.</summary>
public static class OfferedName
{
    private static readonly char[] Invalid = [.. Path.GetInvalidFileNameChars(), '/', '\\', ':', '*', '?', '"', '<', '>', '|'];

    /// <summary>Null when <paramref name="name"/> is acceptable, else why not.</summary>
    public static string? Problem(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) return "the offered file name is empty";
        if (name.Length > 255) return "the offered file name is longer than 255 characters";
        if (Path.IsPathRooted(name) || name.Contains('/') || name.Contains('\\'))
            return $"the offered name '{Printable(name)}' is a path, not a file name; refused so that nothing is written outside the download folder";
        if (name == "." || name.Contains(".."))
            return $"the offered name '{Printable(name)}' contains '..'; refused so that nothing is written outside the download folder";
        if (name.IndexOfAny(Invalid) >= 0 || name.Any(char.IsControl))
            return $"the offered name '{Printable(name)}' contains characters a file name cannot have";
        if (name.EndsWith(".part", StringComparison.OrdinalIgnoreCase)) return $"the offered name '{Printable(name)}' ends in .part, which this side uses for partial files";
        return null;
    }

    private static string Printable(string name) => new(name.Select(c => char.IsControl(c) ? '?' : c).Take(80).ToArray());
}
