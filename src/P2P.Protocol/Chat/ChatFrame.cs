using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace P2P.Protocol.Chat;

/// <summary>
/// One frame on the "chat" data channel: a small JSON object whose kind is its "t" (docs/CHAT-WIRE.md is the spec).
/// Each kind is a sealed record of its own (<see cref="ChatLine"/>, <see cref="ChatAck"/>, <see cref="ChatSync"/>,
/// <see cref="FileOffer"/>, <see cref="FileAccept"/>, <see cref="FileReject"/>, <see cref="FileReady"/>,
/// <see cref="FileDone"/>, <see cref="FileCancel"/>); the JSON names of their properties are the wire's.
/// <para>
/// Version: a frame may say its format version in "v" (a whole number; absent means 1, the only version so far).
/// A frame of a version this side does not speak is refused whatever its kind (<see cref="ChatFrameProblem.NewerVersion"/>),
/// never guessed at. Fields this side does not know are ignored, so adding an optional field needs no new version.
/// </para>
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "t")]
[JsonDerivedType(typeof(ChatLine), "msg")]
[JsonDerivedType(typeof(ChatAck), "ack")]
[JsonDerivedType(typeof(ChatSync), "sync")]
[JsonDerivedType(typeof(FileOffer), "offer")]
[JsonDerivedType(typeof(FileAccept), "accept")]
[JsonDerivedType(typeof(FileReject), "reject")]
[JsonDerivedType(typeof(FileReady), "ready")]
[JsonDerivedType(typeof(FileDone), "done")]
[JsonDerivedType(typeof(FileCancel), "cancel")]
public abstract record ChatFrame
{
    /// <summary>The format version this side reads and writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Frames larger than this are refused unread.</summary>
    public const int MaxLength = 64 * 1024;

    /// <summary>The format version the frame says it has ("v"); null, as in every frame this side writes, means 1.</summary>
    [JsonPropertyName("v")]
    public int? Version { get; init; }

    /// <summary>What is wrong with the values of a frame that parsed, or null: a sentence naming the field.</summary>
    private protected virtual string? Problem() => null;

    /// <summary>
    /// The frame as UTF-8 JSON, "t" first: the same bytes System.Text.Json's polymorphic writer makes (a test holds
    /// them equal for every kind). The record is written with its own metadata and "t" put in front, because the
    /// polymorphic writer allocates its stack of frames (about 320 bytes) for every frame, and a chat line is written
    /// once per line typed.
    /// </summary>
    public byte[] ToBytes()
    {
        var kind = Kinds[GetType()];
        var fields = JsonSerializer.SerializeToUtf8Bytes(this, kind.TypeInfo);   // {} or {"field":...}
        if (fields.Length <= 2) return [.. kind.Head, (byte)'}'];
        var frame = GC.AllocateUninitializedArray<byte>(kind.Head.Length + fields.Length);
        kind.Head.CopyTo(frame, 0);
        frame[kind.Head.Length] = (byte)',';
        fields.AsSpan(1).CopyTo(frame.AsSpan(kind.Head.Length + 1));
        return frame;
    }

    /// <summary>The kind's name, as in "t".</summary>
    [JsonIgnore]
    public string Kind => Kinds[GetType()].Name;

    /// <summary>A kind: its name, its record's metadata and the start of its JSON, <c>{"t":"name"</c>.</summary>
    private sealed record KindInfo(string Name, JsonTypeInfo TypeInfo, byte[] Head);

    /// <summary>The kinds, from the attributes above (the names are plain ASCII words: nothing to escape).</summary>
    private static readonly FrozenDictionary<Type, KindInfo> Kinds =
        ChatFrameJson.Default.ChatFrame.PolymorphismOptions!.DerivedTypes.ToFrozenDictionary(
            d => d.DerivedType,
            d => new KindInfo((string)d.TypeDiscriminator!, ChatFrameJson.Default.GetTypeInfo(d.DerivedType)!, Encoding.UTF8.GetBytes($"{{\"t\":\"{d.TypeDiscriminator}\"")));

