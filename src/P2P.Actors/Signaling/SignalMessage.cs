using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace P2P.Actors.Signaling;

/// <summary>
/// One JSON object of the signaling protocol, one per WebSocket text message. Every message has a "type";
/// the other fields depend on it:
/// <code>
/// client -> server   join {room, name, rejoin?} | description {description} | candidate {candidate} | end-of-candidates | leave
/// server -> client   joined {room, controlling, peers, resumed?, iceServers?} | peer-joined {name} | peer-left {name} | error {reason} | reconnect
///                    description / candidate / end-of-candidates relayed with "from" (the sender's name)
/// </code>
/// A server node that is going away sends "reconnect" before its close frame: the client connects to another node of
/// the fleet and joins again with "rejoin": true, which takes back its seat (kept for it) under the same name.
/// The description is the text form of an ICE description (<c>IceDescription.Write()</c>), the candidate an
/// "a=candidate" value (<c>IceCandidate.ToAttributeValue()</c>); the server relays both as opaque strings.
/// </summary>
public sealed record SignalMessage(string Type)
{
    public const string JoinType = "join";
    public const string JoinedType = "joined";
    public const string PeerJoinedType = "peer-joined";
    public const string PeerLeftType = "peer-left";
    public const string DescriptionType = "description";
    public const string CandidateType = "candidate";
    public const string EndOfCandidatesType = "end-of-candidates";
    public const string LeaveType = "leave";
    public const string ErrorType = "error";
    /// <summary>The JSON name of <see cref="IceServers"/>, as RTCConfiguration's (W3C WebRTC §4.2.1).</summary>
    public const string IceServersField = "iceServers";
    public const string ReconnectType = "reconnect";

    public string? Room { get; init; }
    public string? Name { get; init; }
    public string? Description { get; init; }
    public string? Candidate { get; init; }
    public string? From { get; init; }
    public bool? Controlling { get; init; }
    public int? Peers { get; init; }
    public string? Reason { get; init; }
    /// <summary>join: the client had this seat on another server node (it reconnected); the room gives it back under the same name.</summary>
    public bool? Rejoin { get; init; }
    /// <summary>joined, after a rejoin: the seat and what the room kept for it are back; absent, the room was rebuilt and kept nothing.</summary>
    public bool? Resumed { get; init; }
    /// <summary>
    /// joined: the STUN/TURN servers this peer may use, with fresh time-limited TURN credentials when the server has the
    /// relays' shared secret (the TURN REST API scheme; WebRTC's RTCIceServer shape: urls, username, credential).
    /// </summary>
    public IReadOnlyList<SignalIceServer>? IceServers { get; init; }

    /// <summary>A description, candidate or end-of-candidates: what a room relays from one peer to the other.</summary>
    public bool IsRelayed => Type is DescriptionType or CandidateType or EndOfCandidatesType;

    public static SignalMessage Join(string room, string name) => new(JoinType) { Room = room, Name = name };
    public static SignalMessage Joined(string room, bool controlling, int peers) => new(JoinedType) { Room = room, Controlling = controlling, Peers = peers };
    public static SignalMessage PeerJoined(string name) => new(PeerJoinedType) { Name = name };
    public static SignalMessage PeerLeft(string name) => new(PeerLeftType) { Name = name };
    public static SignalMessage ForDescription(string text) => new(DescriptionType) { Description = text };
    public static SignalMessage ForCandidate(string attribute) => new(CandidateType) { Candidate = attribute };
    public static SignalMessage EndOfCandidates() => new(EndOfCandidatesType);
    public static SignalMessage Leave() => new(LeaveType);
    public static SignalMessage Error(string reason) => new(ErrorType) { Reason = reason };
    public static SignalMessage Reconnect() => new(ReconnectType);

