using Akka.Configuration;
using P2P.Protocol.Stun;

namespace P2P.Actors.Turn;

/// <summary>
/// Settings of the TURN client (<see cref="TurnClient"/>), read once from the <c>p2p.turn-client</c>
/// section of <c>akka.hocon</c>, where every value is documented with its RFC section.
/// </summary>
public sealed record TurnClientSettings(
    RetransmissionSchedule Retransmission,
    TimeSpan RequestedLifetime,
    TimeSpan RefreshBeforeExpiry,
    TimeSpan PermissionRefreshInterval,
    TimeSpan ChannelRefreshInterval,
    int MaxStaleNonceRetries,
    int MaxQueuedPerPeer,
    bool Fingerprint,
    string Software)
{
    public const string Section = "p2p.turn-client";

    /// <summary>Over TCP (RFC 8656 §3.1): how long connecting to the server may take before the allocation fails.</summary>
    public TimeSpan TcpConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Over TLS (RFC 8656 §3.1, RFC 8489 §6.2.3): how long the TLS handshake may take once connected before the allocation fails.</summary>
    public TimeSpan TlsHandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Over TCP: bytes waiting to be written to the server before further messages are dropped.</summary>
    public int TcpWriteQueueBytes { get; init; } = 1 << 20;

    /// <summary>
    /// Bind a channel to every peer data is sent to (RFC 8656 §12), so that after the first datagrams (Send
    /// indications, 36 bytes of header) the data goes as ChannelData (4 bytes), which relays take on their fast path.
    /// </summary>
    public bool BindChannels { get; init; } = true;

    /// <summary>
    /// With <see cref="BindChannels"/>: the channel is asked for with this many datagrams sent to the peer, so that a peer
    /// that only gets a few connectivity checks (a candidate pair that is never used) gets no channel to refresh.
    /// </summary>
    public int BindChannelAfter { get; init; } = 10;

    /// <summary>How long a stopping peer waits for its TURN servers to confirm the release of its allocations (RFC 8656 §8).</summary>
    public TimeSpan ReleaseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A server that drops the allocation (437, or 438 then 400) gets a new Allocate (RFC 8656 §7, §9), at most this many
    /// times within <see cref="ReallocationWindow"/>; one more drop and the allocation is lost for good.
    /// </summary>
    public int MaxReallocations { get; init; } = 3;

    /// <summary>The window <see cref="MaxReallocations"/> counts drops in.</summary>
    public TimeSpan ReallocationWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// This long after data first went to a private peer address (RFC 1918, RFC 6598, ULA) the allocation is refreshed,
    /// to learn at once whether the server dropped it for that send; zero: never.
    /// </summary>
    public TimeSpan AllocationCheckDelay { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Relay data to private peer addresses (RFC 1918, RFC 6598, ULA) through a TURN server whose own address is public.
    /// Off: such a server has no route to them (ICE pairs the relay candidate with the remote's host candidates all the
    /// same), and coturn 4.6 answers a failed relayed send by closing the allocation, or over TCP by leaving it unable
    /// to relay. A server on a private address (same LAN) is always asked.
    /// </summary>
    public bool PrivatePeersThroughPublicServer { get; init; }

    /// <summary>
    /// RFC 8489 §10: how many 300 Try Alternate answers one allocation attempt follows (each to a server not tried yet in
    /// it: never back to one it was redirected from); 0: none is followed and a 300 fails the allocation.
    /// </summary>
    public int MaxRedirects { get; init; } = 2;

    /// <summary>
    /// When the owner asks whether the allocation is still there (<see cref="TurnClientProtocol.CheckAllocation"/>: a relayed
    /// path lost consent), a Refresh unanswered for this long ends it (<see cref="TurnClientProtocol.AllocationLost"/>).
    /// </summary>
    public TimeSpan AllocationCheckTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The values of <c>akka.hocon</c>, for code that has no config at hand (tests, tools).</summary>
    public static readonly TurnClientSettings Default = new(
        RetransmissionSchedule.Default,
        RequestedLifetime: TimeSpan.FromSeconds(600),
        RefreshBeforeExpiry: TimeSpan.FromSeconds(60),
        PermissionRefreshInterval: TimeSpan.FromSeconds(240),
        ChannelRefreshInterval: TimeSpan.FromSeconds(540),
        MaxStaleNonceRetries: 3,
        MaxQueuedPerPeer: 32,
        Fingerprint: true,
        Software: "P2P");

    /// <summary>Reads <c>p2p.turn-client</c>; a missing section or value is a configuration error.</summary>
    public static TurnClientSettings From(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = config.GetConfig(Section);
        if (c is null || c.IsEmpty) throw new ConfigurationException($"configuration section '{Section}' is missing (see akka.hocon)");

        TimeSpan Duration(string key)
        {
            if (!c.HasPath(key)) throw new ConfigurationException($"'{Section}.{key}' is missing (see akka.hocon)");
            var value = c.GetTimeSpan(key);
            if (value < TimeSpan.Zero) throw new ConfigurationException($"'{Section}.{key}' must not be negative");
            return value;
        }
        int Count(string key, int min)
        {
            if (!c.HasPath(key)) throw new ConfigurationException($"'{Section}.{key}' is missing (see akka.hocon)");
            int value = c.GetInt(key);
            if (value < min) throw new ConfigurationException($"'{Section}.{key}' must be at least {min}, got {value}");
            return value;
        }

        var settings = new TurnClientSettings(
            new RetransmissionSchedule(Duration("rto"), Count("rc", 1), Count("rm", 1), Duration("tcp-timeout")),
            RequestedLifetime: Duration("requested-lifetime"),
            RefreshBeforeExpiry: Duration("refresh-before-expiry"),
            PermissionRefreshInterval: Duration("permission-refresh-interval"),
            ChannelRefreshInterval: Duration("channel-refresh-interval"),
            MaxStaleNonceRetries: Count("max-stale-nonce-retries", 0),
            MaxQueuedPerPeer: Count("max-queued-per-peer", 0),
            Fingerprint: c.GetBoolean("fingerprint", true),
            Software: c.GetString("software", string.Empty) ?? string.Empty)
        {
            TcpConnectTimeout = Duration("tcp-connect-timeout"),
            TlsHandshakeTimeout = Duration("tls-handshake-timeout"),
            TcpWriteQueueBytes = Count("tcp-write-queue-bytes", 1),
            BindChannels = c.GetBoolean("bind-channels", true),
            BindChannelAfter = Count("bind-channel-after", 1),
            ReleaseTimeout = Duration("release-timeout"),
            MaxReallocations = Count("max-reallocations", 0),
            ReallocationWindow = Duration("reallocation-window"),
            AllocationCheckDelay = Duration("allocation-check-after-private-send"),
            PrivatePeersThroughPublicServer = c.GetBoolean("private-peers-through-public-server", false),
            MaxRedirects = Count("max-redirects", 0),
            AllocationCheckTimeout = Duration("allocation-check-timeout"),
        };
        if (settings.Retransmission.Rto <= TimeSpan.Zero) throw new ConfigurationException($"'{Section}.rto' must be positive");
        if (settings.ReleaseTimeout <= TimeSpan.Zero) throw new ConfigurationException($"'{Section}.release-timeout' must be positive");
        if (settings.TcpConnectTimeout <= TimeSpan.Zero) throw new ConfigurationException($"'{Section}.tcp-connect-timeout' must be positive");
        if (settings.TlsHandshakeTimeout <= TimeSpan.Zero) throw new ConfigurationException($"'{Section}.tls-handshake-timeout' must be positive");
        if (settings.PermissionRefreshInterval <= TimeSpan.Zero || settings.ChannelRefreshInterval <= TimeSpan.Zero)
            throw new ConfigurationException($"'{Section}' refresh intervals must be positive");
        return settings;
    }
}
