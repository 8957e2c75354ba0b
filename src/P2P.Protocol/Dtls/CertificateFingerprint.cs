using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace P2P.Protocol.Dtls;

/// <summary>
/// A certificate fingerprint as carried by "a=fingerprint:&lt;hash-func&gt; &lt;fingerprint&gt;" (RFC 8122 §5):
/// the hash function's name in lower case ("sha-256") and the hash of the DER-encoded certificate,
/// written as upper-case hex pairs separated by colons. RFC 8827 §6.5 and RFC 5763 §5 make this the
/// only thing that binds a DTLS peer to the signalled description, so equality is checked in
/// constant time (<see cref="Matches(CertificateFingerprint)"/>). Only SHA-256 is produced here;
/// SHA-1 and the SHA-2 family are accepted when parsing (RFC 8122 §5: "sha-1", "sha-224",
/// "sha-256", "sha-384", "sha-512").
/// </summary>
public sealed class CertificateFingerprint
{
    public const string Sha256 = "sha-256";

    private readonly byte[] _hash;

    private CertificateFingerprint(string algorithm, byte[] hash)
    {
        Algorithm = algorithm;
        _hash = hash;
        Hex = FormatHex(hash);
    }

    /// <summary>The hash function's name, lower case ("sha-256").</summary>
    public string Algorithm { get; }

    /// <summary>The hash, upper-case hex pairs with colons ("AB:CD:…").</summary>
    public string Hex { get; }

    /// <summary>The raw hash bytes.</summary>
    public ReadOnlySpan<byte> Hash => _hash;

    /// <summary>The attribute value: "sha-256 AB:CD:…".</summary>
    public override string ToString() => $"{Algorithm} {Hex}";

    /// <summary>The SHA-256 fingerprint of a DER-encoded certificate (RFC 8122 §5; RFC 8827 §6.5 requires SHA-256 support).</summary>
    public static CertificateFingerprint ComputeSha256(ReadOnlySpan<byte> certificateDer) =>
        new(Sha256, SHA256.HashData(certificateDer));

    /// <summary>
    /// The fingerprint of a DER-encoded certificate with the named hash function ("sha-1", "sha-256",
    /// "sha-384", "sha-512"), so a remote that signals another function than SHA-256 can still be
    /// checked (RFC 8122 §5). False for functions .NET does not provide (sha-224) or unknown names.
    /// </summary>
    public static bool TryCompute(string algorithm, ReadOnlySpan<byte> certificateDer, [NotNullWhen(true)] out CertificateFingerprint? fingerprint)
    {
        string name = algorithm.ToLowerInvariant();
        byte[]? hash = name switch
        {
            "sha-1" => SHA1.HashData(certificateDer),
            "sha-256" => SHA256.HashData(certificateDer),
            "sha-384" => SHA384.HashData(certificateDer),
            "sha-512" => SHA512.HashData(certificateDer),
            _ => null,
        };
        fingerprint = hash is null ? null : new CertificateFingerprint(name, hash);
        return fingerprint is not null;
    }

    /// <summary>Wraps a hash already computed with <paramref name="algorithm"/>; the length must fit the algorithm.</summary>
    public static CertificateFingerprint FromHash(string algorithm, ReadOnlySpan<byte> hash)
    {
        string name = algorithm.ToLowerInvariant();
        int? expected = HashLength(name);
        if (expected is null) throw new ArgumentException($"unknown fingerprint hash function '{algorithm}'", nameof(algorithm));
        if (hash.Length != expected) throw new ArgumentException($"a {name} fingerprint has {expected} bytes, not {hash.Length}", nameof(hash));
        return new CertificateFingerprint(name, hash.ToArray());
    }

    /// <summary>"AB:CD:…": upper-case hex pairs separated by colons (RFC 8122 §5, UHEX).</summary>
    public static string FormatHex(ReadOnlySpan<byte> hash)
    {
        if (hash.IsEmpty) return string.Empty;
        return string.Create(hash.Length * 3 - 1, hash.ToArray(), static (chars, bytes) =>
        {
            const string digits = "0123456789ABCDEF";
            for (int i = 0; i < bytes.Length; i++)
            {
                int at = i * 3;
                if (i > 0) chars[at - 1] = ':';
                chars[at] = digits[bytes[i] >> 4];
                chars[at + 1] = digits[bytes[i] & 0xF];
            }
        });
    }

