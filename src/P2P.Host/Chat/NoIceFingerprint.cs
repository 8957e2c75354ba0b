using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace P2P.Host.Chat;

/// <summary>
/// A certificate's SHA-256 fingerprint, shown as WebRTC's <c>a=fingerprint</c> shows it (RFC 8122 section 5:
/// upper-case hex bytes joined by colons), and read back from <c>--peer-fingerprint</c> in any case, colons optional.
/// </summary>
public readonly record struct NoIceFingerprint
{
    private readonly byte[] _hash;

    private NoIceFingerprint(byte[] hash) => _hash = hash;

    public static NoIceFingerprint Of(X509Certificate certificate) => new(SHA256.HashData(certificate.GetRawCertData()));

    /// <summary>
    /// Reads "AB:CD:...", "abcd...", with an optional "sha-256" in front; false unless it is 32 bytes of hex.
    /// </summary>
    public static bool TryParse(string? text, out NoIceFingerprint fingerprint)
    {
        fingerprint = default;
        if (text is null) return false;
        var digits = text.Trim();
        if (digits.StartsWith("sha-256", StringComparison.OrdinalIgnoreCase)) digits = digits["sha-256".Length..].TrimStart();
        digits = digits.Replace(":", string.Empty, StringComparison.Ordinal);
        if (digits.Length != SHA256.HashSizeInBytes * 2) return false;
        foreach (char c in digits)
            if (!char.IsAsciiHexDigit(c)) return false;
        fingerprint = new NoIceFingerprint(Convert.FromHexString(digits));
        return true;
    }

    public bool Equals(NoIceFingerprint other) => _hash.AsSpan().SequenceEqual(other._hash);

    public override int GetHashCode() => _hash is null ? 0 : BitConverter.ToInt32(_hash, 0);

    /// <summary>"AB:CD:..." (32 bytes).</summary>
    public override string ToString() =>
        _hash is null ? string.Empty : string.Join(':', _hash.Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));
}