    /// <summary>
    /// Parses one message: a JSON object with a known "type" and the string fields that type needs
    /// (join: room, name; description: description; candidate: candidate; error: reason; peer-joined, peer-left: name;
    /// joined: room). Unknown fields are ignored. On failure <paramref name="error"/> is one sentence.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out SignalMessage message, out string error)
    {
        message = null!;
        JsonDocument document;
        try { document = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException)
        {
            error = "the message is not JSON";
            return false;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { error = "the message is not a JSON object"; return false; }
            if (!root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            {
                error = "the message has no \"type\"";
                return false;
            }
            var type = typeElement.GetString()!;
            string[] required = type switch
            {
                JoinType => ["room", "name"],
                DescriptionType => ["description"],
                CandidateType => ["candidate"],
                ErrorType => ["reason"],
                PeerJoinedType or PeerLeftType => ["name"],
                JoinedType => ["room"],
                EndOfCandidatesType or LeaveType or ReconnectType => [],
                _ => null!,
            };
            if (required is null) { error = $"unknown message type '{Shorten(type)}'"; return false; }
            foreach (var field in required)
            {
                if (!root.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.String || value.GetString()!.Length == 0)
                {
                    error = $"a \"{type}\" message needs a non-empty string \"{field}\"";
                    return false;
                }
            }
            IReadOnlyList<SignalIceServer>? iceServers = null;
            if (root.TryGetProperty(IceServersField, out var servers) && !SignalIceServer.TryParseList(servers, out iceServers, out error)) return false;
            message = new SignalMessage(type)
            {
                IceServers = iceServers,
                Room = StringField(root, "room"),
                Name = StringField(root, "name"),
                Description = StringField(root, "description"),
                Candidate = StringField(root, "candidate"),
                From = StringField(root, "from"),
                Controlling = root.TryGetProperty("controlling", out var c) && c.ValueKind is JsonValueKind.True or JsonValueKind.False ? c.GetBoolean() : null,
                Peers = root.TryGetProperty("peers", out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out int peers) ? peers : null,
                Reason = StringField(root, "reason"),
                Rejoin = root.TryGetProperty("rejoin", out var r) && r.ValueKind is JsonValueKind.True ? true : null,
                Resumed = root.TryGetProperty("resumed", out var resumed) && resumed.ValueKind is JsonValueKind.True ? true : null,
            };
            error = string.Empty;
            return true;
        }
    }

    /// <summary>The message as UTF-8 JSON, fields that are not set left out.</summary>
    public byte[] ToUtf8()
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        // Relaxed escaping: '+' and '/' (ice-chars, RFC 8839 §5.4) and non-ASCII names stay readable; the HTML-safety the
        // default encoder adds has no use on a WebSocket. Quotes, backslashes and control characters are still escaped.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("type", Type);
            WriteIfSet(writer, "room", Room);
            WriteIfSet(writer, "name", Name);
            WriteIfSet(writer, "from", From);
            if (Controlling is { } controlling) writer.WriteBoolean("controlling", controlling);
            if (Peers is { } peers) writer.WriteNumber("peers", peers);
            WriteIfSet(writer, "description", Description);
            WriteIfSet(writer, "candidate", Candidate);
            WriteIfSet(writer, "reason", Reason);
            if (IceServers is not null) SignalIceServer.WriteList(writer, IceServersField, IceServers);
            if (Rejoin is true) writer.WriteBoolean("rejoin", true);
            if (Resumed is true) writer.WriteBoolean("resumed", true);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public override string ToString() => Encoding.UTF8.GetString(ToUtf8());

    private static string? StringField(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null) writer.WriteString(name, value);
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}

/// <summary>One entry of <see cref="SignalMessage.IceServers"/>, as WebRTC's RTCIceServer: "turn:host:port?transport=udp" URLs and their credentials.</summary>
public sealed record SignalIceServer(IReadOnlyList<string> Urls, string? Username, string? Credential)
{
    /// <summary>The URI schemes of RFC 7064 (stun:, stuns:) and RFC 7065 (turn:, turns:).</summary>
    private static readonly string[] Schemes = ["stun:", "stuns:", "turn:", "turns:"];
    private const int MaxServers = 16;

