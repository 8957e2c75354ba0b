using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace P2P.Actors.Transport.Tls;

/// <summary>
/// How a <see cref="TcpListener"/> speaks TLS on each connection it accepts (TURN over TLS, RFC 8656 §3.1): the server
/// certificate, TLS 1.2 and 1.3 only (RFC 8656 §3.1 asks for TLS 1.2 at least), the ALPN id "stun.turn" (RFC 7443)
/// chosen when a client offers it, and how long a handshake may take. One instance serves every connection of a
/// listener, so the certificate context (and with it .NET's session cache for resumption) is built once.
/// </summary>
public sealed class TlsServerSettings
{
    /// <summary>RFC 7443 §6: the ALPN protocol id of STUN and TURN over (D)TLS, which our client offers and our server chooses.</summary>
    public static readonly SslApplicationProtocol StunTurn = new("stun.turn");

    private readonly SslStreamCertificateContext _context;

    /// <param name="certificate">The server's certificate with its private key.</param>
    /// <param name="handshakeTimeout">A connection whose handshake has not finished by then is closed and counted as failed.</param>
    public TlsServerSettings(X509Certificate2 certificate, TimeSpan handshakeTimeout)
    {
        if (!certificate.HasPrivateKey) throw new ArgumentException("the TLS server certificate has no private key", nameof(certificate));
        if (handshakeTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(handshakeTimeout), "the TLS handshake timeout must be positive");
        Certificate = certificate;
        HandshakeTimeout = handshakeTimeout;
        // offline: a self-signed or private-CA certificate has no chain to fetch; nothing is looked up on the network.
        _context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
    }

    public X509Certificate2 Certificate { get; }

    public TimeSpan HandshakeTimeout { get; }

    /// <summary>Fresh options for one handshake (SslStream may keep a reference to them).</summary>
    public SslServerAuthenticationOptions AuthenticationOptions() => new()
    {
        ServerCertificateContext = _context,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ApplicationProtocols = [StunTurn],
        ClientCertificateRequired = false,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        AllowRenegotiation = false,
    };
}
