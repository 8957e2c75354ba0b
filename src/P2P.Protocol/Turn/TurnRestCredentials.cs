using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace P2P.Protocol.Turn;

/// <summary>What <see cref="TurnRestCredentials.Check"/> found in a username.</summary>
public enum TurnRestCheck
{
    /// <summary>A REST username that has not expired: its password is given.</summary>
    Valid,
    /// <summary>Not of the form "expiry" or "expiry:user" (no whole number of seconds before the first ':'): not a REST username.</summary>
    NotRestUsername,
    /// <summary>A REST username whose expiry time has passed.</summary>
    Expired,
}

/// <summary>
/// Time-limited TURN credentials of the "TURN REST API" (draft-uberti-behave-turn-rest-00 §2.2), the scheme of coturn's
/// <c>--use-auth-secret --static-auth-secret</c>: the username is "expiry:user" (expiry a Unix time in seconds, when
/// the credentials stop being valid; a plain "expiry" is accepted too) and the password is
/// base64(HMAC-SHA1(secret, username)). Whoever holds the shared secret (a signaling server) mints them; every relay
/// with the same secret checks them without a user list. The result is an ordinary long-term credential
/// (RFC 8489 §9.2): the key is MD5(username ":" realm ":" password). No clocks here: the caller passes the time.
/// </summary>
public static class TurnRestCredentials
{
    /// <summary>The separator between expiry and user (coturn's default <c>--rest-api-separator</c>).</summary>
    public const char Separator = ':';

    /// <summary>The username that expires at <paramref name="expiresAt"/> (Unix seconds) for <paramref name="user"/> ("expiry" alone when it is empty).</summary>
    public static string Username(long expiresAt, string user) =>
        user.Length == 0
            ? expiresAt.ToString(CultureInfo.InvariantCulture)
            : string.Concat(expiresAt.ToString(CultureInfo.InvariantCulture), Separator.ToString(), user);

    /// <summary>base64(HMAC-SHA1(<paramref name="secret"/>, UTF-8 of <paramref name="username"/>)).</summary>
    public static string Password(ReadOnlySpan<byte> secret, string username)
    {
        Span<byte> mac = stackalloc byte[HMACSHA1.HashSizeInBytes];
        HMACSHA1.HashData(secret, Encoding.UTF8.GetBytes(username), mac);
        return Convert.ToBase64String(mac);
    }

    /// <summary>A username and its password, valid until <paramref name="expiresAt"/> (Unix seconds).</summary>
    public static (string Username, string Password) Mint(ReadOnlySpan<byte> secret, string user, long expiresAt)
    {
        var username = Username(expiresAt, user);
        return (username, Password(secret, username));
    }

    /// <summary>
    /// Reads the expiry of a REST username: the whole number before the first ':' (or the whole username), and the
    /// user after it (empty when there is none). False when the username does not start that way.
    /// </summary>
    public static bool TryParse(string username, out long expiresAt, out string user)
    {
        int separator = username.IndexOf(Separator);
        var digits = separator < 0 ? username.AsSpan() : username.AsSpan(0, separator);
        user = separator < 0 ? string.Empty : username[(separator + 1)..];
        expiresAt = 0;
        if (digits.Length is 0 or > 19) return false;
        foreach (char c in digits) if (!char.IsAsciiDigit(c)) return false;
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out expiresAt);
    }

    /// <summary>
    /// Checks <paramref name="username"/> at <paramref name="now"/> (Unix seconds): <see cref="TurnRestCheck.Valid"/> with its
    /// password under <paramref name="secret"/>, or why not. A username is valid up to and including its expiry second.
    /// </summary>
    public static TurnRestCheck Check(ReadOnlySpan<byte> secret, string username, long now, out string password)
    {
        password = string.Empty;
        if (!TryParse(username, out long expiresAt, out _)) return TurnRestCheck.NotRestUsername;
        if (expiresAt < now) return TurnRestCheck.Expired;
        password = Password(secret, username);
        return TurnRestCheck.Valid;
    }
}
