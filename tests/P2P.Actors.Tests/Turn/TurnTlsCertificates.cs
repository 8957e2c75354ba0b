using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// Certificates for TURN-over-TLS tests, made in the test (ECDSA P-256) and written as PEM files into a private temporary
/// folder deleted on dispose: a self-signed server certificate, and a CA with a server certificate it signed. Both server
/// certificates are for 127.0.0.1 (IP address SAN) and the name <see cref="DnsName"/>.
/// </summary>
public sealed class TurnTlsCertificates : IDisposable
{
    public const string DnsName = "turn.test";

    private TurnTlsCertificates(string folder) => Folder = folder;

    public string Folder { get; }

    /// <summary>A server certificate and its key, as PEM files, and the certificate itself.</summary>
    public sealed record Issued(string CertificateFile, string KeyFile, X509Certificate2 Certificate);

    public Issued SelfSigned { get; private init; } = null!;

    /// <summary>Signed by <see cref="AuthorityFile"/>'s CA.</summary>
    public Issued CaSigned { get; private init; } = null!;

    /// <summary>The CA's certificate, PEM.</summary>
    public string AuthorityFile { get; private init; } = null!;

    /// <summary>Another CA's certificate, PEM: trusting it trusts neither server certificate.</summary>
    public string OtherAuthorityFile { get; private init; } = null!;

    public static TurnTlsCertificates Create()
    {
        string folder = Directory.CreateTempSubdirectory("p2p-turn-tls-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = Authority("CN=p2p test CA", caKey);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = Authority("CN=another test CA", otherKey);
        string authorityFile = Path.Combine(folder, "ca.pem");
        File.WriteAllText(authorityFile, ca.ExportCertificatePem());
        string otherFile = Path.Combine(folder, "other-ca.pem");
        File.WriteAllText(otherFile, other.ExportCertificatePem());
        return new TurnTlsCertificates(folder)
        {
            AuthorityFile = authorityFile,
            OtherAuthorityFile = otherFile,
            SelfSigned = Server(folder, "self-signed", issuer: null),
            CaSigned = Server(folder, "ca-signed", ca),
        };
    }

    private static X509Certificate2 Authority(string subject, ECDsa key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static Issued Server(string folder, string name, X509Certificate2? issuer)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={DnsName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName(DnsName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // serverAuth
        X509Certificate2 certificate;
        if (issuer is null) certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        else
        {
            var serial = RandomNumberGenerator.GetBytes(12);
            serial[0] &= 0x7F;
            using var signed = request.Create(issuer, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
            certificate = signed.CopyWithPrivateKey(key);
        }
        string certificateFile = Path.Combine(folder, $"{name}.pem");
        string keyFile = Path.Combine(folder, $"{name}.key");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return new Issued(certificateFile, keyFile, certificate);
    }

    public void Dispose()
    {
        SelfSigned.Certificate.Dispose();
        CaSigned.Certificate.Dispose();
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
