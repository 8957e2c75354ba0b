using System.Net;
using System.Net.Sockets;
using Akka.Configuration;

namespace P2P.Actors.Signaling;

/// <summary>
/// Settings of the signaling server (<c>p2p signal</c>) and of <see cref="SignalingClient"/>, read once from
/// <c>p2p.signal</c> in <c>akka.hocon</c>; every value is documented there. The command line overrides
/// single values with <c>with { }</c>.
/// </summary>
public sealed record SignalSettings
{
    public const string Section = "p2p.signal";

    /// <summary>Where the server listens (one WebSocket endpoint, path "/").</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 8090);
    /// <summary>Largest JSON message accepted from a WebSocket; a larger one is answered with an error.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024;
    /// <summary>Messages a room keeps for a peer that has not joined yet (trickled candidates).</summary>
    public int MaxPendingMessages { get; init; } = 256;
    /// <summary>Messages waiting to be written to one WebSocket; past it the server closes that (too slow) connection.</summary>
    public int MaxQueuedMessages { get; init; } = 1024;
    /// <summary>Longest room name and peer name, in characters.</summary>
    public int MaxNameLength { get; init; } = 64;
    /// <summary>WebSocket ping interval (RFC 6455 §5.5.2) on both ends; zero sends none.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long the client tries to open the WebSocket before it reports the server unreachable.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How long either end waits for the other's close frame after sending its own.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Client: warm the session stack up with a throw-away secure session in the process before joining (<see cref="Chat.ChatWarmUp"/>).</summary>
    public bool ClientWarmUp { get; init; } = true;
    /// <summary>Client: the longest the join waits for that warm-up.</summary>
    public TimeSpan ClientWarmUpTimeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Server: how many times within <see cref="RejoinGrace"/> a connection rebuilds a room that stopped under it before it tells its client the room failed.</summary>
    public int MaxRebuilds { get; init; } = 3;
    /// <summary>Server: a join the room has not answered is sent again after this long (its shard's node may have been killed).</summary>
    public TimeSpan JoinRetry { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Server: how long a room keeps the seat of a peer whose server node went away, for its rejoin from another node.</summary>
    public TimeSpan RejoinGrace { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Client: the wait before the second attempt to reach a server after a lost connection; it doubles up to <see cref="ReconnectBackoffMax"/>.</summary>
    public TimeSpan ReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(250);
    public TimeSpan ReconnectBackoffMax { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Client: how long it keeps trying the servers after a lost connection before signaling fails.</summary>
    public TimeSpan ReconnectFor { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Log floods: at most this many WARN lines about bad messages per <see cref="LogInterval"/>; the rest are counted.</summary>
    public int LogBurst { get; init; } = 10;
    public TimeSpan LogInterval { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Server: the STUN/TURN servers, with fresh TURN credentials, each joined message hands out (<c>ice-servers</c>).</summary>
    public SignalIceServerSettings IceServers { get; init; } = SignalIceServerSettings.None;

    /// <summary>The values of <c>akka.hocon</c>, for code and tests without a config at hand.</summary>
    public static readonly SignalSettings Default = new();

    /// <summary>Reads <c>p2p.signal</c>; throws <see cref="ConfigurationException"/> with one sentence on a bad value.</summary>
    public static SignalSettings From(Config config)
    {
        var c = config.GetConfig(Section);
        if (c is null || c.IsEmpty) throw new ConfigurationException($"configuration section '{Section}' is missing (see akka.hocon)");
        var listen = c.GetString("listen", "127.0.0.1:8090");
        if (!TryParseEndPoint(listen, out var endPoint))
            throw new ConfigurationException($"{Section}.listen: '{listen}' is not an address with a port such as 127.0.0.1:8090 or [::1]:8090");
        var settings = new SignalSettings
        {
            Listen = endPoint,
            MaxMessageBytes = c.GetInt("max-message-bytes", Default.MaxMessageBytes),
            MaxPendingMessages = c.GetInt("max-pending-messages", Default.MaxPendingMessages),
            MaxQueuedMessages = c.GetInt("max-queued-messages", Default.MaxQueuedMessages),
            MaxNameLength = c.GetInt("max-name-length", Default.MaxNameLength),
            KeepAliveInterval = c.GetTimeSpan("keep-alive-interval", Default.KeepAliveInterval),
            ConnectTimeout = c.GetTimeSpan("connect-timeout", Default.ConnectTimeout),
            CloseTimeout = c.GetTimeSpan("close-timeout", Default.CloseTimeout),
            ClientWarmUp = c.GetBoolean("client-warm-up", Default.ClientWarmUp),
            ClientWarmUpTimeout = c.GetTimeSpan("client-warm-up-timeout", Default.ClientWarmUpTimeout),
            RejoinGrace = c.GetTimeSpan("rejoin-grace", Default.RejoinGrace),
            JoinRetry = c.GetTimeSpan("join-retry", Default.JoinRetry),
            MaxRebuilds = c.GetInt("max-rebuilds", Default.MaxRebuilds),
            ReconnectBackoff = c.GetTimeSpan("reconnect-backoff", Default.ReconnectBackoff),
            ReconnectBackoffMax = c.GetTimeSpan("reconnect-backoff-max", Default.ReconnectBackoffMax),
            ReconnectFor = c.GetTimeSpan("reconnect-for", Default.ReconnectFor),
            LogBurst = c.GetInt("log-burst", Default.LogBurst),
            LogInterval = c.GetTimeSpan("log-interval", Default.LogInterval),
            IceServers = SignalIceServerSettings.From(c),
        };
        if (settings.Validate() is { } problem) throw new ConfigurationException($"{Section}: {problem}");
        return settings;
    }

    /// <summary>Null when the settings make sense, else one sentence saying what is wrong.</summary>
    public string? Validate()
    {
        if (MaxMessageBytes < 1024) return "max-message-bytes must be at least 1024";
        if (MaxPendingMessages < 0) return "max-pending-messages must not be negative";
        if (MaxQueuedMessages < 1) return "max-queued-messages must be at least 1";
        if (MaxNameLength < 1) return "max-name-length must be at least 1";
        if (KeepAliveInterval < TimeSpan.Zero) return "keep-alive-interval must not be negative";
        if (ConnectTimeout <= TimeSpan.Zero) return "connect-timeout must be positive";
        if (CloseTimeout <= TimeSpan.Zero) return "close-timeout must be positive";
        if (ClientWarmUpTimeout <= TimeSpan.Zero) return "client-warm-up-timeout must be positive (client-warm-up = off turns the warm-up off)";
        if (RejoinGrace <= TimeSpan.Zero) return "rejoin-grace must be positive";
        if (JoinRetry <= TimeSpan.Zero) return "join-retry must be positive";
        if (MaxRebuilds < 0) return "max-rebuilds must not be negative";
        if (ReconnectBackoff <= TimeSpan.Zero || ReconnectBackoffMax < ReconnectBackoff) return "reconnect-backoff must be positive and reconnect-backoff-max at least as long";
        if (ReconnectFor < TimeSpan.Zero) return "reconnect-for must not be negative (0s turns reconnecting off)";
        if (LogBurst < 1 || LogInterval <= TimeSpan.Zero) return "log-burst must be at least 1 and log-interval positive";
        if (IceServers.Validate() is { } iceServers) return iceServers;
        return null;
    }

    /// <summary>Parses "127.0.0.1:8090" or "[::1]:8090"; the port is required (0 picks a free one).</summary>
    public static bool TryParseEndPoint(string text, out IPEndPoint endPoint)
    {
        text = text.Trim();
        bool hasPort = text.StartsWith('[') ? text.Contains("]:", StringComparison.Ordinal) : text.Count(ch => ch == ':') == 1;
        if (hasPort && IPEndPoint.TryParse(text, out var parsed) && (parsed.AddressFamily == AddressFamily.InterNetwork || text.StartsWith('[')))
        {
            endPoint = parsed;
            return true;
        }
        endPoint = new IPEndPoint(IPAddress.Loopback, 0);
        return false;
    }
}
