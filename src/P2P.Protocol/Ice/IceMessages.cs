using System.Net;
using System.Text;
using P2P.Protocol.Stun;

namespace P2P.Protocol.Ice;

/// <summary>
/// What an incoming connectivity check says (RFC 8445 §7.3.1): USERNAME, PRIORITY, the sender's
/// role with its tie-breaker, and whether it nominates the pair. <see cref="Controlling"/> is null
/// when the request carries neither ICE-CONTROLLING nor ICE-CONTROLLED (then TieBreaker is 0).
/// </summary>
public readonly record struct IceCheck(string Username, uint Priority, bool? Controlling, ulong TieBreaker, bool UseCandidate);

/// <summary>
/// Builds and reads the STUN messages of ICE connectivity checks (RFC 8445 §7.2.2, §7.3) on top of
/// <see cref="StunMessageWriter"/> and <see cref="StunMessage"/>. Checks use short-term credentials:
/// requests and their responses are signed with the password of the agent that RECEIVES the
/// request (RFC 8445 §7.2.2), and carry FINGERPRINT (§7.2.2, RFC 7983 demultiplexing).
/// A buffer too small is a programming error (the writer throws); 1500 bytes is always enough.
/// </summary>
public static class IceMessages
{
    public const int RoleConflict = 487;
    public const int BadRequest = 400;
    public const int Unauthorized = 401;

    /// <summary>
    /// The short-term key for a password (RFC 8489 §9.1.1: the OpaqueString-prepared password as
    /// UTF-8; ice-chars are ASCII, so it is the password's bytes). Dispose it with its session.
    /// </summary>
    public static StunIntegrityKey CreateKey(string password) => new(Encoding.UTF8.GetBytes(password));

    /// <summary>
    /// A Binding request for a check (RFC 8445 §7.2.2): USERNAME ("remoteUfrag:localUfrag"),
    /// PRIORITY (of the peer-reflexive candidate the check could discover, §7.1.1), ICE-CONTROLLING
    /// or ICE-CONTROLLED with the tie-breaker (§7.1.3), USE-CANDIDATE when the controlling agent
    /// nominates (§8.1.1), MESSAGE-INTEGRITY with the remote agent's password, FINGERPRINT.
    /// Returns the message length.
    /// </summary>
    public static int WriteBindingRequest(Span<byte> buffer, TransactionId id, string username, uint priority, bool controlling,
        ulong tieBreaker, bool useCandidate, StunIntegrityKey key)
    {
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, id);
        w.AddString(StunAttributeType.Username, username);
        w.AddUInt32(StunAttributeType.Priority, priority);
        w.AddUInt64(controlling ? StunAttributeType.IceControlling : StunAttributeType.IceControlled, tieBreaker);
        if (useCandidate) w.AddFlag(StunAttributeType.UseCandidate);
        w.AddMessageIntegrity(key);
        w.AddFingerprint();
        return w.Length;
    }

    /// <summary>
    /// A Binding success response (RFC 8445 §7.3.1.5): XOR-MAPPED-ADDRESS with the source of the
    /// request, MESSAGE-INTEGRITY with this agent's own password (the one the request used), FINGERPRINT.
    /// </summary>
    public static int WriteBindingSuccess(Span<byte> buffer, TransactionId id, IPEndPoint mapped, StunIntegrityKey key)
    {
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.SuccessResponse, id);
        w.AddAddress(StunAttributeType.XorMappedAddress, StunAddress.From(mapped));
        w.AddMessageIntegrity(key);
        w.AddFingerprint();
        return w.Length;
    }

    /// <summary>
    /// A Binding error response: ERROR-CODE with <paramref name="code"/> and <paramref name="reason"/>
    /// (487 Role Conflict, RFC 8445 §7.3.1.1; 400 Bad Request and 401 Unauthorized, RFC 8489 §9.1.3),
    /// MESSAGE-INTEGRITY when a key is given (not for 400/401 answering a request that failed its
    /// own integrity check), FINGERPRINT.
    /// </summary>
    public static int WriteBindingError(Span<byte> buffer, TransactionId id, int code, string reason, StunIntegrityKey? key)
    {
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.ErrorResponse, id);
        w.AddErrorCode(code, reason);
        if (key is not null) w.AddMessageIntegrity(key);
        w.AddFingerprint();
        return w.Length;
    }

    /// <summary>
    /// Reads a check from a parsed Binding request: USERNAME and PRIORITY are required (RFC 8445
    /// §7.3: a request without them is answered 400), at most one of ICE-CONTROLLING and
    /// ICE-CONTROLLED. False for anything else, including a message that is not a Binding request.
    /// It does not verify MESSAGE-INTEGRITY: call <see cref="StunMessage.VerifyIntegrity"/> with
    /// this agent's key (made from its own password) before trusting the check.
    /// </summary>
    public static bool TryReadCheck(in StunMessage msg, out IceCheck check)
    {
        check = default;
        if (msg.Method != StunMethod.Binding || msg.Class != StunClass.Request) return false;
        if (!msg.TryGetString(StunAttributeType.Username, out var username) || username.Length == 0) return false;
        if (!msg.TryGetUInt32(StunAttributeType.Priority, out uint priority)) return false;
        bool hasControlling = msg.TryGetUInt64(StunAttributeType.IceControlling, out ulong controllingTie);
        bool hasControlled = msg.TryGetUInt64(StunAttributeType.IceControlled, out ulong controlledTie);
        if (hasControlling && hasControlled) return false;
        if (!hasControlling && !hasControlled && (msg.Has(StunAttributeType.IceControlling) || msg.Has(StunAttributeType.IceControlled))) return false; // wrong length
        bool? controlling = hasControlling ? true : hasControlled ? false : null;
        check = new IceCheck(username, priority, controlling, hasControlling ? controllingTie : controlledTie, msg.Has(StunAttributeType.UseCandidate));
        return true;
    }

    /// <summary>
    /// Splits the USERNAME of a received check, "receiverUfrag:senderUfrag" (RFC 8445 §7.2.2), as
    /// the receiving agent sees it: <paramref name="local"/> is its own ufrag (the part before the
    /// first colon), <paramref name="remote"/> the sender's. Both must be non-empty.
    /// </summary>
    public static bool TryGetUsernameFragments(string username, out string local, out string remote)
    {
        local = remote = string.Empty;
        if (username is null) return false;
        int colon = username.IndexOf(':');
        if (colon <= 0 || colon == username.Length - 1) return false;
        local = username[..colon];
        remote = username[(colon + 1)..];
        return true;
    }
}
