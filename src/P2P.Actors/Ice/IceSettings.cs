using Akka.Configuration;
using P2P.Actors.Mdns;
using P2P.Actors.Transport;
using P2P.Protocol.Stun;

namespace P2P.Actors.Ice;

/// <summary>How the controlling agent nominates (RFC 8445 §8.1.1; aggressive nomination is the RFC 5245 option).</summary>
public enum NominationMode { Regular, Aggressive }

/// <summary>Which local candidates a session offers (a relay-only policy hides host and server-reflexive ones).</summary>
public enum CandidatePolicy { All, RelayOnly }

/// <summary>Settings of the ICE agent and its children, read once from <c>p2p.ice</c> in <c>akka.hocon</c>.</summary>
public sealed record IceSettings(
    TimeSpan Ta,
    RetransmissionSchedule CheckRetransmission,
    int MaxPairs,
    NominationMode Nomination,
    TimeSpan NominationWait,
    TimeSpan ConnectTimeout,
    TimeSpan ConsentInterval,
    TimeSpan ConsentTimeout,
    TimeSpan GatheringTimeout,
    CandidatePolicy Policy,
    bool Lite)
{
    public const string Section = "p2p.ice";

    /// <summary>
    /// Kernel receive and send buffer of a peer's socket, in bytes (0 keeps the system default). Every session of the
    /// peer shares that socket: thousands of sessions checking at once overflow a default buffer (~208 KiB on Linux),
    /// and each dropped check costs a retransmission timeout. Linux caps it at net.core.rmem_max / wmem_max.
    /// </summary>
    public int SocketBufferBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// How many sessions of one peer send connectivity checks at once; the others wait for a place, first come first
    /// served, and their connect timeout starts when they begin (see <see cref="CheckAdmission{T}"/>). A session the
    /// remote already checks begins at once. 0: no limit (a checker whose transport is not a LocalPeer, in tests).
    /// </summary>
    public int MaxCheckingSessions { get; init; }

    /// <summary>When a peer's last session has gone, give the native heap's freed pages back (<see cref="Runtime.NativeHeap.Trim"/>).</summary>
    public bool TrimNativeHeapWhenIdle { get; init; }

    /// <summary>
    /// How many times within a minute one child of a session (its agent, connection, DTLS transport or SCTP association)
    /// may throw and be resumed with its state; one more and it is stopped and the session fails (see <c>Session</c>).
    /// </summary>
    public int ChildFaultsPerMinute { get; init; } = 10;

    /// <summary>
    /// Regular nomination (RFC 8445 §8.1.1): a better pair whose check has been out this many round trips of the best
    /// valid pair without an answer is no longer waited for (see <c>PairChecker</c>); <see cref="NominationWait"/>
    /// bounds the whole wait.
    /// </summary>
    public int NominationGraceRtts { get; init; } = 4;

    /// <summary>...and at least this long, so that a busy machine answering a few milliseconds late is still waited for.</summary>
    public TimeSpan NominationGrace { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// RFC 7675 §5.1: consent checks of every session fall due on multiples of this step, each still within 0.8-1.2 of
    /// <see cref="ConsentInterval"/> (see <c>CoalescedDeadline</c>), so that one wake-up sends all checks due at once;
    /// zero gives each check its own instant.
    /// </summary>
    public TimeSpan ConsentGrid { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// ICE-TCP (RFC 6544): each peer on real sockets also offers host TCP candidates, passive (a listening socket per
    /// host address), active and simultaneous-open (<see cref="IceTcpSettings.SimultaneousOpen"/>), whose pairs rank below every direct UDP pair (<c>CandidatePriority</c>), so they carry
    /// a session only when no direct UDP pair works. Virtual networks carry no TCP.
    /// </summary>
    public bool Tcp { get; init; } = true;

    /// <summary>Limits of the ICE-TCP connections (<see cref="Tcp"/>).</summary>
    public IceTcpSettings TcpConnections { get; init; } = IceTcpSettings.Default;

    /// <summary>mDNS host candidates (p2p.ice.mdns: resolve, publish or off), see <c>Mdns/MdnsCandidates</c>.</summary>
    public MdnsSettings Mdns { get; init; } = MdnsSettings.Default;

    /// <summary>RFC 8445 §14.2: the Ta an agent uses when it proposes none (a description without a=ice-pacing).</summary>
    public static readonly TimeSpan DefaultPacing = TimeSpan.FromMilliseconds(50);

    /// <summary>The values of <c>akka.hocon</c>, for code without a config at hand.</summary>
    public static readonly IceSettings Default = new(
        Ta: TimeSpan.FromMilliseconds(5),
        CheckRetransmission: new RetransmissionSchedule(TimeSpan.FromMilliseconds(250), 7, 16, TimeSpan.FromMilliseconds(19_750)),
        MaxPairs: 100,
        Nomination: NominationMode.Regular,
        NominationWait: TimeSpan.FromMilliseconds(500),
        ConnectTimeout: TimeSpan.FromSeconds(30),
        ConsentInterval: TimeSpan.FromSeconds(5),
        ConsentTimeout: TimeSpan.FromSeconds(30),
        GatheringTimeout: TimeSpan.FromSeconds(5),
        Policy: CandidatePolicy.All,
        Lite: false);

    public static IceSettings From(Config config)
    {
        var c = config.GetConfig(Section);
        if (c is null || c.IsEmpty) throw new ConfigurationException($"configuration section '{Section}' is missing (see akka.hocon)");
        var settings = new IceSettings(
            Ta: c.GetTimeSpan("ta"),
            CheckRetransmission: new RetransmissionSchedule(c.GetTimeSpan("check-rto"), c.GetInt("check-rc"), c.GetInt("check-rm"), c.GetTimeSpan("check-tcp-timeout")),
            MaxPairs: c.GetInt("max-pairs"),
            Nomination: Enum.Parse<NominationMode>(c.GetString("nomination"), ignoreCase: true),
            NominationWait: c.GetTimeSpan("nomination-wait"),
            ConnectTimeout: c.GetTimeSpan("connect-timeout"),
            ConsentInterval: c.GetTimeSpan("consent-interval"),
            ConsentTimeout: c.GetTimeSpan("consent-timeout"),
            GatheringTimeout: c.GetTimeSpan("gathering-timeout"),
            Policy: Enum.Parse<CandidatePolicy>(c.GetString("candidate-policy").Replace("-", ""), ignoreCase: true),
            Lite: c.GetBoolean("lite", false)) {
            SocketBufferBytes = c.GetInt("socket-buffer-bytes", 4 * 1024 * 1024),
            MaxCheckingSessions = c.GetInt("max-checking-sessions", 0),
            TrimNativeHeapWhenIdle = c.GetBoolean("trim-native-heap-when-idle", false),
            ChildFaultsPerMinute = c.GetInt("session-child-faults-per-minute", 10),
            NominationGraceRtts = c.GetInt("nomination-grace-rtts", 4),
            NominationGrace = c.GetTimeSpan("nomination-grace", TimeSpan.FromMilliseconds(20)),
            ConsentGrid = c.GetTimeSpan("consent-grid", TimeSpan.FromSeconds(1)),
            Tcp = c.GetBoolean("tcp", true),
            Mdns = MdnsSettings.From(c),
            TcpConnections = new IceTcpSettings(
                c.GetTimeSpan("tcp-connect-timeout", IceTcpSettings.Default.ConnectTimeout),
                c.GetInt("tcp-write-queue-bytes", IceTcpSettings.Default.WriteQueueBytes),
                c.GetInt("tcp-max-connections", IceTcpSettings.Default.MaxConnections),
                c.GetTimeSpan("tcp-idle-timeout", IceTcpSettings.Default.IdleTimeout))
            {
                RefusedLogPerMinute = c.GetInt("tcp-refused-log-per-minute", 5),
                SimultaneousOpen = c.GetBoolean("tcp-simultaneous-open", true),
                SimultaneousOpenRetry = c.GetTimeSpan("tcp-simultaneous-open-retry", IceTcpSettings.Default.SimultaneousOpenRetry),
            },
        };
        if (settings.Ta < TimeSpan.FromMilliseconds(5) || settings.MaxPairs < 1 || settings.ConsentInterval <= TimeSpan.Zero)
            throw new ConfigurationException($"'{Section}': ta must be at least 5 ms (RFC 8445 §14.2), consent-interval positive and max-pairs at least 1");
        if (settings.TcpConnections.IdleTimeout <= settings.ConsentInterval * 1.2)
            throw new ConfigurationException($"'{Section}': tcp-idle-timeout must be longer than consent-interval x 1.2, or a selected TCP pair's connection would be closed between its consent checks");
        return settings;
    }
}
