using System.Text.Json.Serialization;

namespace P2P.Protocol.Chat;

/// <summary>
/// "msg": line <paramref name="Number"/> of the sender's chat, whose lines count from 1 under <paramref name="Epoch"/>
/// (a random id of the sending chat; a new chat on that side has a new epoch and counts from 1 again).
/// </summary>
public sealed record ChatLine(
    [property: JsonPropertyName("e")] string Epoch,
    [property: JsonPropertyName("n")] long Number,
    [property: JsonPropertyName("text")] string Text) : ChatFrame
{
    private protected override string? Problem() => Number < 1 ? $"its number 'n' is {Number}; lines count from 1" : null;
}

/// <summary>"ack": every line of <paramref name="Epoch"/> up to <paramref name="UpTo"/> was shown (cumulative; 0 before the first).</summary>
public sealed record ChatAck(
    [property: JsonPropertyName("e")] string Epoch,
    [property: JsonPropertyName("n")] long UpTo) : ChatFrame;

/// <summary>
/// "sync": the sender was restarted after a fault and may have dropped a frame it was handling: send again every
/// line it has not acknowledged, offers it has not answered, and "ready" for files coming in.
/// </summary>
public sealed record ChatSync : ChatFrame;
