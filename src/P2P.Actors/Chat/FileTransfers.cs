using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using P2P.Protocol.Chat;

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

/// <summary>The SHA-256 of a file, the integrity check of a transfer: the sender's before it offers, the receiver's of the .part it wrote.</summary>
internal static class FileSha256
{
    /// <summary>Bytes read at once: 1 MiB (the receiver's 4 KiB stream reads were 12,800 system calls per 50 MiB).</summary>
    private const int ReadSize = 1 << 20;

    /// <summary>Lower-case hex SHA-256 of the first <paramref name="length"/> bytes (fewer when the file ends first). Runs off the actor.</summary>
    public static string Of(SafeFileHandle handle, long length)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
        try
        {
            for (long offset = 0; offset < length;)
            {
                int n = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(ReadSize, length - offset)), offset);
                if (n == 0) break;
                sha.AppendData(buffer, 0, n);
                offset += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
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

    public FileOffer Offer => new(Id, Name, Size, Sha256);
}

/// <summary>What the receiver of a file does about acknowledging a chunk it wrote (<see cref="ChunkAcks.Written"/>).</summary>
internal enum ChunkAck
{
    /// <summary>Acknowledge now.</summary>
    Now,
    /// <summary>Tell the actor a marker; acknowledge when it comes round (<see cref="ChunkAcks.MarkerBack"/>).</summary>
    AfterQueued,
    /// <summary>A marker is out already: its return acknowledges this chunk too.</summary>
    Later,
}

/// <summary>
/// When the receiver of a file acknowledges the chunks it wrote. An acknowledgement carries the bytes written so far,
/// so one stands for every chunk before it: the receiver acknowledges once the chunks that were queued for it are
/// written (a marker it told itself after the first of them comes round), at the latest after <c>most</c> chunks,
/// and always the last chunk of the file. A sender whose window is smaller than <c>most</c> is acknowledged as soon
/// as its chunks stop coming, so it never waits on this. Chunks that arrive one at a time are acknowledged one at a
/// time, as before; a burst of them (the usual case while a file streams) costs one acknowledgement, and with it one
/// message through the association, DTLS and the socket on both sides, instead of one per chunk.
/// </summary>
internal sealed class ChunkAcks(int most)
{
    private int _unacknowledged;
    private bool _markerOut;

    /// <summary>A chunk was written; <paramref name="last"/>: the file is whole.</summary>
    public ChunkAck Written(bool last)
    {
        _unacknowledged++;
        if (last || _unacknowledged >= most)
        {
            _unacknowledged = 0;
            return ChunkAck.Now;
        }
        if (_markerOut) return ChunkAck.Later;
        _markerOut = true;
        return ChunkAck.AfterQueued;
    }

    /// <summary>The marker came round: every chunk queued before it is written. True when some are still unacknowledged (acknowledge now).</summary>
    public bool MarkerBack()
    {
        _markerOut = false;
        if (_unacknowledged == 0) return false;
        _unacknowledged = 0;
        return true;
    }
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
    /// <summary>When to acknowledge what was written; made afresh when the receiving (re)starts.</summary>
    public ChunkAcks? Acks { get; set; }
    /// <summary>
    /// SHA-256 of the bytes written, as they were written in order from the first byte; null when the .part held some
    /// already or the chat restarted since (the .part is then read back and hashed once whole, <see cref="FileSha256"/>).
    /// </summary>
    public IncrementalHash? Running { get; set; }

    /// <summary>Closes the file and drops the running hash.</summary>
    public void Close()
    {
        Handle?.Dispose();
        Handle = null;
        Running?.Dispose();
        Running = null;
    }
}

/// <summary>
/// Checks on names offered by the peer: a bare file name that stays inside the download folder and shows what it is.
/// Anything a Linux file name may hold is accepted ("report..v2.pdf", "meeting 10:30.txt"), except paths ("/", "\",
/// "." and ".."), control characters, line and paragraph separators, invisible characters and the bidirectional
/// controls (U+202E RIGHT-TO-LEFT OVERRIDE shows "invoice\u202Efdp.exe" as "invoiceexe.pdf"): those are refused, and
/// the refusal shows them escaped as &lt;U+202E&gt;.
/// </summary>
public static class OfferedName
{
    private const string Outside = "refused so that nothing is written outside the download folder";

    /// <summary>Null when <paramref name="name"/> is acceptable, else why not.</summary>
    public static string? Problem(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) return "the offered file name is empty";
        if (name.Length > 255) return "the offered file name is longer than 255 characters";
        if (Path.IsPathRooted(name) || name.Contains('/') || name.Contains('\\'))
            return $"the offered name '{Printable(name)}' is a path, not a file name; {Outside}";
        if (name is "." or "..")
            return $"the offered name '{name}' names a folder, not a file; {Outside}";
        if (FirstHidden(name) is { } hidden)
            return $"the offered name '{Printable(name)}' contains {Escape(hidden)}, one of the characters that are invisible, break the line or " +
                "reorder the text around them (they can disguise a file's real extension); refused";
        if (name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            return $"the offered name '{Printable(name)}' contains characters a file name cannot have";
        if (name.EndsWith(".part", StringComparison.OrdinalIgnoreCase)) return $"the offered name '{Printable(name)}' ends in .part, which this side uses for partial files";
        return null;
    }