    private static readonly FrozenSet<string> KindNames = Kinds.Values.Select(k => k.Name).ToFrozenSet();

    /// <summary>
    /// Parses a frame of a kind and version this side knows, with the fields its kind needs. Anything else is a
    /// <see cref="ChatFrameError"/> that says what was wrong; bad input never throws.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> data, [NotNullWhen(true)] out ChatFrame? frame, out ChatFrameError error)
    {
        frame = null;
        if (data.Length > MaxLength)
        {
            error = new(ChatFrameProblem.TooLarge, $"frame of {data.Length} bytes is larger than {MaxLength}");
            return false;
        }
        ChatFrame? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(data, ChatFrameJson.Default.ChatFrame);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)   // NotSupported: no "t" at all
        {
            error = Diagnose(data, e.Message);
            return false;
        }
        if (parsed is null)
        {
            error = new(ChatFrameProblem.NotJson, "not a chat frame: null");
            return false;
        }
        if (parsed.Version is { } version && version != CurrentVersion)
        {
            error = VersionError(version);
            return false;
        }
        if (parsed.Problem() is { } problem)
        {
            error = new(ChatFrameProblem.BadFields, $"bad '{parsed.Kind}' frame: {problem}");
            return false;
        }
        frame = parsed;
        error = ChatFrameError.None;
        return true;
    }

    /// <summary>
    /// Why a frame did not parse, read again only on this error path: not JSON, a version this side does not speak
    /// (checked before the kind and the fields, which a later version may change), no or an unknown kind, or the
    /// serializer's sentence about the field that is missing or of the wrong type.
    /// </summary>
    private static ChatFrameError Diagnose(ReadOnlySpan<byte> data, string serializerMessage)
    {
        string? kind = null;
        bool hasKind = false;
        long? version = null;
        bool badVersion = false;
        var reader = new Utf8JsonReader(data);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return new(ChatFrameProblem.NotJson, $"not a chat frame (a JSON object): {serializerMessage}");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isKind = reader.ValueTextEquals("t"u8), isVersion = reader.ValueTextEquals("v"u8);
                reader.Read();
                if (isKind && !hasKind)
                {
                    hasKind = true;
                    kind = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (isVersion && version is null && !badVersion)
                {
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long v)) version = v;
                    else badVersion = reader.TokenType != JsonTokenType.Null;
                }
                reader.Skip();
            }
            while (reader.Read()) { }   // the rest must be JSON too
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)   // InvalidOperation: a string that is not UTF-8
        {
            return new(ChatFrameProblem.NotJson, $"not a chat frame: {e.Message}");
        }
        if (badVersion) return new(ChatFrameProblem.BadFields, "bad frame: its version 'v' is not a whole number");
        if (version is { } v2 && v2 != CurrentVersion) return VersionError(v2);
        if (!hasKind) return new(ChatFrameProblem.UnknownKind, "a frame without its kind 't'");
        if (kind is null || !KindNames.Contains(kind))
            return new(ChatFrameProblem.UnknownKind, kind is null ? "a frame whose kind 't' is not a string" : $"unknown frame kind '{Shortened(kind)}'");
        return new(ChatFrameProblem.BadFields, $"bad '{kind}' frame: {serializerMessage}");
    }

    /// <summary>A peer's text in a log line, at most 40 characters of it.</summary>
    private static string Shortened(string text) => text.Length <= 40 ? text : text[..40] + "...";

    private static ChatFrameError VersionError(long version) => version > CurrentVersion
        ? new(ChatFrameProblem.NewerVersion, $"a frame of version {version}; this side speaks version {CurrentVersion}")
        : new(ChatFrameProblem.BadFields, $"bad frame: version {version} does not exist (versions count from 1)");

    // ---- warm-up ---------------------------------------------------------------------------------------------------

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
            var line = new ChatLine("warm-up", 1, "warm-up");
            bool ok = TryParse(line.ToBytes(), out var parsed, out _) && parsed == line
                && TryParse(new ChatAck("warm-up", 1).ToBytes(), out _, out _);
            WarmUpFinished.TrySetResult(ok);
        });
    }
}
