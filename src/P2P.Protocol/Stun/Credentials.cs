using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace P2P.Protocol.Stun;

/// <summary>Password algorithms for long-term credentials (RFC 8489 §18.5).</summary>
public enum PasswordAlgorithm : ushort
{
    Md5 = 0x0001,
    Sha256 = 0x0002,
}

/// <summary>How a password is prepared before hashing: RFC 8489 uses OpaqueString (RFC 8265), RFC 5389 used SASLprep (RFC 4013).</summary>
public enum PasswordPreparation
{
    OpaqueString,
    SaslPrep,
}

/// <summary>Key derivation for STUN credentials (RFC 8489 §9.1.1, §9.2.2) and USERHASH (§14.4).</summary>
public static class StunCredentials
{
    /// <summary>Short-term key: the OpaqueString-prepared password as UTF-8 (RFC 8489 §9.1.1).</summary>
    public static bool TryDeriveShortTermKey(string password, out byte[] key, out string? error)
    {
        key = [];
        if (!StringPrep.TryOpaqueString(password, out var prepared, out error)) return false;
        key = Encoding.UTF8.GetBytes(prepared);
        return true;
    }

    /// <summary>
    /// Long-term key: MD5 or SHA-256 of username ":" realm ":" password, realm and password prepared
    /// (RFC 8489 §9.2.2). The username is used as given (it must already be OpaqueString-processed).
    /// </summary>
    public static bool TryDeriveLongTermKey(
        PasswordAlgorithm algorithm, string username, string realm, string password, out byte[] key, out string? error,
        PasswordPreparation preparation = PasswordPreparation.OpaqueString)
    {
        key = [];
        if (!Prepare(password, preparation, out var preparedPassword, out error) || !Prepare(realm, preparation, out var preparedRealm, out error))
            return false;
        byte[] input = Encoding.UTF8.GetBytes($"{username}:{preparedRealm}:{preparedPassword}");
        switch (algorithm)
        {
            case PasswordAlgorithm.Md5: key = MD5.HashData(input); return true;
            case PasswordAlgorithm.Sha256: key = SHA256.HashData(input); return true;
            default: error = $"unsupported password algorithm {(ushort)algorithm}"; return false;
        }
    }

    private static bool Prepare(string s, PasswordPreparation preparation, out string prepared, out string? error) =>
        preparation == PasswordPreparation.SaslPrep ? StringPrep.TrySaslPrep(s, out prepared, out error) : StringPrep.TryOpaqueString(s, out prepared, out error);

    /// <summary>USERHASH = SHA-256(OpaqueString(username) ":" OpaqueString(realm)) (RFC 8489 §14.4).</summary>
    public static bool TryComputeUserHash(string username, string realm, out byte[] hash, out string? error)
    {
        hash = [];
        if (!StringPrep.TryOpaqueString(username, out var u, out error) || !StringPrep.TryOpaqueString(realm, out var r, out error)) return false;
        hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{u}:{r}"));
        return true;
    }
}

