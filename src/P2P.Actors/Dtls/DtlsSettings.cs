using Akka.Configuration;

namespace P2P.Actors.Dtls;

/// <summary>Settings of <see cref="DtlsTransport"/>, read once from <c>p2p.dtls</c> in <c>akka.hocon</c>.</summary>
/// <param name="HandshakeTimeout">Give up a handshake that has not completed by then.</param>
/// <param name="InitialRetransmit">First retransmission timer of a handshake flight, doubled on each loss (RFC 6347 §4.2.4.1: 1 s).</param>
/// <param name="SendLimit">Largest datagram written (RFC 8831 §5 / RFC 8261 §5: stay under the path MTU; 1200 fits IPv6 minimum MTU with room for TURN).</param>
/// <param name="ReceiveLimit">Largest datagram read; longer ones are cut and then discarded by the record layer.</param>
/// <param name="ReceiveQueue">Datagrams buffered between the actor and the DTLS worker; beyond it they are dropped (UDP semantics) and counted.</param>
public sealed record DtlsSettings(TimeSpan HandshakeTimeout, TimeSpan InitialRetransmit, int SendLimit, int ReceiveLimit, int ReceiveQueue)
{
    public const string Section = "p2p.dtls";

    /// <summary>
    /// Largest datagram of application data once the handshake is done (<see cref="SendLimit"/> until then): a full
    /// record (RFC 6347 §4.1, 2^14 bytes of plaintext plus its overhead). SCTP sends more than its base packet size only
    /// after probing the path for it (RFC 8899).
    /// </summary>
    public int ApplicationSendLimit { get; init; } = 16421;

    /// <summary>The first peer of the process runs one throw-away handshake in memory in the background (<see cref="DtlsWarmUp"/>).</summary>
    public bool WarmUp { get; init; } = true;

    /// <summary>The values of <c>akka.hocon</c>, for code without a config at hand.</summary>
    public static readonly DtlsSettings Default = new(
        HandshakeTimeout: TimeSpan.FromSeconds(30),
        InitialRetransmit: TimeSpan.FromSeconds(1),
        SendLimit: 1200,
        ReceiveLimit: 16421,
        ReceiveQueue: 4096);

    /// <summary>The <c>p2p.dtls</c> section of <paramref name="config"/> when it has one (an actor system built from <c>akka.hocon</c>), else <see cref="Default"/>.</summary>
    public static DtlsSettings OrDefault(Config config) => config.HasPath(Section) ? From(config) : Default;

    public static DtlsSettings From(Config config)
    {
        var c = config.GetConfig(Section);
        if (c is null || c.IsEmpty) throw new ConfigurationException($"configuration section '{Section}' is missing (see akka.hocon)");
        var settings = new DtlsSettings(
            HandshakeTimeout: c.GetTimeSpan("handshake-timeout"),
            InitialRetransmit: c.GetTimeSpan("initial-retransmit"),
            SendLimit: c.GetInt("send-limit"),
            ReceiveLimit: c.GetInt("receive-limit"),
            ReceiveQueue: c.GetInt("receive-queue"))
        {
            // a section written before this key existed (a --config file) keeps working with the default
            ApplicationSendLimit = c.HasPath("application-send-limit") ? c.GetInt("application-send-limit") : Default.ApplicationSendLimit,
            WarmUp = c.HasPath("warm-up") ? c.GetBoolean("warm-up") : Default.WarmUp,
        };
        if (settings.HandshakeTimeout <= TimeSpan.Zero || settings.InitialRetransmit <= TimeSpan.Zero
            || settings.SendLimit < 256 || settings.ReceiveLimit < settings.SendLimit || settings.ReceiveQueue < 1
            || settings.ApplicationSendLimit < settings.SendLimit)
            throw new ConfigurationException($"'{Section}': timeouts must be positive, send-limit at least 256, receive-limit and application-send-limit at least send-limit, receive-queue at least 1");
        return settings;
    }
}
