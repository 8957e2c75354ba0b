using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace P2P.Actors.Chat;

/// <summary>
/// What travels on the "chat" channel: one small JSON text message per frame, its kind in <see cref="T"/>.
/// <list type="bullet">
/// <item><c>msg</c> {e, n, text}: chat line n of the sender's epoch e (a random id of the sending ChatSession).</item>
/// <item><c>ack</c> {e, n}: every line of epoch e up to n was shown (cumulative).</item>
/// <item><c>offer</c> {id, name, size, sha256}; <c>accept</c> {id}; <c>reject</c> {id, reason};
/// <c>ready</c> {id, offset}: the receiver's .part holds offset bytes, send from there;
/// <c>done</c> {id, ok, sha256?, reason?}: the receiver's verdict; <c>cancel</c> {id, reason}: the sender gave up.</item>
/// <item><c>sync</c> {}: the sender was restarted after a fault and may have dropped a frame it was handling: send
/// again every line it has not acknowledged.</item>
/// </list>
/// </summary>
public sealed record ChatFrame(string T)
{
    public string? E { get; init; }
    public long? N { get; init; }
    public string? Text { get; init; }
    public string? Id { get; init; }
    public string? Name { get; init; }
    public long? Size { get; init; }
    public string? Sha256 { get; init; }
    public long? Offset { get; init; }
    public bool? Ok { get; init; }
    public string? Reason { get; init; }

    /// <summary>Frames larger than this are refused unread.</summary>
    public const int MaxLength = 64 * 1024;

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, ChatFrameJson.Default.ChatFrame);

    private static int _warmUpStarted;
    private static readonly TaskCompletionSource<bool> WarmUpFinished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The process's warm-up of the frame codec (<see cref="StartWarmUp"/>): true once a frame went through it both ways.</summary>
    public static Task<bool> WarmedUp => WarmUpFinished.Task;

    /// <summary>
    /// Encodes and parses a line and an acknowledgement once per process, off the caller's thread: the serializer's
    /// first use in a process (its metadata and converters) took 17-19 ms to encode and ~5 ms to parse, and that was
    /// the first chat line's time. A chat starts it when it is created, while its session still connects.
    /// </summary>
    public static void StartWarmUp()
    {
        if (Interlocked.Exchange(ref _warmUpStarted, 1) != 0) return;
        Task.Run(() =>
        {
            var line = new ChatFrame("msg") { E = "warm-up", N = 1, Text = "warm-up" };
            bool ok = TryParse(line.ToBytes(), out var parsed, out _) && parsed == line
                && TryParse(new ChatFrame("ack") { E = "warm-up", N = 1 }.ToBytes(), out _, out _);
            WarmUpFinished.TrySetResult(ok);
        });
    }

    /// <summary>Parses a frame and checks that the fields its kind needs are there.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out ChatFrame frame, out string error)
    {
        frame = new ChatFrame("");
        if (data.Length > MaxLength)
        {
            error = $"frame of {data.Length} bytes is larger than {MaxLength}";
            return false;
        }
        try
        {
            frame = JsonSerializer.Deserialize(data, ChatFrameJson.Default.ChatFrame) ?? frame;
        }
        catch (JsonException e)
        {
            error = $"not a chat frame: {e.Message}";
            return false;
        }
        error = frame.T switch
        {
            "msg" when frame.E is null || frame.N is null or < 1 || frame.Text is null => "msg without e, n or text",
            "ack" when frame.E is null || frame.N is null => "ack without e or n",
            "offer" when frame.Id is null || frame.Name is null || frame.Size is null or < 0 || frame.Sha256 is not { Length: 64 } => "offer without id, name, size or sha256",
            "ready" when frame.Id is null || frame.Offset is null or < 0 => "ready without id or offset",
            "done" when frame.Id is null || frame.Ok is null => "done without id or ok",
            "accept" or "reject" or "cancel" when frame.Id is null => $"{frame.T} without id",
            "msg" or "ack" or "offer" or "ready" or "done" or "accept" or "reject" or "cancel" or "sync" => "",
            _ => $"unknown frame kind '{frame.T}'",
        };
        return error.Length == 0;
    }
}

/// <summary>
/// The JSON of <see cref="ChatFrame"/>, generated at build time: the first line of a chat is then not held up by the
/// serializer inspecting the type by reflection (tens of milliseconds, more on a busy machine), and every frame after
/// it costs less. The wire is the same: camelCase names, absent fields left out.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, MaxDepth = 4)]
[JsonSerializable(typeof(ChatFrame))]
internal sealed partial class ChatFrameJson : JsonSerializerContext;

/// <summary>
/// What travels on a "file-&lt;id&gt;" channel, binary: from the sender a chunk (8-byte big-endian offset, then the
/// bytes); from the receiver an acknowledgement (8-byte big-endian count of bytes written so far).
/// </summary>
public static class FileChunk
{
    public const int HeaderLength = 8;

    /// <summary>
    /// A chunk frame with room for <paramref name="length"/> bytes after its header, for a read straight into it
    /// (<c>frame.AsSpan(HeaderLength)</c>): no copy from a read buffer into the frame, once per 16 KiB of every file sent.
    /// </summary>
    public static byte[] NewFrame(long offset, int length)
    {
        var frame = GC.AllocateUninitializedArray<byte>(HeaderLength + length);
        BinaryPrimitives.WriteInt64BigEndian(frame, offset);
        return frame;
    }

    public static bool TryDecode(ReadOnlyMemory<byte> frame, out long offset, out ReadOnlyMemory<byte> data)
    {
        data = default;
        offset = -1;
        if (frame.Length < HeaderLength) return false;
        offset = BinaryPrimitives.ReadInt64BigEndian(frame.Span);
        data = frame[HeaderLength..];
        return offset >= 0;
    }

    public static byte[] EncodeAck(long written)
    {
        var frame = new byte[HeaderLength];
        BinaryPrimitives.WriteInt64BigEndian(frame, written);
        return frame;
    }

    public static bool TryDecodeAck(ReadOnlySpan<byte> frame, out long written)
    {
        written = frame.Length == HeaderLength ? BinaryPrimitives.ReadInt64BigEndian(frame) : -1;
        return written >= 0;
    }
}
