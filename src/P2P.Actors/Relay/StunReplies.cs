using P2P.Protocol.Stun;

namespace P2P.Actors.Relay;

/// <summary>How an authenticated response is signed (RFC 8489 §9.2.4): MESSAGE-INTEGRITY always, MESSAGE-INTEGRITY-SHA256 when the request used it.</summary>
public readonly record struct ResponseSigning(StunIntegrityKey Key, bool Sha256);

/// <summary>Response builders shared by <see cref="RelayServer"/> and <see cref="Allocation"/>. Each returns an owned buffer.</summary>
internal static class StunReplies
{
    public const int MaxResponse = 548;

    public static string Reason(int code) => code switch
    {
        300 => "Try Alternate",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        420 => "Unknown Attribute",
        437 => "Allocation Mismatch",
        438 => "Stale Nonce",
        440 => "Address Family not Supported",
        441 => "Wrong Credentials",
        442 => "Unsupported Transport Protocol",
        443 => "Peer Address Family Mismatch",
        486 => "Allocation Quota Reached",
        500 => "Server Error",
        508 => "Insufficient Capacity",
        _ => "Error",
    };

    /// <summary>Adds SOFTWARE, the integrity attributes when signing, and FINGERPRINT; returns the finished message.</summary>
    public static ReadOnlyMemory<byte> Finish(ref StunMessageWriter w, byte[] buffer, string software, ResponseSigning? signing)
    {
        if (!string.IsNullOrEmpty(software)) w.AddString(StunAttributeType.Software, software);
        if (signing is { } s)
        {
            w.AddMessageIntegrity(s.Key);
            if (s.Sha256) w.AddMessageIntegritySha256(s.Key);
        }
        w.AddFingerprint();
        return buffer.AsMemory(0, w.Length);
    }

    /// <summary>An error response; signed when the request was authenticated (RFC 8489 §9.2.4).</summary>
    public static ReadOnlyMemory<byte> Error(StunMethod method, TransactionId id, int code, string software, ResponseSigning? signing,
        string? reason = null, ReadOnlySpan<ushort> unknownAttributes = default)
    {
        var buffer = new byte[MaxResponse];
        var w = new StunMessageWriter(buffer, method, StunClass.ErrorResponse, id);
        w.AddErrorCode(code, reason ?? Reason(code));
        if (!unknownAttributes.IsEmpty) w.AddUnknownAttributes(unknownAttributes);
        return Finish(ref w, buffer, software, signing);
    }

    /// <summary>
    /// 300 Try Alternate with ALTERNATE-SERVER (RFC 8489 §10, §14.15; RFC 8656 §7.2 allows it for Allocate): signed with the
    /// request's credentials when it was authenticated, so the client can trust where it is sent. No ALTERNATE-DOMAIN: the
    /// fleet's nodes are reached by address.
    /// </summary>
    public static ReadOnlyMemory<byte> TryAlternate(StunMethod method, TransactionId id, System.Net.IPEndPoint alternate, string software, ResponseSigning? signing)
    {
        var buffer = new byte[MaxResponse];
        var w = new StunMessageWriter(buffer, method, StunClass.ErrorResponse, id);
        w.AddErrorCode(300, Reason(300));
        w.AddAddress(StunAttributeType.AlternateServer, StunAddress.From(alternate));
        return Finish(ref w, buffer, software, signing);
    }

    /// <summary>401 or 438 with REALM, a fresh NONCE and PASSWORD-ALGORITHMS (RFC 8489 §9.2.4), never signed.</summary>
    public static ReadOnlyMemory<byte> Challenge(StunMethod method, TransactionId id, int code, string realm, string nonce, string software)
    {
        var buffer = new byte[MaxResponse];
        var w = new StunMessageWriter(buffer, method, StunClass.ErrorResponse, id);
        w.AddErrorCode(code, Reason(code));
        w.AddString(StunAttributeType.Realm, realm);
        w.AddString(StunAttributeType.Nonce, nonce);
        w.AddPasswordAlgorithms([PasswordAlgorithm.Md5, PasswordAlgorithm.Sha256]);
        return Finish(ref w, buffer, software, null);
    }
}
