using System.Diagnostics.CodeAnalysis;

namespace P2P.Protocol.Dtls;

/// <summary>The "a=setup" values of RFC 4145 §4, as used for DTLS by RFC 5763 §5 and RFC 8842 §5.</summary>
public enum SetupAttribute
{
    /// <summary>"actpass": either role; the offerer's value in an initial offer (RFC 8842 §5.2).</summary>
    ActPass,

    /// <summary>"active": this endpoint starts the handshake, so it is the DTLS client.</summary>
    Active,

    /// <summary>"passive": this endpoint waits for the ClientHello, so it is the DTLS server.</summary>
    Passive,

    /// <summary>"holdconn": no connection for now (RFC 4145 §4); DTLS does not start.</summary>
    HoldConn,
}

/// <summary>Which end of the DTLS handshake this endpoint takes.</summary>
public enum DtlsRole
{
    /// <summary>Sends the ClientHello (the "active" side).</summary>
    Client,

    /// <summary>Answers the ClientHello (the "passive" side).</summary>
    Server,
}

/// <summary>
/// Role negotiation for DTLS over ICE (RFC 5763 §5, RFC 8842 §5): the offerer says "actpass", the
/// answerer picks "active" (RECOMMENDED: the answerer can start the handshake as soon as ICE is up,
/// without waiting for the answer to reach the offerer) or "passive"; the "active" end is the DTLS
/// client.
/// </summary>
public static class DtlsSetup
{
    /// <summary>The attribute text ("actpass", "active", "passive", "holdconn").</summary>
    public static string Format(SetupAttribute setup) => setup switch
    {
        SetupAttribute.ActPass => "actpass",
        SetupAttribute.Active => "active",
        SetupAttribute.Passive => "passive",
        SetupAttribute.HoldConn => "holdconn",
        _ => throw new ArgumentOutOfRangeException(nameof(setup)),
    };

    /// <summary>Parses "actpass" / "active" / "passive" / "holdconn" (case-insensitive, RFC 4145 §4).</summary>
    public static bool TryParse(string? text, out SetupAttribute setup)
    {
        switch ((text ?? string.Empty).Trim().ToLowerInvariant())
        {
            case "actpass": setup = SetupAttribute.ActPass; return true;
            case "active": setup = SetupAttribute.Active; return true;
            case "passive": setup = SetupAttribute.Passive; return true;
            case "holdconn": setup = SetupAttribute.HoldConn; return true;
            default: setup = default; return false;
        }
    }

    /// <summary>
    /// What the answerer puts in its answer for the offer's value (RFC 5763 §5, RFC 8842 §5.3):
    /// actpass → active (the RECOMMENDED choice), active → passive, passive → active;
    /// holdconn has no answer here.
    /// </summary>
    public static bool TryAnswer(SetupAttribute offered, out SetupAttribute answer)
    {
        answer = offered switch
        {
            SetupAttribute.ActPass => SetupAttribute.Active,
            SetupAttribute.Active => SetupAttribute.Passive,
            SetupAttribute.Passive => SetupAttribute.Active,
            _ => SetupAttribute.HoldConn,
        };
        return answer != SetupAttribute.HoldConn;
    }

    /// <summary>
    /// This endpoint's DTLS role from both descriptions' "a=setup" values. <paramref name="isOfferer"/>
    /// says which side made the offer: the answer must be "active" or "passive" (RFC 5763 §5: the
    /// answerer MUST NOT answer actpass), and the two values must be complementary. Never throws.
    /// </summary>
    public static bool TryResolveRole(SetupAttribute localSetup, SetupAttribute remoteSetup, bool isOfferer,
        out DtlsRole role, [NotNullWhen(false)] out string? error)
    {
        role = default;
        error = null;
        var answer = isOfferer ? remoteSetup : localSetup;
        var offer = isOfferer ? localSetup : remoteSetup;
        if (localSetup == SetupAttribute.HoldConn || remoteSetup == SetupAttribute.HoldConn)
            error = "a=setup:holdconn: no DTLS connection is wanted (RFC 4145 §4)";
        else if (answer == SetupAttribute.ActPass)
            error = "the answer says a=setup:actpass; an answerer must pick active or passive (RFC 5763 §5)";
        else if (offer != SetupAttribute.ActPass && offer == answer)
            error = $"both sides say a=setup:{Format(offer)}; one must be active and the other passive (RFC 4145 §4)";
        if (error is not null) return false;

        // The answer decides: an "active" answerer is the client, a "passive" one the server.
        bool answererIsClient = answer == SetupAttribute.Active;
        role = answererIsClient == !isOfferer ? DtlsRole.Client : DtlsRole.Server;
        return true;
    }

    /// <summary>As <see cref="TryResolveRole"/>, throwing <see cref="ArgumentException"/> with the reason when the values do not fit.</summary>
    public static DtlsRole ResolveRole(SetupAttribute localSetup, SetupAttribute remoteSetup, bool isOfferer) =>
        TryResolveRole(localSetup, remoteSetup, isOfferer, out var role, out var error)
            ? role
            : throw new ArgumentException(error);
}
