using Akka.Configuration;

namespace P2P.Host.Direct;

/// <summary>Settings of <c>p2p --no-ice</c>, read once from <c>p2p.no-ice</c> in <c>akka.hocon</c> (and --config over it).</summary>
/// <param name="ConnectTimeout">How long the client waits for the server to answer its TCP connection (the kernel's own wait is minutes).</param>
/// <param name="TlsHandshakeTimeout">With --secure: how long the TLS handshake may take once TCP is up (a peer that is not --secure never answers it).</param>
public sealed record DirectSettings(TimeSpan ConnectTimeout, TimeSpan TlsHandshakeTimeout)
{
    public const string Section = "p2p.no-ice";

    /// <summary>The values of <c>akka.hocon</c>.</summary>
    public static readonly DirectSettings Default = new(ConnectTimeout: TimeSpan.FromSeconds(30), TlsHandshakeTimeout: TimeSpan.FromSeconds(15));

    /// <summary>The <c>p2p.no-ice</c> section of <paramref name="config"/>, a missing key taking its <see cref="Default"/>.</summary>
    public static DirectSettings From(Config config)
    {
        var c = config.GetConfig(Section);
        if (c is null || c.IsEmpty) return Default;
        var settings = new DirectSettings(
            ConnectTimeout: c.GetTimeSpan("connect-timeout", Default.ConnectTimeout, allowInfinite: false),
            TlsHandshakeTimeout: c.GetTimeSpan("tls-handshake-timeout", Default.TlsHandshakeTimeout, allowInfinite: false));
        if (settings.ConnectTimeout <= TimeSpan.Zero) throw new ConfigurationException($"'{Section}.connect-timeout' must be positive, not {settings.ConnectTimeout}");
        if (settings.TlsHandshakeTimeout <= TimeSpan.Zero)
            throw new ConfigurationException($"'{Section}.tls-handshake-timeout' must be positive, not {settings.TlsHandshakeTimeout}");
        return settings;
    }
}
