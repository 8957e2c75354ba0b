using System.Security.Cryptography;

namespace P2P.Protocol.Ice;

/// <summary>
/// The username fragment and password an agent announces (RFC 8445 §5.3, SDP grammar RFC 8839 §5.4).
/// Both are ice-chars; the ufrag is 4..256 characters, the password 22..256. Checks sent to this
/// agent carry USERNAME "ufrag-of-this-agent:ufrag-of-sender" and are signed with this password.
/// </summary>
public sealed record IceCredentials(string Ufrag, string Pwd)
{
    public const int MinUfragLength = 4;
    public const int MinPwdLength = 22;
    public const int MaxLength = 256;

    /// <summary>Length of a generated ufrag: 8 ice-chars, 48 random bits (the RFC asks at least 24).</summary>
    public const int GeneratedUfragLength = 8;

    /// <summary>Length of a generated password: 24 ice-chars, 144 random bits (the RFC asks at least 128).</summary>
    public const int GeneratedPwdLength = 24;

    private const string IceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// <summary>Fresh random credentials from <see cref="RandomNumberGenerator"/> (RFC 8445 §5.3: new ones for every session and ICE restart).</summary>
    public static IceCredentials Generate() =>
        new(RandomNumberGenerator.GetString(IceChars, GeneratedUfragLength), RandomNumberGenerator.GetString(IceChars, GeneratedPwdLength));

    /// <summary>Checks both values against RFC 8839 §5.4 (characters and lengths).</summary>
    public static bool TryCreate(string ufrag, string pwd, out IceCredentials credentials, out string error)
    {
        credentials = null!;
        if (!IsValidUfrag(ufrag)) { error = $"bad ice-ufrag '{ufrag}' (4 to 256 of A-Z a-z 0-9 + /)"; return false; }
        if (!IsValidPwd(pwd)) { error = $"bad ice-pwd '{pwd}' (22 to 256 of A-Z a-z 0-9 + /)"; return false; }
        credentials = new IceCredentials(ufrag, pwd);
        error = string.Empty;
        return true;
    }

    public static bool IsValidUfrag(string? ufrag) => ufrag is not null && IceGrammar.IsIceChars(ufrag, MinUfragLength, MaxLength);

    public static bool IsValidPwd(string? pwd) => pwd is not null && IceGrammar.IsIceChars(pwd, MinPwdLength, MaxLength);

    /// <summary>The USERNAME of a check this agent sends to a peer (RFC 8445 §7.2.2): "remoteUfrag:localUfrag".</summary>
    public string UsernameForCheckTo(IceCredentials remote) => remote.Ufrag + ":" + Ufrag;

    /// <summary>Keeps the password out of logs.</summary>
    public override string ToString() => $"ufrag {Ufrag}, pwd ({Pwd.Length} chars)";
}
