using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using P2P.Protocol.Dtls;

namespace P2P.Actors.Transport.Tls;

/// <summary>
/// How the client end of a TLS connection to a STUN/TURN server (RFC 8656 §3.1, RFC 8489 §6.2.3) checks the server:
/// TLS 1.2 or 1.3, SNI and the name check on <see cref="ServerName"/>, ALPN "stun.turn" (RFC 7443). The certificate
/// is trusted through the system trust store, or through <see cref="TrustedAuthorities"/> instead when given (a
/// self-hosted server's own CA), or pinned by <see cref="PinnedFingerprint"/> (its SHA-256 fingerprint: accepted
/// whatever signed it and whatever name it is for, self-signed included).
/// </summary>
/// <param name="ServerName">The host name the user gave (sent as SNI, and the name the certificate must be for); an IP
/// literal is checked against the certificate's IP addresses and sends no SNI.</param>
public sealed record TlsClientOptions(string ServerName)
{
    /// <summary>CAs trusted for this server in place of the system store (X509ChainPolicy.CustomTrustStore); empty: the system store.</summary>
    public IReadOnlyList<X509Certificate2> TrustedAuthorities { get; init; } = [];

    /// <summary>The server certificate's fingerprint; when set, the certificate must have it, and nothing else is checked.</summary>
    public CertificateFingerprint? PinnedFingerprint { get; init; }

    /// <summary>What the user can do about a certificate that is not trusted, appended to that failure ("pass --turn-ca or --turn-fingerprint").</summary>
    public string UntrustedAdvice { get; init; } = "trust its CA or pin its certificate's SHA-256 fingerprint";

    /// <summary>The options of one handshake; <paramref name="verdict"/> keeps why the certificate was refused, for the failure sentence.</summary>
    public SslClientAuthenticationOptions ToSslOptions(CertificateVerdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = ServerName,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ApplicationProtocols = [TlsServerSettings.StunTurn],
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck, // no network but the server's: no OCSP/CRL fetches
            RemoteCertificateValidationCallback = (_, certificate, _, errors) => verdict.Decide(Check(certificate, errors)),
        };
        if (TrustedAuthorities.Count > 0 && PinnedFingerprint is null)
        {
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            foreach (var authority in TrustedAuthorities) policy.CustomTrustStore.Add(authority);
            options.CertificateChainPolicy = policy;
        }
        return options;
    }

    /// <summary>
    /// Null when the server's certificate is accepted, else why not, as the end of "TLS handshake with … failed: ".
    /// <paramref name="errors"/> are the platform's findings (chain built against the system store or
    /// <see cref="TrustedAuthorities"/>, name check on <see cref="ServerName"/>).
    /// </summary>
    public string? Check(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null) return "the server sent no certificate";
        if (PinnedFingerprint is { } pinned)
        {
            var actual = CertificateFingerprint.ComputeSha256(certificate.GetRawCertData());
            return actual.Matches(pinned) ? null : $"certificate fingerprint {actual} is not the pinned {pinned}";
        }
        if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0) return $"certificate not trusted; {UntrustedAdvice}";
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            return $"certificate is not for '{ServerName}' ({certificate.Subject}); give the name it is for, or pin its fingerprint";
        return errors == SslPolicyErrors.None ? null : $"certificate refused ({errors})";
    }

    /// <summary>
    /// Reads the PEM CA certificates of <paramref name="path"/> (one or more "BEGIN CERTIFICATE" blocks); false with a
    /// sentence when the file cannot be read or holds none.
    /// </summary>
    public static bool TryLoadAuthorities(string path, out IReadOnlyList<X509Certificate2> authorities, out string error)
    {
        authorities = [];
        try
        {
            var collection = new X509Certificate2Collection();
            collection.ImportFromPemFile(path);
            if (collection.Count == 0)
            {
                error = $"'{path}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
                return false;
            }
            authorities = [.. collection];
            error = string.Empty;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            error = $"cannot read the CA certificate '{path}': {e.Message.TrimEnd('.')}";
            return false;
        }
    }
}

/// <summary>What the certificate check of one handshake decided, kept for the failure sentence (the exception the handshake
/// then throws only says that the callback refused).</summary>
public sealed class CertificateVerdict
{
    private volatile string? _refusal;

    /// <summary>Why the certificate was refused; null when it was accepted or not checked yet.</summary>
    public string? Refusal => _refusal;

    internal bool Decide(string? refusal)
    {
        _refusal = refusal;
        return refusal is null;
    }
}
