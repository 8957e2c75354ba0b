using Akka.Configuration;

namespace P2P.Actors.Mdns;

/// <summary>
/// What this engine does with mDNS host candidates (draft-ietf-mmusic-mdns-ice-candidates): <see cref="Off"/> drops a
/// remote ".local" candidate; <see cref="Resolve"/> resolves it (RFC 6762 one-shot queries) and pairs the address;
/// <see cref="Publish"/> also signals this side's host candidates under fresh names and answers queries for them, as
/// browsers do.
/// </summary>
public enum MdnsMode { Off, Resolve, Publish }

/// <summary>The mDNS settings, read from <c>p2p.ice</c> in <c>akka.hocon</c> (the <c>mdns</c> keys).</summary>
public sealed record MdnsSettings(MdnsMode Mode, TimeSpan ResolveTimeout, TimeSpan QueryInterval, TimeSpan AnswerTtl, int BadPacketLogPerMinute)
{
    /// <summary>How many different remote names one session resolves; candidates under further names are dropped (a browser offers one per address).</summary>
    public int MaxNamesPerSession { get; init; } = 16;

    /// <summary>The values of <c>akka.hocon</c>, for code without a config at hand.</summary>
    public static readonly MdnsSettings Default = new(MdnsMode.Resolve, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(120), 5);

    /// <summary>RFC 6762 §6.7: a legacy unicast answer carries a TTL of at most 10 s.</summary>
    public static readonly TimeSpan LegacyUnicastMaxTtl = TimeSpan.FromSeconds(10);

    /// <summary>Reads the <c>mdns</c> keys of the <c>p2p.ice</c> section <paramref name="ice"/>; a missing key keeps its default.</summary>
    public static MdnsSettings From(Config ice)
    {
        string mode = ice.GetString("mdns", "resolve");
        if (!Enum.TryParse<MdnsMode>(mode, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
            throw new ConfigurationException($"'p2p.ice.mdns' is '{mode}': it must be resolve, publish or off");
        var settings = new MdnsSettings(parsed,
            ice.GetTimeSpan("mdns-resolve-timeout", Default.ResolveTimeout),
            ice.GetTimeSpan("mdns-query-interval", Default.QueryInterval),
            ice.GetTimeSpan("mdns-answer-ttl", Default.AnswerTtl),
            ice.GetInt("mdns-bad-packet-log-per-minute", Default.BadPacketLogPerMinute))
        {
            MaxNamesPerSession = ice.GetInt("mdns-max-names-per-session", Default.MaxNamesPerSession),
        };
        if (settings.ResolveTimeout <= TimeSpan.Zero || settings.QueryInterval <= TimeSpan.Zero || settings.AnswerTtl < TimeSpan.FromSeconds(1))
            throw new ConfigurationException("'p2p.ice': mdns-resolve-timeout and mdns-query-interval must be positive, mdns-answer-ttl at least 1s");
        return settings;
    }
}