    /// <summary>
    /// Controls (Cc), line and paragraph separators, the Unicode bidirectional controls (UAX #9: ALM, LRM, RLM, LRE, RLE,
    /// PDF, LRO, RLO, LRI, RLI, FSI, PDI), zero-width space, word joiner, invisible operators, byte-order mark and soft
    /// hyphen, and unpaired surrogates. Zero-width joiners stay: emoji sequences and several scripts need them.
    /// </summary>
    private static bool IsHidden(char c) =>
        char.IsControl(c) || char.IsSurrogate(c)
        || c is '\u061C' or '\u200B' or '\u200E' or '\u200F' or '\u2028' or '\u2029' or '\uFEFF' or '\u00AD'
        || c is >= '\u202A' and <= '\u202E' || c is >= '\u2060' and <= '\u2064' || c is >= '\u2066' and <= '\u2069';

    private static char? FirstHidden(string name)
    {
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsHighSurrogate(name[i]) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                i++; // a whole pair: a character outside the BMP (emoji, CJK extensions)
                continue;
            }
            if (IsHidden(name[i])) return name[i];
        }
        return null;
    }

    private static string Escape(char c) => $"<U+{(int)c:X4}>";

    /// <summary>The name as it may be shown: hidden characters escaped, at most 80 characters of it.</summary>
    public static string Printable(string name)
    {
        var shown = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length && shown.Length < 80; i++)
        {
            bool pair = char.IsHighSurrogate(name[i]) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]);
            if (pair) shown.Append(name, i++, 2);
            else if (IsHidden(name[i])) shown.Append(Escape(name[i]));
            else shown.Append(name[i]);
        }
        return shown.ToString();
    }
}

/// <summary>
/// Checks on a file this side is asked to send: only regular files, whose size is what reading them gives. A directory
/// is named as one; a device (/dev/zero has no end), a FIFO (opening it waits for a writer) or a socket is refused
/// before it is opened; a /proc or /sys file, whose size says 0 bytes though it reads as text, after.
/// </summary>
public static class SendableFile
{
    /// <summary>Null when <paramref name="path"/> may be opened for sending, else a sentence.</summary>
    public static string? ProblemBeforeOpening(string path)
    {
        if (Directory.Exists(path))
            return $"cannot send '{path}': it is a directory; send the files in it one by one, or an archive of it";
        return FileType.Of(path) is { } type && type != FileType.Regular ? NotRegular(path, type) : null;
    }

    /// <summary>Null when the opened file may be sent, else a sentence (the caller closes the handle).</summary>
    public static string? ProblemAfterOpening(string path, SafeFileHandle handle, long size)
    {
        if (FileType.Of(handle) is { } type && type != FileType.Regular) return NotRegular(path, type);
        if (size == 0 && RandomAccess.Read(handle, stackalloc byte[1], 0) > 0)
            return $"cannot send '{path}': it is not a regular file: its size says 0 bytes but it reads as more (a /proc or /sys file); " +
                "copy it into a regular file and send that";
        return null;
    }

    private static string NotRegular(string path, int type) =>
        $"cannot send '{path}': it is not a regular file but {FileType.Describe(type)}; only regular files can be sent";
}

/// <summary>The file type bits of stat(2) (S_IFMT), read with Linux's statx(2); null elsewhere or when it cannot be read.</summary>
internal static class FileType
{
    public const int Regular = 0x8000;
    private const int AtFdCwd = -100, AtEmptyPath = 0x1000, StatxType = 0x1, ModeOffset = 28, BufferBytes = 256;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, string path, int flags, uint mask, [System.Runtime.InteropServices.Out] byte[] buffer);

    public static int? Of(string path) => Statx(AtFdCwd, path, 0);

    public static int? Of(SafeFileHandle handle)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Statx((int)handle.DangerousGetHandle(), string.Empty, AtEmptyPath);
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    private static int? Statx(int dirfd, string path, int flags)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var buffer = new byte[BufferBytes];
        try
        {
            if (statx(dirfd, path, flags, StatxType, buffer) != 0) return null; // missing or unreadable: opening it says why
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        return BitConverter.ToUInt16(buffer, ModeOffset) & 0xF000; // struct statx is in the machine's byte order
    }

    public static string Describe(int type) => type switch
    {
        0x4000 => "a directory",
        0x2000 => "a character device",
        0x6000 => "a block device",
        0x1000 => "a FIFO (named pipe)",
        0xC000 => "a socket",
        0xA000 => "a symbolic link",
        _ => $"a special file (type 0x{type:x4})",
    };
}
