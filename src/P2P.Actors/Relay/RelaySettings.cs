using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;

namespace P2P.Actors.Relay;

/// <summary>
/// Settings of the STUN/TURN server (RFC 8489, RFC 8656), read once from <c>p2p.relay</c> in
/// <c>akka.hocon</c> by <see cref="From"/>; the command line overrides single values with <c>with { }</c>.
/// Every value is documented, with its RFC section, in <c>akka.hocon</c>.
/// </summary>
public sealed record RelaySettings
{
    public const int DefaultPort = 3478;
    /// <summary>RFC 8656 §3.1: 5349 is the default port for TURN over TLS.</summary>
    public const int DefaultTlsPort = 5349;

    public IReadOnlyList<IPEndPoint> Listen { get; init; } = [new IPEndPoint(IPAddress.Loopback, DefaultPort)];
    public IReadOnlyList<IPAddress> RelayAddresses { get; init; } = [];
    /// <summary>
    /// RFC 5780 §6: a second IP address of the server. With it the first listening address of its family also listens on the
    /// next port, and this address on both ports, so that Binding answers carry OTHER-ADDRESS and honour CHANGE-REQUEST.
    /// Null: no RFC 5780 behaviour discovery (a CHANGE-REQUEST gets 420).
    /// </summary>
    public IPAddress? AlternateIp { get; init; }
    /// <summary>Where the server listens for TURN over TLS (RFC 8656 §3.1), TCP only; empty: no TLS.</summary>
    public IReadOnlyList<IPEndPoint> TlsListen { get; init; } = [];
    /// <summary>PEM files of the TLS certificate and its private key; both empty: a self-signed certificate is made at start.</summary>
    public string TlsCertificateFile { get; init; } = string.Empty;
    public string TlsKeyFile { get; init; } = string.Empty;
    /// <summary>The certificate itself, when the caller has one at hand (tests); it wins over the files.</summary>
    public X509Certificate2? TlsCertificate { get; init; }
    /// <summary>A TLS connection whose handshake has not finished by then is closed and counted as failed.</summary>
    public TimeSpan TlsHandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How long a self-signed certificate made at start is valid.</summary>
    public TimeSpan TlsSelfSignedValidity { get; init; } = TimeSpan.FromDays(365);
    public int MinPort { get; init; } = 49152;
    public int MaxPort { get; init; } = 65535;
    public string Realm { get; init; } = "p2p";
    /// <summary>Long-term credentials, user name to password (RFC 8489 §9.2).</summary>
    public IReadOnlyDictionary<string, string> Users { get; init; } = new Dictionary<string, string>();
    /// <summary>
    /// Shared secrets of the TURN REST API (<c>P2P.Protocol.Turn.TurnRestCredentials</c>): a username "expiry:user" whose
    /// password is base64(HMAC-SHA1(secret, username)) under one of them is a user until its expiry. Empty: none.
    /// </summary>
    public IReadOnlyList<string> AuthSecrets { get; init; } = [];
    public bool AllowLoopback { get; init; }
    public bool AllowPrivate { get; init; }
    public int MaxAllocations { get; init; } = 1000;
    public int UserQuota { get; init; } = 10;
    public TimeSpan DefaultLifetime { get; init; } = TimeSpan.FromSeconds(600);
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromSeconds(3600);
    public TimeSpan PermissionLifetime { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan ChannelLifetime { get; init; } = TimeSpan.FromSeconds(600);
    public TimeSpan NonceLifetime { get; init; } = TimeSpan.FromSeconds(600);
    /// <summary>How long the port after an even one stays held for its RESERVATION-TOKEN (RFC 8656 §7.2: about 30 s).</summary>
    public TimeSpan ReservationLifetime { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>RFC 6062 TCP allocations: how long a Connect may take before 447, how long a peer connection waits for its ConnectionBind, and how many one allocation may have.</summary>
    public TimeSpan TcpPeerConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan TcpPeerBindTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public int MaxTcpPeerConnections { get; init; } = 32;
    public string Software { get; init; } = "p2p relay";
    public int SocketBufferBytes { get; init; } = 4 << 20;
    public int TcpWriteQueueBytes { get; init; } = 1 << 20;
    /// <summary>Relay ChannelData on the receiving threads instead of through the actors (real UDP sockets only).</summary>
    public bool FastDataPath { get; init; } = true;
    /// <summary>A TCP connection that carries no allocation and sends nothing for this long is closed.</summary>
    public TimeSpan TcpIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Open TCP connections from clients, in total; past it new ones are closed at once.</summary>
    public int MaxTcpConnections { get; init; } = 4096;
    /// <summary>Open TCP connections from one client IP address; past it new ones from that address are closed at once.</summary>
    public int MaxTcpConnectionsPerIp { get; init; } = 64;
    /// <summary>Log floods: at most this many WARN lines per kind of bad input and <see cref="LogInterval"/>; the rest are counted.</summary>
    public int LogBurst { get; init; } = 10;
    public TimeSpan LogInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>True when at least one user is configured; without one TURN is refused (no anonymous relay).</summary>
    public bool TurnEnabled => Users.Count > 0 || AuthSecrets.Count > 0;

    /// <summary>Reads <c>p2p.relay</c>; throws <see cref="ConfigurationException"/> with a readable message on a bad value.</summary>
    public static RelaySettings From(Config config)
    {
        var c = config.GetConfig("p2p.relay") ?? throw new ConfigurationException("missing section p2p.relay");
        var listen = new List<IPEndPoint>();
        foreach (var text in c.GetStringList("listen", []))
        {
            if (!TryParseEndPoint(text, out var ep, out var error)) throw new ConfigurationException($"p2p.relay.listen: {error}");
            listen.Add(ep);
        }
        var tlsListen = new List<IPEndPoint>();
        foreach (var text in c.GetStringList("tls-listen", []))
        {
            if (!TryParseEndPoint(text, out var ep, out var error, DefaultTlsPort)) throw new ConfigurationException($"p2p.relay.tls-listen: {error}");
            tlsListen.Add(ep);
        }
        var relayIps = new List<IPAddress>();
        foreach (var text in c.GetStringList("relay-ips", []))
        {
            if (!IPAddress.TryParse(text, out var ip)) throw new ConfigurationException($"p2p.relay.relay-ips: '{text}' is not an IP address");
            relayIps.Add(ip);
        }
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var text in c.GetStringList("users", []))
        {
            if (!TryParseUser(text, out var name, out var password, out var error)) throw new ConfigurationException($"p2p.relay.users: {error}");
            users[name] = password;
        }
        var settings = new RelaySettings
        {
            Listen = listen.Count > 0 ? listen : [new IPEndPoint(IPAddress.Loopback, DefaultPort)],
            RelayAddresses = relayIps,
            AlternateIp = c.GetString("alt-ip", string.Empty) is { Length: > 0 } alt
                ? IPAddress.TryParse(alt, out var altIp) ? altIp : throw new ConfigurationException($"p2p.relay.alt-ip: '{alt}' is not an IP address")
                : null,
            TlsListen = tlsListen,
            TlsCertificateFile = c.GetString("tls-cert", string.Empty),
            TlsKeyFile = c.GetString("tls-key", string.Empty),
            TlsHandshakeTimeout = c.GetTimeSpan("tls-handshake-timeout", TimeSpan.FromSeconds(10)),
            TlsSelfSignedValidity = c.GetTimeSpan("tls-self-signed-validity", TimeSpan.FromDays(365)),
            MinPort = c.GetInt("min-port", 49152),
            MaxPort = c.GetInt("max-port", 65535),
            Realm = c.GetString("realm", "p2p"),
            Users = users,
            AuthSecrets = c.GetStringList("auth-secrets", []).ToList(),
            AllowLoopback = c.GetBoolean("allow-loopback", false),
            AllowPrivate = c.GetBoolean("allow-private", false),
            MaxAllocations = c.GetInt("max-allocations", 1000),
            UserQuota = c.GetInt("user-quota", 10),
            DefaultLifetime = c.GetTimeSpan("default-lifetime", TimeSpan.FromSeconds(600)),
            MaxLifetime = c.GetTimeSpan("max-lifetime", TimeSpan.FromSeconds(3600)),
            PermissionLifetime = c.GetTimeSpan("permission-lifetime", TimeSpan.FromSeconds(300)),
            ChannelLifetime = c.GetTimeSpan("channel-lifetime", TimeSpan.FromSeconds(600)),
            NonceLifetime = c.GetTimeSpan("nonce-lifetime", TimeSpan.FromSeconds(600)),
            ReservationLifetime = c.GetTimeSpan("reservation-lifetime", TimeSpan.FromSeconds(30)),
            TcpPeerConnectTimeout = c.GetTimeSpan("tcp-peer-connect-timeout", TimeSpan.FromSeconds(10)),
            TcpPeerBindTimeout = c.GetTimeSpan("tcp-peer-bind-timeout", TimeSpan.FromSeconds(30)),
            MaxTcpPeerConnections = c.GetInt("max-tcp-peer-connections", 32),
            Software = c.GetString("software", "p2p relay"),
            SocketBufferBytes = c.GetInt("socket-buffer-bytes", 4 << 20),
            TcpWriteQueueBytes = c.GetInt("tcp-write-queue-bytes", 1 << 20),
            FastDataPath = c.GetBoolean("fast-data-path", true),
            TcpIdleTimeout = c.GetTimeSpan("tcp-idle-timeout", TimeSpan.FromSeconds(60)),
            MaxTcpConnections = c.GetInt("max-tcp-connections", 4096),
            MaxTcpConnectionsPerIp = c.GetInt("max-tcp-connections-per-ip", 64),
            LogBurst = c.GetInt("log-burst", 10),
            LogInterval = c.GetTimeSpan("log-interval", TimeSpan.FromSeconds(60)),
        };
        var problem = settings.Validate();
        if (problem is not null) throw new ConfigurationException($"p2p.relay: {problem}");
        return settings;
    }

    /// <summary>Null when the settings make sense, else one sentence saying what is wrong.</summary>
    public string? Validate()
    {
        if (Listen.Count == 0) return "at least one listening address is needed";
        if (MinPort is < 1 or > 65535 || MaxPort is < 1 or > 65535 || MinPort > MaxPort)
            return $"relay port range {MinPort}-{MaxPort} is not a valid range within 1-65535";
        if (string.IsNullOrEmpty(Realm)) return "the realm must not be empty";
        if (AuthSecrets.Any(string.IsNullOrEmpty)) return "an auth secret must not be empty";
        if (MaxAllocations < 0) return "max-allocations must not be negative";
        if (UserQuota < 0) return "user-quota must not be negative";
        if (DefaultLifetime <= TimeSpan.Zero || MaxLifetime <= TimeSpan.Zero) return "lifetimes must be positive";
        if (MaxLifetime < DefaultLifetime) return $"the maximum lifetime ({MaxLifetime.TotalSeconds} s) is shorter than the default ({DefaultLifetime.TotalSeconds} s)";
        if (NonceLifetime <= TimeSpan.Zero) return "nonce-lifetime must be positive";
        if (ReservationLifetime <= TimeSpan.Zero) return "reservation-lifetime must be positive";
        if (TcpPeerConnectTimeout <= TimeSpan.Zero || TcpPeerBindTimeout <= TimeSpan.Zero) return "tcp-peer-connect-timeout and tcp-peer-bind-timeout must be positive";
        if (MaxTcpPeerConnections < 1) return "max-tcp-peer-connections must be at least 1";
        if (PermissionLifetime <= TimeSpan.Zero || ChannelLifetime <= TimeSpan.Zero) return "permission and channel lifetimes must be positive";
        if (TcpIdleTimeout <= TimeSpan.Zero) return "tcp-idle-timeout must be positive";
        if (string.IsNullOrEmpty(TlsCertificateFile) != string.IsNullOrEmpty(TlsKeyFile))
            return "a TLS certificate needs both its certificate and its key file (--cert and --key)";
        if (TlsHandshakeTimeout <= TimeSpan.Zero || TlsSelfSignedValidity <= TimeSpan.Zero) return "tls-handshake-timeout and tls-self-signed-validity must be positive";
        if (MaxTcpConnections < 1 || MaxTcpConnectionsPerIp < 1) return "max-tcp-connections and max-tcp-connections-per-ip must be at least 1";
        if (LogBurst < 1 || LogInterval <= TimeSpan.Zero) return "log-burst must be at least 1 and log-interval positive";
        if (RelayAddresses.GroupBy(a => a.AddressFamily).Any(g => g.Count() > 1)) return "at most one relay address per address family";
        foreach (var ip in RelayAddresses)
            if (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)) return "a relay address must be a specific address, not a wildcard";
        if (AlternateIp is { } altIp)
        {
            if (!IsSpecific(altIp, altIp.AddressFamily)) return "the alternate address (--alt-ip) must be a specific address, not a wildcard";
            if (Rfc5780Primary is not { } primary)
                return $"the alternate address {altIp} needs a specific listening address of its family (--listen) to pair with";
            if (primary.Address.Equals(altIp)) return $"the alternate address {altIp} must differ from the listening address";
            if (primary.Port == ushort.MaxValue) return "the listening port paired with an alternate address must leave room for the next port";
        }
        return null;
    }

