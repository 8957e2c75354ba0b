using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using P2P.Actors.Transport.Tls;
using Xunit;

namespace P2P.Actors.Tests.Relay;

/// <summary>The relay's self-signed certificate and the fingerprint notation clients pin (RFC 8122 §5).</summary>
public sealed class RelayTlsCertificateTests
{
    [Fact]
    public void The_self_signed_certificate_is_ecdsa_p256_for_the_listening_addresses_and_localhost()
    {
        using var certificate = TlsCertificates.CreateSelfSigned(["192.0.2.7", "0.0.0.0", "relay.example"], TimeSpan.FromDays(2));
        Assert.True(certificate.HasPrivateKey);
        using var key = certificate.GetECDsaPublicKey();
        Assert.NotNull(key);
        Assert.Equal(256, key.KeySize);
        Assert.Equal(ECCurve.NamedCurves.nistP256.Oid.Value, key.ExportParameters(false).Curve.Oid.Value);
        var san = Assert.Single(certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Equal(["localhost", "relay.example"], san.EnumerateDnsNames().Order());
        Assert.Equal([IPAddress.Parse("192.0.2.7")], san.EnumerateIPAddresses()); // a wildcard is no name
        Assert.InRange(certificate.NotAfter.ToUniversalTime() - DateTime.UtcNow, TimeSpan.FromDays(1.9), TimeSpan.FromDays(2));
    }

    [Fact]
    public void The_fingerprint_is_sha256_of_the_der_in_upper_case_hex_pairs()
    {
        using var certificate = TlsCertificates.CreateSelfSigned([], TimeSpan.FromDays(1));
        string text = TlsCertificates.Sha256Fingerprint(certificate).ToString();
        Assert.Matches(new Regex("^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$"), text);
        Assert.Equal("sha-256 " + string.Join(':', SHA256.HashData(certificate.RawData).Select(b => b.ToString("X2"))), text);
    }
}