    /// <summary>
    /// Parses the attribute value "&lt;hash-func&gt; &lt;XX:XX:…&gt;" (what follows "a=fingerprint:").
    /// The function name is case-insensitive; hex digits are accepted in either case (RFC 8122 §5 asks
    /// for upper case when sending; being lenient on receipt costs nothing), and the byte count must
    /// match the function. Never throws.
    /// </summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out CertificateFingerprint? fingerprint, out string error)
    {
        fingerprint = null;
        string text = (value ?? string.Empty).Trim();
        int space = text.IndexOfAny([' ', '\t']);
        if (space < 0) { error = "expected '<hash-function> <XX:XX:...>'"; return false; }
        return TryParse(text[..space], text[(space + 1)..].Trim(), out fingerprint, out error);
    }

    /// <summary>Parses the two fields separately (as <c>IceDescription.FingerprintAlgorithm</c> and <c>.Fingerprint</c> hold them).</summary>
    public static bool TryParse(string? algorithm, string? hex, [NotNullWhen(true)] out CertificateFingerprint? fingerprint, out string error)
    {
        fingerprint = null;
        string name = (algorithm ?? string.Empty).Trim().ToLowerInvariant();
        int? length = HashLength(name);
        if (length is null) { error = $"unknown fingerprint hash function '{algorithm}'"; return false; }
        if (!TryParseHex(hex, out var hash)) { error = "fingerprint is not hex pairs separated by colons"; return false; }
        if (hash.Length != length) { error = $"a {name} fingerprint has {length} bytes, this one {hash.Length}"; return false; }
        fingerprint = new CertificateFingerprint(name, hash);
        error = string.Empty;
        return true;
    }

    /// <summary>
    /// Reads a SHA-256 fingerprint as a user types it (<c>--peer-fingerprint</c>): "AB:CD:…" or "abcd…", colons
    /// optional, with or without "sha-256" in front. False unless it is 32 bytes of hex.
    /// </summary>
    public static bool TryParseTyped(string? text, [NotNullWhen(true)] out CertificateFingerprint? fingerprint)
    {
        fingerprint = null;
        if (text is null) return false;
        string digits = text.Trim();
        if (digits.StartsWith(Sha256, StringComparison.OrdinalIgnoreCase)) digits = digits[Sha256.Length..].TrimStart();
        digits = digits.Replace(":", string.Empty, StringComparison.Ordinal);
        if (digits.Length != SHA256.HashSizeInBytes * 2) return false;
        foreach (char c in digits)
            if (!char.IsAsciiHexDigit(c)) return false;
        fingerprint = new CertificateFingerprint(Sha256, Convert.FromHexString(digits));
        return true;
    }

    /// <summary>"AB:CD:…" (either case) to bytes; false for anything else (no separators other than ':', no odd digits).</summary>
    public static bool TryParseHex(string? hex, [NotNullWhen(true)] out byte[]? bytes)
    {
        bytes = null;
        if (string.IsNullOrEmpty(hex) || (hex.Length + 1) % 3 != 0) return false;
        var result = new byte[(hex.Length + 1) / 3];
        for (int i = 0; i < result.Length; i++)
        {
            int at = i * 3;
            if (i > 0 && hex[at - 1] != ':') return false;
            int high = HexValue(hex[at]), low = HexValue(hex[at + 1]);
            if (high < 0 || low < 0) return false;
            result[i] = (byte)((high << 4) | low);
        }
        bytes = result;
        return true;
    }

    /// <summary>Same hash function and the same hash, compared in constant time (no early exit on the first differing byte).</summary>
    public bool Matches(CertificateFingerprint other) =>
        string.Equals(Algorithm, other.Algorithm, StringComparison.Ordinal)
        && CryptographicOperations.FixedTimeEquals(_hash, other._hash);

    /// <summary>Compares two fingerprint hex strings ("AB:CD:…", either case) in constant time over their bytes; false if either is malformed.</summary>
    public static bool HexEquals(string? a, string? b) =>
        TryParseHex(a, out var x) && TryParseHex(b, out var y) && CryptographicOperations.FixedTimeEquals(x, y);

    /// <summary>Hash length in bytes of the RFC 8122 §5 hash function names; null if unknown.</summary>
    public static int? HashLength(string algorithm) => algorithm switch
    {
        "sha-1" => 20,
        "sha-224" => 28,
        "sha-256" => 32,
        "sha-384" => 48,
        "sha-512" => 64,
        _ => null,
    };

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'A' and <= 'F' => c - 'A' + 10,
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => -1,
    };
}
