using System.Text.Json.Serialization;

namespace P2P.Protocol.Chat;

/// <summary>"offer": the sender offers the file <paramref name="Name"/> of <paramref name="Size"/> bytes, whose SHA-256 is <paramref name="Sha256"/> (64 hex digits).</summary>
public sealed record FileOffer(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("sha256")] string Sha256) : ChatFrame
{
    private protected override string? Problem() =>
        Size < 0 ? $"its size is {Size}" : Sha256.Length != 64 ? $"its sha256 has {Sha256.Length} characters, not 64" : null;
}

/// <summary>"accept": the receiver takes the offered file; the sender opens its channel "file-&lt;id&gt;".</summary>
public sealed record FileAccept([property: JsonPropertyName("id")] string Id) : ChatFrame;

/// <summary>"reject": the receiver does not take the offered file, for <paramref name="Reason"/> when it says one.</summary>
public sealed record FileReject(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("reason")] string? Reason = null) : ChatFrame;

/// <summary>"ready": the receiver's file channel is open and it holds the first <paramref name="Offset"/> bytes: send from there.</summary>
public sealed record FileReady(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("offset")] long Offset) : ChatFrame
{
    private protected override string? Problem() => Offset < 0 ? $"its offset is {Offset}" : null;
}

/// <summary>
/// "done": the receiver's verdict: <paramref name="Ok"/> with the SHA-256 of what it wrote (the file is complete),
/// or not, for <paramref name="Reason"/>.
/// The JSON order is id, sha256, ok, reason, as p2p has always written it.
/// </summary>
public sealed record FileDone(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("ok"), JsonPropertyOrder(1)] bool Ok,
    [property: JsonPropertyName("sha256")] string? Sha256 = null,
    [property: JsonPropertyName("reason"), JsonPropertyOrder(2)] string? Reason = null) : ChatFrame
{
    /// <summary>The file arrived whole and hashes to <paramref name="sha256"/>.</summary>
    public static FileDone Completed(string id, string sha256) => new(id, Ok: true, Sha256: sha256);

    /// <summary>The receiver could not take the file.</summary>
    public static FileDone Failed(string id, string reason) => new(id, Ok: false, Reason: reason);
}

/// <summary>"cancel": the sender gave up on the file, for <paramref name="Reason"/>.</summary>
public sealed record FileCancel(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("reason")] string? Reason = null) : ChatFrame;
