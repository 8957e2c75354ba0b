using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using P2P.Protocol.Dtls;

namespace P2P.Actors.Transport.Tls;

/// <summary>
/// The certificates a TLS server of ours presents (TURN over TLS, RFC 8656 §3.1): one loaded from PEM files, or one
/// generated at start, self-signed, which clients pin by its SHA-256 fingerprint (<see cref="Sha256Fingerprint"/>).
/// Plain static helpers over System.Security.Cryptography; no crypto of our own.
/// </summary>
public static class TlsCertificates
{
    /// <summary>
    /// The certificate in <paramref name="certificatePem"/> (the leaf first; a chain may follow) with the private key in
    /// <paramref name="keyPem"/> (PKCS#8, RSA or EC, unencrypted). False with one sentence when a file is missing or
    /// unreadable, or the key is not the certificate's.
    /// </summary>
    public static bool TryLoadPem(string certificatePem, string keyPem, out X509Certificate2 certificate, out string? error)
    {
        certificate = null!;
        foreach (var (path, what) in new[] { (certificatePem, "certificate"), (keyPem, "private key") })
        {
            if (!File.Exists(path))
            {
                error = $"the TLS {what} file {path} does not exist";
                return false;
            }
        }
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certificatePem, keyPem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            error = $"cannot load the TLS certificate {certificatePem} with the key {keyPem}: {e.Message}";
            return false;
        }
        if (!certificate.HasPrivateKey)
        {
            error = $"the TLS certificate {certificatePem} has no private key in {keyPem}";
            certificate.Dispose();
            certificate = null!;
            return false;
        }
        error = null;
        return true;
    }

    /// <summary>
    /// A self-signed ECDSA P-256 certificate for a server, valid from an hour ago for <paramref name="validity"/>, with
    /// every name and address of <paramref name="names"/> in its subject alternative names ("localhost" always among them)
    /// and the server-authentication usage. Clients cannot check it against a CA: they pin its fingerprint.
    /// </summary>
    public static X509Certificate2 CreateSelfSigned(IEnumerable<string> names, TimeSpan validity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=p2p relay", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        foreach (var name in names.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (IPAddress.TryParse(name, out var ip))
            {
                if (!ip.Equals(IPAddress.Any) && !ip.Equals(IPAddress.IPv6Any)) san.AddIpAddress(ip);
            }
            else if (!string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                san.AddDnsName(name);
            }
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // id-kp-serverAuth
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddHours(-1), now + validity);
    }

    /// <summary>
    /// The SHA-256 fingerprint of the certificate's DER encoding (RFC 8122 §5 notation); its <c>ToString()</c> is
    /// "sha-256 AB:CD:…", the form the relay prints and a client pins (<see cref="CertificateFingerprint.Matches(CertificateFingerprint)"/>).
    /// </summary>
    public static CertificateFingerprint Sha256Fingerprint(X509Certificate certificate) =>
        CertificateFingerprint.ComputeSha256(certificate.GetRawCertData());
}
