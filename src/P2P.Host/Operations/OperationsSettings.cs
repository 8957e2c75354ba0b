using System.Net;
using Akka.Configuration;

namespace P2P.Host.Operations;

/// <summary>
/// The operations endpoint of a <c>p2p signal</c> or <c>p2p relay</c> node (<c>p2p.operations</c> in akka.hocon,
/// <c>--metrics ip:port</c>): where it listens (null: off), and how often the actors' counters are read for it.
/// </summary>
public sealed record OperationsSettings
{
    public const string Section = "p2p.operations";

    /// <summary>Where /health, /cluster and /metrics are served; null: no endpoint. Port 0 picks a free port.</summary>
    public IPEndPoint? Listen { get; init; }
    /// <summary>How often the node's actors are asked for their counters (the metrics show the last answer).</summary>
    public TimeSpan StatsInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How long one round of asking may take before it is given up (the previous numbers stay).</summary>
    public TimeSpan StatsTimeout { get; init; } = TimeSpan.FromSeconds(3);

    public static readonly OperationsSettings Off = new();

    /// <summary>Reads <c>p2p.operations</c> (defaults when absent); throws <see cref="ConfigurationException"/> with one sentence.</summary>
    public static OperationsSettings From(Config config)
    {
        var c = config.GetConfig(Section);
        if (c is null || c.IsEmpty) return Off;
        var settings = new OperationsSettings
        {
            Listen = c.GetString("metrics", string.Empty) is { Length: > 0 } text
                ? TryParseEndPoint(text, out var ep) ? ep : throw new ConfigurationException($"{Section}.metrics: '{text}' is not an address with a port such as 127.0.0.1:9464")
                : null,
            StatsInterval = c.GetTimeSpan("stats-interval", Off.StatsInterval),
            StatsTimeout = c.GetTimeSpan("stats-timeout", Off.StatsTimeout),
        };
        if (settings.StatsInterval <= TimeSpan.Zero || settings.StatsTimeout <= TimeSpan.Zero)
            throw new ConfigurationException($"{Section}: stats-interval and stats-timeout must be positive");
        return settings;
    }

    /// <summary>"127.0.0.1:9464" or "[::1]:9464"; the port is required (0 picks a free one).</summary>
    public static bool TryParseEndPoint(string text, out IPEndPoint endPoint)
    {
        text = text.Trim();
        bool hasPort = text.StartsWith('[') ? text.Contains("]:", StringComparison.Ordinal) : text.Count(ch => ch == ':') == 1;
        if (hasPort && IPEndPoint.TryParse(text, out var parsed)) { endPoint = parsed; return true; }
        endPoint = new IPEndPoint(IPAddress.Loopback, 0);
        return false;
    }
}
