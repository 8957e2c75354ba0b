namespace P2P.Host.Chat;

/// <summary>
/// What the user asked for on the root command line (the original program's options plus ours), after parsing
/// and validation. Defaults are the original's: <c>-p 8080</c>, <c>-c 127.0.0.1</c>, <c>--stun stun.l.google.com</c>
/// <c>--stun-port 19302</c>, <c>--turn-port 3478</c>.
/// </summary>
public sealed record ChatOptions
{
    /// <summary><c>-s</c>: the server side (--no-ice: listens; ICE: the controlling agent).</summary>
    public bool Server { get; init; }

    /// <summary><c>-p</c>: TCP port of --no-ice (server listens on it, client connects to it).</summary>
    public int Port { get; init; } = 8080;

    /// <summary><c>-c</c>: the server address the --no-ice client connects to.</summary>
    public string Connect { get; init; } = "127.0.0.1";

    /// <summary><c>--no-ice</c>: direct TCP chat, as the original on the wire.</summary>
    public bool NoIce { get; init; }

    /// <summary><c>--secure</c>: TLS 1.3 over the --no-ice TCP connection (between two p2p programs).</summary>
    public bool Secure { get; init; }

    /// <summary><c>--peer-fingerprint</c>: the SHA-256 fingerprint the other side's certificate must have (--secure).</summary>
    public string? PeerFingerprint { get; init; }

    /// <summary><c>--stun</c> host name or address; null when STUN is off (<c>--stun none</c>).</summary>
    public string? Stun { get; init; } = "stun.l.google.com";

    public int StunPort { get; init; } = 19302;

    /// <summary><c>--turn</c> host name or address; null without TURN.</summary>
    public string? Turn { get; init; }

    public int TurnPort { get; init; } = 3478;

    public string? TurnUser { get; init; }

    public string? TurnPass { get; init; }

    /// <summary><c>--turn-tcp</c>: reach the TURN server over TCP (RFC 8656 §3.1), for networks that block UDP.</summary>
    public bool TurnTcp { get; init; }

    /// <summary><c>--turn turns:…</c> or <c>--turn-tls</c>: reach the TURN server over TLS, its certificate checked as these say.</summary>
    public P2P.Actors.Transport.Tls.TlsClientOptions? TurnTls { get; init; }

    /// <summary>How the TURN server is reached: TLS, TCP or UDP.</summary>
    public P2P.Actors.Turn.TurnTransport TurnTransport =>
        TurnTls is not null ? P2P.Actors.Turn.TurnTransport.Tls : TurnTcp ? P2P.Actors.Turn.TurnTransport.Tcp : P2P.Actors.Turn.TurnTransport.Udp;

    /// <summary><c>--plain</c>: ICE mode without DTLS, raw text datagrams like the original.</summary>
    public bool Plain { get; init; }

    /// <summary><c>--signal</c>: the signaling server's WebSocket URLs (ws://host:port/...), the nodes of a fleet in the order tried; null for the manual exchange.</summary>
    public IReadOnlyList<Uri>? Signal { get; init; }

    /// <summary><c>--room</c>: the room to meet the other peer in on the signaling server.</summary>
    public string? Room { get; init; }

    /// <summary><c>--timeout</c>: give up ICE after this long without a working pair (the original: 30 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>--relay-only</c>: offer only the TURN relay candidate (needs --turn).</summary>
    public bool RelayOnly { get; init; }

    /// <summary><c>--local-address</c>: the one address to gather host candidates on (default: every interface).</summary>
    public string? LocalAddress { get; init; }

    /// <summary><c>--download-dir</c>: where received files go; null for <c>p2p.chat.download-folder</c> (the user's Downloads folder).</summary>
    public string? DownloadDirectory { get; init; }
}