    /// <summary>
    /// The address relayed transport addresses of <paramref name="family"/> are bound to: the configured relay
    /// address of that family, else the address the request came in on, else another specific listening
    /// address of that family; null when none fits (440 Address Family not Supported).
    /// </summary>
    public IPAddress? RelayAddressFor(AddressFamily family, IPAddress listenerAddress)
    {
        foreach (var ip in RelayAddresses)
            if (ip.AddressFamily == family) return ip;
        if (listenerAddress.IsIPv4MappedToIPv6) listenerAddress = listenerAddress.MapToIPv4();
        if (IsSpecific(listenerAddress, family)) return listenerAddress;
        foreach (var listen in Listen)
            if (IsSpecific(listen.Address, family)) return listen.Address;
        return null;
    }

    /// <summary>The listening address paired with <see cref="AlternateIp"/> for RFC 5780: the first specific one of its family.</summary>
    public IPEndPoint? Rfc5780Primary =>
        AlternateIp is { } alt ? Listen.FirstOrDefault(l => IsSpecific(l.Address, alt.AddressFamily)) : null;

    private static bool IsSpecific(IPAddress address, AddressFamily family) =>
        address.AddressFamily == family && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any);

    /// <summary>Parses "1.2.3.4:3478", "[::1]:3478", or an address alone (port <paramref name="defaultPort"/>, 3478 unless told).</summary>
    public static bool TryParseEndPoint(string text, out IPEndPoint endPoint, out string? error, int defaultPort = DefaultPort)
    {
        endPoint = new IPEndPoint(IPAddress.Loopback, defaultPort);
        text = text.Trim();
        if (IPAddress.TryParse(text.Trim('[', ']'), out var bare) && (!text.Contains(':') || bare.AddressFamily == AddressFamily.InterNetworkV6 && !text.StartsWith('[')))
        {
            endPoint = new IPEndPoint(bare, defaultPort);
            error = null;
            return true;
        }
        if (IPEndPoint.TryParse(text, out var parsed) && (text.StartsWith('[') || parsed.AddressFamily == AddressFamily.InterNetwork))
        {
            endPoint = parsed;
            error = null;
            return true;
        }
        error = $"'{text}' is not an address with a port such as 127.0.0.1:{defaultPort} or [::1]:{defaultPort}";
        return false;
    }

    /// <summary>Parses "name:password" (the password may contain ':').</summary>
    public static bool TryParseUser(string text, out string name, out string password, out string? error)
    {
        int colon = text.IndexOf(':');
        name = colon > 0 ? text[..colon] : string.Empty;
        password = colon > 0 ? text[(colon + 1)..] : string.Empty;
        if (colon <= 0 || password.Length == 0)
        {
            error = $"'{text}' is not of the form name:password";
            return false;
        }
        error = null;
        return true;
    }
}
