using Akka.Configuration;
using P2P.Protocol.Stun;

namespace P2P.Actors.Stun;

/// <summary>Settings of <see cref="NatDiscovery"/>, read once from <c>p2p.stun.nat-discovery</c> (every value is explained in <c>akka.hocon</c>).</summary>
/// <param name="Answered">The schedule of requests that must be answered (RFC 5780 §4.3 tests I-III).</param>
/// <param name="Silence">The schedule of requests whose silence is an answer (§4.4 filtering, §4.5 hairpinning, §4.6 lifetime checks).</param>
/// <param name="AllocationSockets">Fresh sockets whose mappings show how the NAT picks ports.</param>
/// <param name="MaxSequentialStep">The largest port difference still called sequential.</param>
/// <param name="LifetimeProbe">Whether §4.6's mapping lifetime is measured.</param>
/// <param name="LifetimeFirstCheck">The first idle time checked; each later check doubles it.</param>
/// <param name="LifetimeMax">The longest idle time checked.</param>
/// <param name="Background">Whether a peer runs discovery in the background.</param>
/// <param name="BackgroundDelay">How long after its STUN server first answered a peer starts it.</param>
/// <param name="PortPrediction">Whether this peer takes part in port prediction (<c>p2p.ice.port-prediction</c>).</param>
/// <param name="Software">The SOFTWARE attribute of the requests (<c>p2p.stun.software</c>).</param>
/// <param name="CommandTimeout">How long <c>p2p nat-type</c> waits for the outcome (lifetime probe not counted).</param>
public sealed record NatDiscoverySettings(
    RetransmissionSchedule Answered, RetransmissionSchedule Silence, int AllocationSockets, int MaxSequentialStep,
    bool LifetimeProbe, TimeSpan LifetimeFirstCheck, TimeSpan LifetimeMax, bool Background, TimeSpan BackgroundDelay,
    bool PortPrediction, string Software, TimeSpan CommandTimeout)
{
    public const string Section = "p2p.stun.nat-discovery";

    public static NatDiscoverySettings From(Config config)
    {
        var c = config.GetConfig(Section);
        if (c is null || c.IsEmpty) throw new ConfigurationException($"configuration section '{Section}' is missing (see akka.hocon)");
        var answered = new RetransmissionSchedule(c.GetTimeSpan("rto"), c.GetInt("rc"), c.GetInt("rm"), TimeSpan.FromSeconds(10));
        var silence = new RetransmissionSchedule(c.GetTimeSpan("silence-rto"), c.GetInt("silence-rc"), c.GetInt("silence-rm"), TimeSpan.FromSeconds(10));
        foreach (var (schedule, name) in new[] { (answered, "rto, rc, rm"), (silence, "silence-rto, silence-rc, silence-rm") })
            if (schedule.Rto <= TimeSpan.Zero || schedule.Rc < 1 || schedule.Rm < 1)
                throw new ConfigurationException($"'{Section}': {name}: the rto must be positive and the counts at least 1");
        var settings = new NatDiscoverySettings(answered, silence,
            c.GetInt("allocation-sockets"), c.GetInt("max-sequential-step"),
            c.GetBoolean("lifetime-probe"), c.GetTimeSpan("lifetime-first-check"), c.GetTimeSpan("lifetime-max"),
            c.GetBoolean("background"), c.GetTimeSpan("background-delay"),
            PortPredictionOf(config), config.GetString("p2p.stun.software", string.Empty) ?? string.Empty,
            c.GetTimeSpan("command-timeout", TimeSpan.FromSeconds(30)));
        if (settings.AllocationSockets < 2) throw new ConfigurationException($"'{Section}.allocation-sockets' must be at least 2");
        if (settings.MaxSequentialStep < 1) throw new ConfigurationException($"'{Section}.max-sequential-step' must be at least 1");
        if (settings.LifetimeFirstCheck <= TimeSpan.Zero || settings.LifetimeMax < settings.LifetimeFirstCheck)
            throw new ConfigurationException($"'{Section}': lifetime-first-check must be positive and at most lifetime-max");
        if (settings.CommandTimeout <= TimeSpan.Zero) throw new ConfigurationException($"'{Section}.command-timeout' must be positive");
        if (settings.BackgroundDelay < TimeSpan.Zero) throw new ConfigurationException($"'{Section}.background-delay' must not be negative");
        return settings;
    }

    /// <summary>The settings, or null when the configuration has no <c>p2p.stun.nat-discovery</c> section (no background discovery then).</summary>
    public static NatDiscoverySettings? OrNull(Config config) =>
        config.HasPath(Section) ? From(config) : null;

    /// <summary>
    /// <c>p2p.ice.port-prediction</c>: on unless it says off, as one word or as the block's <c>enabled</c> (the session
    /// reads the same key through PortPredictionSettings, and its own value is what goes into the description).
    /// </summary>
    public static bool PortPredictionOf(Config config)
    {
        const string path = "p2p.ice.port-prediction";
        if (!config.HasPath(path)) return true;
        return config.GetValue(path).IsObject() ? config.GetBoolean(path + ".enabled", true) : config.GetBoolean(path);
    }
}
