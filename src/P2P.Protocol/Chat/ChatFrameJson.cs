using System.Text.Json.Serialization;

namespace P2P.Protocol.Chat;

/// <summary>
/// The JSON of <see cref="ChatFrame"/> and its kinds, generated at build time: the first line of a chat is then not
/// held up by the serializer inspecting the types by reflection (tens of milliseconds, more on a busy machine), and
/// every frame after it costs less. Absent optional fields are left out; "t" may come anywhere in a frame read; a
/// field a kind needs must be there and not null (the serializer says which one is missing).
/// </summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    MaxDepth = 4,
    AllowOutOfOrderMetadataProperties = true,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ChatFrame))]
internal sealed partial class ChatFrameJson : JsonSerializerContext;