/// <summary>
/// The two string preparations STUN uses. OpaqueString (RFC 8265 §4.2): non-ASCII spaces become
/// U+0020, NFC, no control or unassigned characters, not empty. SASLprep (RFC 4013): characters
/// "commonly mapped to nothing" removed, non-ASCII spaces become U+0020, NFKC, prohibited ones refused.
/// </summary>
public static class StringPrep
{
    public static bool TryOpaqueString(string input, out string prepared, out string? error)
    {
        prepared = string.Empty;
        var sb = new StringBuilder(input.Length);
        foreach (var rune in input.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category == UnicodeCategory.SpaceSeparator) { sb.Append(' '); continue; }
            if (category is UnicodeCategory.Control or UnicodeCategory.OtherNotAssigned or UnicodeCategory.Surrogate
                || IsNonCharacter(rune.Value))
            {
                error = $"character U+{rune.Value:X4} is not allowed in an OpaqueString";
                return false;
            }
            sb.Append(rune.ToString());
        }
        if (sb.Length == 0) { error = "empty string"; return false; }
        if (!TryNormalize(sb.ToString(), NormalizationForm.FormC, out prepared, out error)) return false;
        error = null;
        return true;
    }

    public static bool TrySaslPrep(string input, out string prepared, out string? error)
    {
        prepared = string.Empty;
        var sb = new StringBuilder(input.Length);
        foreach (var rune in input.EnumerateRunes())
        {
            if (IsMappedToNothing(rune.Value)) continue;
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator) { sb.Append(' '); continue; }
            sb.Append(rune.ToString());
        }
        if (!TryNormalize(sb.ToString(), NormalizationForm.FormKC, out var normalized, out error)) return false;
        foreach (var rune in normalized.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.Control or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate
                || IsNonCharacter(rune.Value) || rune.Value is >= 0xFFF9 and <= 0xFFFD || rune.Value is >= 0x2FF0 and <= 0x2FFB
                || rune.Value is 0x0340 or 0x0341 or 0x200E or 0x200F || rune.Value is >= 0x202A and <= 0x202E || rune.Value is >= 0x206A and <= 0x206F)
            {
                error = $"character U+{rune.Value:X4} is prohibited by SASLprep";
                return false;
            }
        }
        prepared = normalized;
        error = null;
        return true;
    }

    private static bool TryNormalize(string s, NormalizationForm form, out string normalized, out string? error)
    {
        try
        {
            normalized = s.Normalize(form);
            error = null;
            return true;
        }
        catch (ArgumentException e)
        {
            normalized = string.Empty;
            error = $"string cannot be normalized: {e.Message}";
            return false;
        }
    }

    // RFC 3454 table B.1
    private static bool IsMappedToNothing(int c) =>
        c is 0x00AD or 0x034F or 0x1806 or 0x180B or 0x180C or 0x180D or 0x200B or 0x200C or 0x200D or 0x2060 or 0xFEFF
        || c is >= 0xFE00 and <= 0xFE0F;

    private static bool IsNonCharacter(int c) => (c & 0xFFFE) == 0xFFFE || c is >= 0xFDD0 and <= 0xFDEF;
}

/// <summary>Security features announced in a nonce cookie (RFC 8489 §9.2, §18.1).</summary>
[Flags]
public enum SecurityFeatures : uint
{
    None = 0,
    /// <summary>Bit 0: password algorithms (PASSWORD-ALGORITHMS / PASSWORD-ALGORITHM negotiation).</summary>
    PasswordAlgorithms = 1 << 23,
    /// <summary>Bit 1: username anonymity (USERHASH).</summary>
    UsernameAnonymity = 1 << 22,
}

/// <summary>
/// The nonce cookie of RFC 8489 §9.2: a nonce starting with "obMatJos2" then four base64 characters
/// carrying 24 bits of security feature flags (bit 0 is the most significant).
/// </summary>
public static class NonceCookie
{
    public const string Prefix = "obMatJos2";
    public const int Length = 13;

    public static string Create(SecurityFeatures features, string opaque)
    {
        Span<byte> bits = [(byte)((uint)features >> 16), (byte)((uint)features >> 8), (byte)(uint)features];
        return Prefix + Convert.ToBase64String(bits) + opaque;
    }

    /// <summary>True when the nonce carries a cookie; <paramref name="features"/> are its flags.</summary>
    public static bool TryParse(string nonce, out SecurityFeatures features)
    {
        features = SecurityFeatures.None;
        if (nonce.Length < Length || !nonce.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        Span<byte> bits = stackalloc byte[3];
        if (!Convert.TryFromBase64String(nonce.Substring(Prefix.Length, 4), bits, out int written) || written != 3) return false;
        features = (SecurityFeatures)(((uint)bits[0] << 16) | ((uint)bits[1] << 8) | bits[2]);
        return true;
    }
}
