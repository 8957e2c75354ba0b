using Akka.Configuration;

namespace P2P.Actors.Ice;

/// <summary>
/// The limits of port prediction, <c>p2p.ice.port-prediction</c> in akka.hocon (every one there, commented). The key
/// may also be the single word <c>on</c> or <c>off</c> (<c>p2p.ice.port-prediction = off</c>), which keeps the other
/// limits at their defaults.
/// </summary>
public sealed record PortPredictionSettings(
    bool Enabled, int Sockets, int SequentialSockets, int SequentialWindow, int MaxProbes, int PacketsPerSecond, TimeSpan BatchInterval, TimeSpan MaxDuration)
{
    public const string Section = "p2p.ice.port-prediction";

    /// <summary>Seeds the random probe ports (tests, for repeatable runs); null: a fresh generator. Not in akka.hocon.</summary>
    public int? Seed { get; init; }

    /// <summary>The values of akka.hocon, for code without a config at hand.</summary>
    public static readonly PortPredictionSettings Default = new(
        Enabled: true, Sockets: 256, SequentialSockets: 16, SequentialWindow: 64, MaxProbes: 1024, PacketsPerSecond: 250,
        BatchInterval: TimeSpan.FromMilliseconds(20), MaxDuration: TimeSpan.FromSeconds(10));

    /// <summary>The section of <paramref name="config"/> when it has one, else <see cref="Default"/>.</summary>
    public static PortPredictionSettings OrDefault(Config config) => config.HasPath(Section) ? From(config) : Default;

    public static PortPredictionSettings From(Config config)
    {
        var value = config.GetValue(Section);
        if (value is null) return Default;
        if (value.IsString())
        {
            string word = value.GetString().Trim().ToLowerInvariant();
            bool? enabled = word switch { "on" or "true" or "yes" => true, "off" or "false" or "no" => false, _ => null };
            return enabled is { } e ? Default with { Enabled = e }
                : throw new ConfigurationException($"'{Section}' is '{word}': say on or off, or give the block of its limits (see akka.hocon)");
        }
        var c = config.GetConfig(Section);
        var settings = new PortPredictionSettings(
            Enabled: c.GetBoolean("enabled", Default.Enabled),
            Sockets: c.GetInt("sockets", Default.Sockets),
            SequentialSockets: c.GetInt("sequential-sockets", Default.SequentialSockets),
            SequentialWindow: c.GetInt("sequential-window", Default.SequentialWindow),
            MaxProbes: c.GetInt("max-probes", Default.MaxProbes),
            PacketsPerSecond: c.GetInt("packets-per-second", Default.PacketsPerSecond),
            BatchInterval: c.GetTimeSpan("batch-interval", Default.BatchInterval),
            MaxDuration: c.GetTimeSpan("max-duration", Default.MaxDuration));
        return settings.Validate() is { } problem ? throw new ConfigurationException($"'{Section}': {problem}") : settings;
    }

    /// <summary>Null when the limits make sense, else what is wrong.</summary>
    public string? Validate() =>
        Sockets is < 1 or > 4096 || SequentialSockets is < 1 or > 4096 ? "sockets and sequential-sockets must be 1 to 4096"
        : SequentialWindow is < 1 or > 4096 ? "sequential-window must be 1 to 4096"
        : MaxProbes is < 1 or > 65536 ? "max-probes must be 1 to 65536"
        : PacketsPerSecond is < 1 or > 10000 ? "packets-per-second must be 1 to 10000"
        : BatchInterval <= TimeSpan.Zero || MaxDuration <= TimeSpan.Zero ? "batch-interval and max-duration must be positive"
        : null;
}
