using System.Security.Cryptography;
using P2P.Protocol.Dtls;
using Xunit;

namespace P2P.Protocol.Tests.Dtls;

public class CertificateFingerprintTests
{
    [Fact]
    public void Formats_upper_case_hex_pairs_with_colons()
    {
        Assert.Equal("00:0A:FF:7B", CertificateFingerprint.FormatHex([0x00, 0x0A, 0xFF, 0x7B]));
        Assert.Equal("AB", CertificateFingerprint.FormatHex([0xAB]));
        Assert.Equal(string.Empty, CertificateFingerprint.FormatHex([]));
    }

    [Fact]
    public void Sha256_of_a_certificate_is_the_sha256_of_its_der_bytes()
    {
        byte[] der = RandomNumberGenerator.GetBytes(300);
        var fingerprint = CertificateFingerprint.ComputeSha256(der);
        Assert.Equal("sha-256", fingerprint.Algorithm);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(der)), fingerprint.Hex.Replace(":", ""));
        Assert.Equal(32 * 3 - 1, fingerprint.Hex.Length);
        Assert.Equal($"sha-256 {fingerprint.Hex}", fingerprint.ToString());
    }

    [Fact]
    public void Parses_what_it_formats_and_accepts_lower_case_on_receipt()
    {
        var original = CertificateFingerprint.ComputeSha256(RandomNumberGenerator.GetBytes(64));
        Assert.True(CertificateFingerprint.TryParse(original.ToString(), out var parsed, out _));
        Assert.True(parsed.Matches(original));
        Assert.Equal(original.Hex, parsed.Hex);

        Assert.True(CertificateFingerprint.TryParse("SHA-256  " + original.Hex.ToLowerInvariant(), out var lower, out _));
        Assert.True(lower.Matches(original));
        Assert.Equal(original.Hex, lower.Hex); // always shown upper case
    }

    [Theory]
    [InlineData("", "expected")]
    [InlineData("sha-256", "expected")]
    [InlineData("md5 AB:CD", "unknown fingerprint hash function")]
    [InlineData("sha-256 AB:CD", "has 32 bytes, this one 2")]
    [InlineData("sha-256 ABCD", "not hex pairs")]
    [InlineData("sha-256 AB-CD", "not hex pairs")]
    [InlineData("sha-256 AB:C", "not hex pairs")]
    [InlineData("sha-256 AB:GZ", "not hex pairs")]
    [InlineData("sha-256 AB:CD:", "not hex pairs")]
    public void Rejects_malformed_values_with_a_reason(string value, string reason)
    {
        Assert.False(CertificateFingerprint.TryParse(value, out var fingerprint, out var error));
        Assert.Null(fingerprint);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void Sha1_and_sha512_lengths_are_known()
    {
        Assert.True(CertificateFingerprint.TryParse("sha-1 " + CertificateFingerprint.FormatHex(new byte[20]), out var sha1, out _));
        Assert.Equal("sha-1", sha1.Algorithm);
        Assert.True(CertificateFingerprint.TryParse("sha-512", CertificateFingerprint.FormatHex(new byte[64]), out _, out _));
    }

    [Fact]
    public void Matching_compares_algorithm_and_every_byte()
    {
        byte[] hash = RandomNumberGenerator.GetBytes(32);
        var a = CertificateFingerprint.FromHash("sha-256", hash);
        var same = CertificateFingerprint.FromHash("SHA-256", hash);
        hash[31] ^= 1;
        var lastByteDiffers = CertificateFingerprint.FromHash("sha-256", hash);
        Assert.True(a.Matches(same));
        Assert.False(a.Matches(lastByteDiffers));
        Assert.False(a.Matches(CertificateFingerprint.FromHash("sha-1", new byte[20])));

        Assert.True(CertificateFingerprint.HexEquals(a.Hex, a.Hex.ToLowerInvariant()));
        Assert.False(CertificateFingerprint.HexEquals(a.Hex, lastByteDiffers.Hex));
        Assert.False(CertificateFingerprint.HexEquals(a.Hex, "not hex"));
        Assert.False(CertificateFingerprint.HexEquals(null, a.Hex));
    }

    [Fact]
    public void A_fingerprint_from_an_ice_description_parses()
    {
        var fingerprint = CertificateFingerprint.ComputeSha256([1, 2, 3]);
        string sdp = $"a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuvwx\na=fingerprint:{fingerprint}\na=setup:actpass\n";
        Assert.True(P2P.Protocol.Ice.IceDescription.TryParse(sdp, out var description, out _));
        Assert.True(CertificateFingerprint.TryParse(description.FingerprintAlgorithm, description.Fingerprint, out var parsed, out _));
        Assert.True(parsed.Matches(fingerprint));
    }
}
