using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace P2P.Protocol.Turn;

/// <summary>
/// A TURN URI of RFC 7065 §3.1: <c>turn:host[:port][?transport=udp|tcp]</c> or <c>turns:host[:port][?transport=tcp]</c>
/// (TLS over TCP; 5349 by default, 3478 otherwise). An IPv6 host is in brackets. What signaling servers hand out in
/// WebRTC's RTCIceServer lists.
/// </summary>
public sealed record TurnUri(bool Secure, string Host, int Port, bool Tcp)
{
    public const int DefaultPort = 3478;
    public const int DefaultSecurePort = 5349;

    /// <summary>Parses <paramref name="text"/>; false with one sentence when it is not a TURN URI this program can use.</summary>
    public static bool TryParse(string text, out TurnUri uri, out string error)
    {
        uri = null!;
        int colon = text.IndexOf(':');
        string scheme = colon > 0 ? text[..colon].ToLowerInvariant() : string.Empty;
        if (scheme is not ("turn" or "turns")) return Fail($"'{text}' is not a turn: or turns: URI (RFC 7065)", out error);
        string rest = text[(colon + 1)..];
        string? query = null;
        int question = rest.IndexOf('?');
        if (question >= 0)
        {
            query = rest[(question + 1)..].ToLowerInvariant();
            rest = rest[..question];
        }
        if (query is not (null or "transport=udp" or "transport=tcp")) return Fail($"'{text}': the only query RFC 7065 allows is ?transport=udp or ?transport=tcp", out error);
        bool secure = scheme == "turns";
        if (secure && query == "transport=udp") return Fail($"'{text}': turns: over UDP is TURN over DTLS, which this program does not speak", out error);
        string host = rest, portText = string.Empty;
        if (rest.StartsWith('['))
        {
            int close = rest.IndexOf(']');
            if (close < 0 || !IPAddress.TryParse(rest[1..close], out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
                return Fail($"'{text}': a bracketed host must be an IPv6 address", out error);
            host = rest[1..close];
            string after = rest[(close + 1)..];
            if (after.Length > 0 && after[0] != ':') return Fail($"'{text}': '{after}' after the IPv6 address", out error);
            if (after.Length > 0) portText = after[1..];
        }
        else
        {
            int portColon = rest.IndexOf(':');
            if (portColon >= 0)
            {
                host = rest[..portColon];
                portText = rest[(portColon + 1)..];
            }
            if (host.Length == 0 || Uri.CheckHostName(host) == UriHostNameType.Unknown) return Fail($"'{text}': '{host}' is not a host name or address", out error);
        }
        int port = secure ? DefaultSecurePort : DefaultPort;
        if (portText.Length > 0 || rest.EndsWith(':'))
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
                return Fail($"'{text}': the port must be a number between 1 and 65535", out error);
        }
        uri = new TurnUri(secure, host, port, secure || query == "transport=tcp");
        error = string.Empty;
        return true;
    }

    private static bool Fail(string reason, out string error)
    {
        error = reason;
        return false;
    }
}
