using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using P2P.Actors.Transport.Tls;
using P2P.Actors.Turn;
using P2P.Protocol.Dtls;

namespace P2P.Host.Commands;

/// <summary>Where <c>--turn</c> and its switches say the TURN server is, and how it is reached.</summary>
/// <param name="Host">The host name or address as given (the TLS server name).</param>
public sealed record TurnTarget(string Host, int Port, TurnTransport Transport);

/// <summary>
/// The <c>--turn</c> value and its companions as the chat and <c>p2p host</c> both read them: a host name or address
/// (with <c>--turn-port</c>, <c>--turn-tcp</c>, <c>--turn-tls</c>), or a TURN URI of RFC 7065 (<c>turn:host[:port]</c>,
/// <c>turn:host[:port]?transport=tcp</c>, <c>turns:host[:port]</c>); and for TLS, <c>--turn-ca</c> and
/// <c>--turn-fingerprint</c>. Every mistake is a sentence for the parser's error list.
/// </summary>
public static class TurnCommandLine
{
    /// <summary>RFC 8656 §3.1, RFC 7065 §3: the default port of TURN over UDP and TCP.</summary>
    public const int DefaultPort = 3478;

    /// <summary>RFC 8656 §3.1, RFC 7065 §3: the default port of TURN over TLS ("turns:").</summary>
    public const int DefaultTlsPort = 5349;

    /// <summary>What the handshake failure of an untrusted certificate tells the user to do.</summary>
    public const string UntrustedAdvice = "pass --turn-ca or --turn-fingerprint";

    public const string TurnDescription =
        "TURN server: a host name or address, or a URI (RFC 7065): turn:host[:port], turn:host[:port]?transport=tcp, turns:host[:port] (TLS, port 5349 by default).";

    public static Option<bool> TlsOption() => new("--turn-tls")
    {
        Description = "Reach the TURN server over TLS (RFC 8656 §3.1), as turns: does; without a port, 5349. The certificate is checked against the system's CAs, or see --turn-ca, --turn-fingerprint.",
    };

    public static Option<FileInfo?> CaOption() => new("--turn-ca")
    {
        HelpName = "file",
        Description = "With TLS: trust the TURN server's certificate if this CA (PEM) signed it, instead of the system's CAs.",
    };

    public static Option<string?> FingerprintOption() => new("--turn-fingerprint")
    {
        HelpName = "sha-256",
        Description = "With TLS: accept exactly the TURN server certificate with this SHA-256 fingerprint (sha-256:AB:CD:...), self-signed too.",
    };

    /// <summary>The port option's value when the user gave it, null when it is the default.</summary>
    public static int? ExplicitPort(SymbolResult result, Option<int> port) =>
        result.GetResult(port) is { Implicit: false } given ? given.GetValueOrDefault<int>() : null;

    /// <summary>
    /// Reads <paramref name="value"/> (<c>--turn</c>) with the port given by <c>--turn-port</c> (null: not given), and the
    /// <c>--turn-tcp</c> / <c>--turn-tls</c> switches. Without a port anywhere: 5349 for TLS, 3478 otherwise (RFC 7065 §3).
    /// </summary>
    public static bool TryParse(string value, int? explicitPort, bool tcp, bool tls, out TurnTarget target, out string error)
    {
        target = null!;
        string text = value.Trim();
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string scheme = colon > 0 ? text[..colon].ToLowerInvariant() : string.Empty;
        bool uri = scheme is "turn" or "turns";
        string hostPort = text;
        TurnTransport transport;
        if (uri)
        {
            string rest = text[(colon + 1)..];
            if (rest.StartsWith("//", StringComparison.Ordinal)) rest = rest[2..]; // turns://host: what people write for URLs
            string? query = null;
            int question = rest.IndexOf('?', StringComparison.Ordinal);
            if (question >= 0)
            {
                query = rest[(question + 1)..].ToLowerInvariant();
                rest = rest[..question];
            }
            if (query is not (null or "transport=udp" or "transport=tcp"))
                return Fail($"--turn '{value}': the only query RFC 7065 allows is ?transport=udp or ?transport=tcp", out error);
            if (scheme == "turns" && query == "transport=udp")
                return Fail($"--turn '{value}': turns: over UDP is TURN over DTLS, which p2p does not speak; write turns:host:port (TLS over TCP)", out error);
            if (scheme == "turn" && tls)
                return Fail($"--turn-tls conflicts with --turn '{value}': write turns:host:port for TLS", out error);
            if (query == "transport=udp" && tcp)
                return Fail($"--turn-tcp conflicts with --turn '{value}' (?transport=udp)", out error);
            transport = scheme == "turns" ? TurnTransport.Tls : query == "transport=tcp" || tcp ? TurnTransport.Tcp : TurnTransport.Udp;
            hostPort = rest;
        }
        else
        {
            if (colon > 0 && !scheme.Contains('.', StringComparison.Ordinal) && colon + 1 < text.Length && (char.IsAsciiLetter(text[colon + 1]) || text[colon + 1] == '/')
                && !IPAddress.TryParse(text, out _))
                return Fail($"--turn '{value}': unknown scheme '{scheme}:'; a TURN URI is turn:host[:port] or turns:host[:port] (RFC 7065)", out error);
            transport = tls ? TurnTransport.Tls : tcp ? TurnTransport.Tcp : TurnTransport.Udp;
        }

        if (!TrySplitHostPort(hostPort, bareIpv6: !uri, out string host, out int? port, out string why))
            return Fail($"--turn '{value}': {why}; expected a host name or address, or turn:host[:port] / turns:host[:port] (RFC 7065)", out error);
        if (port is not null && explicitPort is not null && port != explicitPort)
            return Fail($"--turn-port {explicitPort} conflicts with the port {port} in --turn '{value}'", out error);
        target = new TurnTarget(host, port ?? explicitPort ?? (transport == TurnTransport.Tls ? DefaultTlsPort : DefaultPort), transport);
        error = string.Empty;
        return true;
    }

