using Akka.Configuration;

namespace P2P.Actors.Sctp;

/// <summary>Settings of <see cref="SctpAssociation"/>, read once from <c>p2p.sctp</c> in <c>akka.hocon</c>.</summary>
/// <param name="Port">SCTP source and destination port of both ends (RFC 8841 §5; WebRTC uses 5000).</param>
/// <param name="MaxPacketSize">Largest SCTP packet written; must fit one DTLS record (RFC 8261 §5).</param>
/// <param name="ReceiveWindow">Receive buffer advertised as a_rwnd (RFC 9260 §6.2).</param>
/// <param name="RtoInitial">RTO.Initial (RFC 9260 §6.3.1).</param>
/// <param name="RtoMin">RTO.Min (RFC 9260 §6.3.1); WebRTC stacks go well below the RFC's 1 s.</param>
/// <param name="RtoMax">RTO.Max (RFC 9260 §6.3.1).</param>
/// <param name="MaxInitRetransmits">Max.Init.Retransmits (RFC 9260 §5.1, §16).</param>
/// <param name="HeartbeatInterval">HB.interval (RFC 9260 §8.3).</param>
/// <param name="PathMaxRetransmits">Path.Max.Retrans / Association.Max.Retrans (RFC 9260 §8.1, §8.2).</param>
/// <param name="DelayedSack">Longest delay of a SACK (RFC 9260 §6.2: at most 500 ms; 200 ms is usual).</param>
/// <param name="MaxBurst">Max.Burst (RFC 9260 §6.1): new DATA packets per send opportunity.</param>
/// <param name="CookieLifetime">Valid.Cookie.Life (RFC 9260 §5.1.3).</param>
/// <param name="MaxMessageSize">Largest user message accepted for sending (RFC 8831 §6.6).</param>
/// <param name="Streams">Outbound/inbound streams announced in INIT (RFC 8831 §6.2).</param>
/// <remarks>
/// Path MTU (RFC 8899 §6.2.1, PLPMTUD for SCTP): <see cref="MaxPacketSize"/> is the base size, safe on every path; once
/// the association is up, probe packets (HEARTBEAT with a PAD chunk) of larger sizes up to <see cref="PmtuProbeMax"/>
/// test the path, and a size whose probe the peer acknowledges is used from then on.
/// </remarks>
public sealed record SctpSettings(
    ushort Port,
    int MaxPacketSize,
    int ReceiveWindow,
    TimeSpan RtoInitial,
    TimeSpan RtoMin,
    TimeSpan RtoMax,
    int MaxInitRetransmits,
    TimeSpan HeartbeatInterval,
    int PathMaxRetransmits,
    TimeSpan DelayedSack,
    int MaxBurst,
    TimeSpan CookieLifetime,
    int MaxMessageSize,
    ushort Streams)
{
    public const string Section = "p2p.sctp";

    /// <summary>Largest packet probed for (RFC 8899 MAX_PLPMTU); 0, or not above <see cref="MaxPacketSize"/>, probes nothing.</summary>
    public int PmtuProbeMax { get; init; }

    /// <summary>RFC 8899 §5.1.1 PROBE_TIMER: a probe not acknowledged within this is lost (at least 1 s).</summary>
    public TimeSpan PmtuProbeTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>RFC 8899 §5.1.2 MAX_PROBES: probes of one size lost in a row before that size is given up.</summary>
    public int PmtuMaxProbes { get; init; } = 3;

    /// <summary>
    /// Heartbeats of every association fall due on multiples of this step, each within its RFC 9260 §8.3 window
    /// (HB.interval plus RTO jittered by ±50 %) when the window holds one (see <c>CoalescedDeadline</c>), so that one
    /// wake-up serves all heartbeats due at once; zero gives each its own instant.
    /// </summary>
    public TimeSpan HeartbeatGrid { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The values of <c>akka.hocon</c>, for code without a config at hand.</summary>
    public static readonly SctpSettings Default = new(
        Port: 5000,
        MaxPacketSize: 1152,
        ReceiveWindow: 2 * 1024 * 1024,
        RtoInitial: TimeSpan.FromMilliseconds(500),
        RtoMin: TimeSpan.FromMilliseconds(200),
        RtoMax: TimeSpan.FromSeconds(10),
        MaxInitRetransmits: 8,
        HeartbeatInterval: TimeSpan.FromSeconds(30),
        PathMaxRetransmits: 10,
        DelayedSack: TimeSpan.FromMilliseconds(200),
        MaxBurst: 4,
        CookieLifetime: TimeSpan.FromSeconds(60),
        MaxMessageSize: 256 * 1024,
        Streams: 65535)
    {
        PmtuProbeMax = 16384,
    };

    /// <summary>The <c>p2p.sctp</c> section of <paramref name="config"/> when it has one (an actor system built from <c>akka.hocon</c>), else <see cref="Default"/>.</summary>
    public static SctpSettings OrDefault(Config config) => config.HasPath(Section) ? From(config) : Default;

    public static SctpSettings From(Config config)
    {
        var c = config.GetConfig(Section);
        if (c is null || c.IsEmpty) throw new ConfigurationException($"configuration section '{Section}' is missing (see akka.hocon)");
        int port = c.GetInt("port"), streams = c.GetInt("streams");
        if (port is < 1 or > 65535 || streams is < 1 or > 65535)
            throw new ConfigurationException($"'{Section}': port and streams must be 1..65535");
        var settings = new SctpSettings(
            Port: (ushort)port,
            MaxPacketSize: c.GetInt("max-packet-size"),
            ReceiveWindow: c.GetInt("receive-window"),
            RtoInitial: c.GetTimeSpan("rto-initial"),
            RtoMin: c.GetTimeSpan("rto-min"),
            RtoMax: c.GetTimeSpan("rto-max"),
            MaxInitRetransmits: c.GetInt("max-init-retransmits"),
            HeartbeatInterval: c.GetTimeSpan("heartbeat-interval"),
            PathMaxRetransmits: c.GetInt("path-max-retransmits"),
            DelayedSack: c.GetTimeSpan("delayed-sack"),
            MaxBurst: c.GetInt("max-burst"),
            CookieLifetime: c.GetTimeSpan("cookie-lifetime"),
            MaxMessageSize: c.GetInt("max-message-size"),
            Streams: (ushort)streams)
        {
            // a section written before these keys existed (a --config file) keeps working with the defaults
            PmtuProbeMax = c.HasPath("pmtu-probe-max") ? c.GetInt("pmtu-probe-max") : Default.PmtuProbeMax,
            PmtuProbeTimeout = c.HasPath("pmtu-probe-timeout") ? c.GetTimeSpan("pmtu-probe-timeout") : Default.PmtuProbeTimeout,
            PmtuMaxProbes = c.HasPath("pmtu-max-probes") ? c.GetInt("pmtu-max-probes") : Default.PmtuMaxProbes,
            HeartbeatGrid = c.HasPath("heartbeat-grid") ? c.GetTimeSpan("heartbeat-grid") : Default.HeartbeatGrid,
        };
        settings.Validate();
        return settings;
    }

    /// <summary>Throws <see cref="ConfigurationException"/> when values contradict each other.</summary>
    public void Validate()
    {
        if (MaxPacketSize < 256 || ReceiveWindow < 4 * MaxPacketSize || RtoMin <= TimeSpan.Zero || RtoInitial < RtoMin
            || RtoMax < RtoInitial || MaxInitRetransmits < 1 || HeartbeatInterval <= TimeSpan.Zero || PathMaxRetransmits < 1
            || DelayedSack <= TimeSpan.Zero || DelayedSack > TimeSpan.FromMilliseconds(500) || MaxBurst < 1
            || CookieLifetime <= TimeSpan.Zero || MaxMessageSize < 1 || MaxMessageSize > ReceiveWindow
            || PmtuProbeMax is < 0 or > 65535 || PmtuProbeTimeout < TimeSpan.FromSeconds(1) || PmtuMaxProbes < 1)
            throw new ConfigurationException($"'{Section}': max-packet-size >= 256, receive-window >= 4 packets and >= max-message-size, " +
                "0 < rto-min <= rto-initial <= rto-max, delayed-sack in (0, 500ms], pmtu-probe-max 0..65535, pmtu-probe-timeout >= 1s " +
                "(RFC 8899 §5.1.1), counts and times positive");
    }
}
