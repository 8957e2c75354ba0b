using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using P2P.Actors.Dtls;
using P2P.Actors.Tests.Turn;
using P2P.Protocol.Dtls;
using Xunit;

namespace P2P.Actors.Tests.Dtls;

public class DtlsCertificateTests
{
    [Fact]
    public void A_generated_certificate_is_self_signed_ecdsa_p256_for_30_days_with_its_sha256_fingerprint()
    {
        var now = DateTimeOffset.UtcNow;
        var certificate = DtlsCertificate.Generate(now);

        Assert.Equal("CN=p2p", certificate.Certificate.SubjectDN.ToString());
        Assert.Equal(certificate.Certificate.SubjectDN.ToString(), certificate.Certificate.IssuerDN.ToString());
        certificate.Certificate.Verify(certificate.Certificate.GetPublicKey()); // throws if the self-signature is bad
        Assert.Equal("1.2.840.10045.4.3.2", certificate.Certificate.SigAlgOid); // ecdsa-with-SHA256
        var key = Assert.IsType<ECPublicKeyParameters>(certificate.Certificate.GetPublicKey());
        Assert.Equal(256, key.Parameters.Curve.FieldSize);
        Assert.InRange(certificate.NotAfter - now.UtcDateTime, DtlsCertificate.Validity - TimeSpan.FromSeconds(2), DtlsCertificate.Validity);
        Assert.True(certificate.NotBefore <= now.UtcDateTime);
        Assert.True(certificate.Certificate.SerialNumber.SignValue > 0);

        // The fingerprint is SHA-256 over the DER, computed independently with .NET.
        Assert.Equal("sha-256", certificate.Fingerprint.Algorithm);
        Assert.Equal(CertificateFingerprint.FormatHex(SHA256.HashData(certificate.Der.Span)), certificate.Fingerprint.Hex);
        using var dotnet = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(certificate.Der.Span);
        Assert.Equal(Convert.ToHexString(dotnet.GetCertHash(HashAlgorithmName.SHA256)), certificate.Fingerprint.Hex.Replace(":", ""));
    }

    [Fact]
    public void Two_certificates_have_different_keys_serials_and_fingerprints()
    {
        var a = DtlsCertificate.Generate();
        var b = DtlsCertificate.Generate();
        Assert.NotEqual(a.Certificate.SerialNumber, b.Certificate.SerialNumber);
        Assert.False(a.Fingerprint.Matches(b.Fingerprint));
    }

    [Fact]
    public void Settings_from_the_repository_hocon_are_the_defaults()
    {
        Assert.Equal(DtlsSettings.Default, DtlsSettings.From(TurnClientSettingsTests.RepoHocon()));
    }
}
