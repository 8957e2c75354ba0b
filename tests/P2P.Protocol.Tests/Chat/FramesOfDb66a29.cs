using System.Text.Json;
using System.Text.Json.Serialization;

namespace P2P.Protocol.Tests.Chat;

/// <summary>
/// The chat frame as every p2p up to commit db66a29 writes and reads it (one record, one-letter properties), kept
/// verbatim apart from its name: the frames of today's records must be the same JSON, so that an older p2p and a
/// newer one still chat and send files to each other.
/// </summary>
public sealed record FrameOfDb66a29(string T)
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

    public const int MaxLength = 64 * 1024;

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, FrameOfDb66a29Json.Default.FrameOfDb66a29);

    public static bool TryParse(ReadOnlySpan<byte> data, out FrameOfDb66a29 frame, out string error)
    {
        frame = new FrameOfDb66a29("");
        if (data.Length > MaxLength)
        {
            error = $"frame of {data.Length} bytes is larger than {MaxLength}";
            return false;
        }
        try
        {
            frame = JsonSerializer.Deserialize(data, FrameOfDb66a29Json.Default.FrameOfDb66a29) ?? frame;
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

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, MaxDepth = 4)]
[JsonSerializable(typeof(FrameOfDb66a29))]
internal sealed partial class FrameOfDb66a29Json : JsonSerializerContext;