    /// <summary>
    /// The TLS options for <paramref name="target"/> (null unless it is reached over TLS): its host as the server name,
    /// <c>--turn-ca</c>'s CAs or <c>--turn-fingerprint</c>'s pin. False with a sentence when they are bad, or given without TLS.
    /// </summary>
    public static bool TryTls(TurnTarget target, string? caFile, string? fingerprint, out TlsClientOptions? tls, out string error)
    {
        tls = null;
        if (target.Transport != TurnTransport.Tls)
        {
            if (caFile is not null) return Fail("--turn-ca needs a TLS TURN server: --turn turns:host[:port] or --turn-tls", out error);
            if (fingerprint is not null) return Fail("--turn-fingerprint needs a TLS TURN server: --turn turns:host[:port] or --turn-tls", out error);
            error = string.Empty;
            return true;
        }
        if (caFile is not null && fingerprint is not null)
            return Fail("give --turn-ca or --turn-fingerprint, not both (a pinned certificate needs no CA)", out error);
        var options = new TlsClientOptions(target.Host) { UntrustedAdvice = UntrustedAdvice };
        if (fingerprint is not null)
        {
            if (!CertificateFingerprint.TryParseTyped(fingerprint, out var pinned))
                return Fail($"--turn-fingerprint expects a SHA-256 fingerprint, 32 hex bytes (sha-256:AB:CD:...), not '{fingerprint}'", out error);
            options = options with { PinnedFingerprint = pinned };
        }
        if (caFile is not null)
        {
            if (!TlsClientOptions.TryLoadAuthorities(caFile, out var authorities, out string why)) return Fail($"--turn-ca: {why}", out error);
            options = options with { TrustedAuthorities = authorities };
        }
        tls = options;
        error = string.Empty;
        return true;
    }

    /// <summary>Both steps, each error added to <paramref name="result"/>; null when <c>--turn</c> is not given or is wrong.</summary>
    public static (TurnTarget Target, TlsClientOptions? Tls)? Read(SymbolResult result, Option<string?> turn, Option<int> port, Option<bool>? tcp,
        Option<bool> tls, Option<FileInfo?> ca, Option<string?> fingerprint)
    {
        bool useTls = result.GetValue(tls), useTcp = tcp is not null && result.GetValue(tcp);
        string? caFile = result.GetValue(ca)?.FullName, pin = result.GetValue(fingerprint);
        if (result.GetValue(turn) is not { } value)
        {
            if (useTls) result.AddError("--turn-tls needs --turn <server>");
            if (caFile is not null || pin is not null) result.AddError("--turn-ca and --turn-fingerprint need --turn turns:host[:port]");
            return null;
        }
        if (!TryParse(value, ExplicitPort(result, port), useTcp, useTls, out var target, out string error)
            || !TryTls(target, caFile, pin, out var options, out error))
        {
            result.AddError(error);
            return null;
        }
        return (target, options);
    }

    /// <param name="bareIpv6">An IPv6 address without brackets is the host (the plain --turn value); in a URI it must be in brackets (RFC 3986 §3.2.2).</param>
    private static bool TrySplitHostPort(string text, bool bareIpv6, out string host, out int? port, out string error)
    {
        host = string.Empty;
        port = null;
        string portText = string.Empty;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) return Fail("no ']' after the IPv6 address", out error);
            host = text[1..close];
            string after = text[(close + 1)..];
            if (after.Length > 0 && after[0] != ':') return Fail($"'{after}' after the IPv6 address", out error);
            if (after.Length > 0) portText = after[1..];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
                return Fail($"'{host}' is not an IPv6 address", out error);
        }
        else if (bareIpv6 && IPAddress.TryParse(text, out var literal) && literal.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            host = text; // a bare IPv6 address: its colons are not a port
        }
        else
        {
            int colon = text.LastIndexOf(':');
            if (colon >= 0 && text.IndexOf(':', StringComparison.Ordinal) != colon) return Fail("put an IPv6 address in brackets ([::1]:3478)", out error);
            host = colon >= 0 ? text[..colon] : text;
            if (colon >= 0) portText = text[(colon + 1)..];
            if (host.Length == 0) return Fail("no host", out error);
            if (Uri.CheckHostName(host) == UriHostNameType.Unknown) return Fail($"'{host}' is not a host name or address", out error);
        }
        if (portText.Length > 0 || text.EndsWith(':'))
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number is < 1 or > 65535)
                return Fail($"the port must be a number between 1 and 65535, not '{portText}'", out error);
            port = number;
        }
        error = string.Empty;
        return true;
    }

    private static bool Fail(string sentence, out string error)
    {
        error = sentence;
        return false;
    }
}
