namespace P2P.Protocol.Stun;

/// <summary>Why a packet is not an acceptable STUN message. Parsing returns one of these, never throws.</summary>
public enum StunError
{
    None = 0,
    /// <summary>Shorter than the 20-byte header.</summary>
    TooShort,
    /// <summary>The two most significant bits are not zero: not a STUN message (RFC 8489 §5).</summary>
    NotStun,
    /// <summary>The length field is not a multiple of 4 or disagrees with the packet size.</summary>
    BadLength,
    /// <summary>The magic cookie is not 0x2112A442.</summary>
    BadCookie,
    /// <summary>An attribute header or value runs past the end of the message.</summary>
    AttributeOverrun,
    /// <summary>MESSAGE-INTEGRITY(-SHA256) or FINGERPRINT has an impossible length.</summary>
    BadAttributeLength,
    /// <summary>An attribute follows FINGERPRINT, which must be last (RFC 8489 §14.7).</summary>
    FingerprintNotLast,
    /// <summary>The FINGERPRINT CRC does not match.</summary>
    BadFingerprint,
    /// <summary>No MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 to check.</summary>
    MissingIntegrity,
    /// <summary>The HMAC does not match the key.</summary>
    BadIntegrity,
}