    /// <summary>True for a TURN URL (turn:, turns:; RFC 7065).</summary>
    public static bool IsTurnUrl(string url) =>
        url.StartsWith("turn:", StringComparison.OrdinalIgnoreCase) || url.StartsWith("turns:", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Reads an "iceServers" array as RTCIceServer entries (W3C WebRTC §4.2.4): "urls" a non-empty string or array of
    /// them, each with a STUN or TURN scheme; "username" and "credential" strings, both needed by a TURN URL. False with
    /// one sentence for the first bad entry.
    /// </summary>
    public static bool TryParseList(JsonElement array, out IReadOnlyList<SignalIceServer>? servers, out string error)
    {
        servers = null;
        if (array.ValueKind != JsonValueKind.Array) { error = "\"iceServers\" is not an array"; return false; }
        if (array.GetArrayLength() > MaxServers) { error = $"\"iceServers\" has more than {MaxServers} entries"; return false; }
        var list = new List<SignalIceServer>();
        int index = 0;
        foreach (var entry in array.EnumerateArray())
        {
            string where = $"iceServers[{index++}]";
            if (entry.ValueKind != JsonValueKind.Object) { error = $"{where} is not an object"; return false; }
            var urls = new List<string>();
            if (!entry.TryGetProperty("urls", out var urlsElement)) { error = $"{where} has no \"urls\""; return false; }
            if (urlsElement.ValueKind == JsonValueKind.String) urls.Add(urlsElement.GetString()!);
            else if (urlsElement.ValueKind == JsonValueKind.Array && urlsElement.GetArrayLength() <= MaxServers)
            {
                foreach (var url in urlsElement.EnumerateArray())
                {
                    if (url.ValueKind != JsonValueKind.String) { error = $"{where}.urls holds something that is not a string"; return false; }
                    urls.Add(url.GetString()!);
                }
            }
            else { error = $"{where}.urls is neither a string nor an array of at most {MaxServers} strings"; return false; }
            if (urls.Count == 0) { error = $"{where}.urls is empty"; return false; }
            foreach (var url in urls)
                if (!Schemes.Any(scheme => url.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && url.Length > scheme.Length))
                {
                    error = $"{where}.urls: '{(url.Length <= 40 ? url : url[..40] + "...")}' is not a stun:, stuns:, turn: or turns: URL";
                    return false;
                }
            string? username = null, credential = null;
            foreach (var (field, set) in new (string, Action<string>)[] { ("username", v => username = v), ("credential", v => credential = v) })
            {
                if (!entry.TryGetProperty(field, out var value)) continue;
                if (value.ValueKind != JsonValueKind.String) { error = $"{where}.{field} is not a string"; return false; }
                set(value.GetString()!);
            }
            if (urls.Any(IsTurnUrl) && (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(credential)))
            {
                error = $"{where} has a TURN URL but no \"username\" and \"credential\"";
                return false;
            }
            list.Add(new SignalIceServer(urls, username, credential));
        }
        servers = list;
        error = string.Empty;
        return true;
    }

    /// <summary>Writes <paramref name="servers"/> as an array of RTCIceServer objects (urls always an array).</summary>
    public static void WriteList(Utf8JsonWriter writer, string name, IReadOnlyList<SignalIceServer> servers)
    {
        writer.WriteStartArray(name);
        foreach (var server in servers)
        {
            writer.WriteStartObject();
            writer.WriteStartArray("urls");
            foreach (var url in server.Urls) writer.WriteStringValue(url);
            writer.WriteEndArray();
            if (server.Username is not null) writer.WriteString("username", server.Username);
            if (server.Credential is not null) writer.WriteString("credential", server.Credential);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    public bool Equals(SignalIceServer? other) =>
        other is not null && Urls.SequenceEqual(other.Urls) && Username == other.Username && Credential == other.Credential;

    public override int GetHashCode() => HashCode.Combine(Urls.Count, Username, Credential);
}
