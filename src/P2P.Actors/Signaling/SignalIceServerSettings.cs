using System.Security.Cryptography;
using System.Text;
using Akka.Configuration;
using P2P.Protocol.Turn;

namespace P2P.Actors.Signaling;

/// <summary>
/// What <c>p2p signal</c> hands each peer in its joined message (<c>p2p.signal.ice-servers</c>, <c>--turn-url</c>,
/// <c>--auth-secret</c>): the STUN and TURN URLs, the TURN ones with fresh credentials of the TURN REST API
/// (<see cref="TurnRestCredentials"/>) made with the relays' shared secret, valid for <see cref="CredentialTtl"/>. The
/// user part of each username is a random id per joined message: it ties nothing the relay logs to a room or a name,
/// and each credential, so each join, has its own allocation quota on the relays (which count per username).
/// </summary>
public sealed record SignalIceServerSettings
{
    public const string Section = "ice-servers";

    /// <summary>stun:, stuns:, turn: and turns: URLs (RFC 7064, RFC 7065), in the order handed out.</summary>
    public IReadOnlyList<string> Urls { get; init; } = [];
    /// <summary>The relays' shared secret (their <c>--auth-secret</c>); empty: TURN URLs cannot be handed out.</summary>
    public string AuthSecret { get; init; } = string.Empty;
    /// <summary>How long handed-out TURN credentials stay valid (draft-uberti-behave-turn-rest-00 §2.2 suggests a day).</summary>
    public TimeSpan CredentialTtl { get; init; } = TimeSpan.FromHours(12);

    public static readonly SignalIceServerSettings None = new();

    public bool Equals(SignalIceServerSettings? other) =>
        other is not null && Urls.SequenceEqual(other.Urls) && AuthSecret == other.AuthSecret && CredentialTtl == other.CredentialTtl;

    public override int GetHashCode() => HashCode.Combine(Urls.Count, AuthSecret, CredentialTtl);

    /// <summary>Nothing to hand out: the joined message carries no iceServers.</summary>
    public bool IsEmpty => Urls.Count == 0;

    /// <summary>Reads <c>ice-servers</c> of the <c>p2p.signal</c> section <paramref name="signal"/> (defaults when it is absent).</summary>
    public static SignalIceServerSettings From(Config signal)
    {
        var c = signal.GetConfig(Section);
        if (c is null || c.IsEmpty) return None;
        return new SignalIceServerSettings
        {
            Urls = c.GetStringList("urls", []).ToList(),
            AuthSecret = c.GetString("auth-secret", string.Empty),
            CredentialTtl = c.GetTimeSpan("credential-ttl", None.CredentialTtl),
        };
    }

    /// <summary>Null when the settings make sense, else one sentence.</summary>
    public string? Validate()
    {
        if (CredentialTtl <= TimeSpan.Zero) return "ice-servers.credential-ttl must be positive";
        foreach (var url in Urls)
        {
            if (!IsUrl(url)) return $"'{url}' is not a stun:, stuns:, turn: or turns: URL with a host (RFC 7064, RFC 7065), such as turn:127.0.0.1:3478?transport=udp";
            if (SignalIceServer.IsTurnUrl(url) && AuthSecret.Length == 0)
                return $"the TURN URL '{url}' needs the relays' shared secret (--auth-secret) to hand out credentials";
        }
        if (AuthSecret.Length > 0 && !Urls.Any(SignalIceServer.IsTurnUrl)) return "--auth-secret needs at least one TURN URL (--turn-url turn:host:port?transport=udp) to hand out";
        return null;
    }

    private static bool IsUrl(string url)
    {
        int colon = url.IndexOf(':');
        if (colon <= 0 || url[..colon].ToLowerInvariant() is not ("stun" or "stuns" or "turn" or "turns")) return false;
        var rest = url[(colon + 1)..];
        int query = rest.IndexOf('?');
        var host = query < 0 ? rest : rest[..query];
        return host.Length > 0 && !host.Any(char.IsWhiteSpace) && (query < 0 || url[..colon].StartsWith("turn", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The list for one joined message at <paramref name="now"/>: the STUN URLs without credentials, the TURN URLs with a
    /// username "expiry:id" (<paramref name="user"/>, a fresh random id) and its password. Null when there is nothing to hand out.
    /// </summary>
    public IReadOnlyList<SignalIceServer>? HandOut(DateTimeOffset now, out string user)
    {
        user = string.Empty;
        if (IsEmpty) return null;
        var list = new List<SignalIceServer>(2);
        var stun = Urls.Where(u => !SignalIceServer.IsTurnUrl(u)).ToList();
        var turn = Urls.Where(SignalIceServer.IsTurnUrl).ToList();
        if (stun.Count > 0) list.Add(new SignalIceServer(stun, null, null));
        if (turn.Count > 0)
        {
            user = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
            var (username, password) = TurnRestCredentials.Mint(Encoding.UTF8.GetBytes(AuthSecret), user, now.Add(CredentialTtl).ToUnixTimeSeconds());
            list.Add(new SignalIceServer(turn, username, password));
        }
        return list;
    }
}
