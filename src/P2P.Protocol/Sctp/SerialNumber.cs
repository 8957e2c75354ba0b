namespace P2P.Protocol.Sctp;

/// <summary>
/// Serial number arithmetic (RFC 1982) as SCTP uses it for 32-bit TSNs and 16-bit stream sequence
/// numbers (RFC 9260 §1.6). Two numbers exactly half the space apart are not ordered: every
/// comparison between them is false, as RFC 1982 §3.2 leaves that case undefined.
/// </summary>
public static class SerialNumber
{
    /// <summary>a &lt; b in 32-bit serial order.</summary>
    public static bool IsLess(uint a, uint b) => a != b && b - a < 0x8000_0000u;

    /// <summary>a ≤ b in 32-bit serial order.</summary>
    public static bool IsLessOrEqual(uint a, uint b) => a == b || IsLess(a, b);

    /// <summary>a &gt; b in 32-bit serial order.</summary>
    public static bool IsGreater(uint a, uint b) => IsLess(b, a);

    /// <summary>a ≥ b in 32-bit serial order.</summary>
    public static bool IsGreaterOrEqual(uint a, uint b) => a == b || IsLess(b, a);

    /// <summary>a &lt; b in 16-bit serial order.</summary>
    public static bool IsLess(ushort a, ushort b) => a != b && (ushort)(b - a) < 0x8000;

    public static bool IsLessOrEqual(ushort a, ushort b) => a == b || IsLess(a, b);

    public static bool IsGreater(ushort a, ushort b) => IsLess(b, a);

    public static bool IsGreaterOrEqual(ushort a, ushort b) => a == b || IsLess(b, a);

    /// <summary>The later of two TSNs in serial order.</summary>
    public static uint Max(uint a, uint b) => IsLess(a, b) ? b : a;
}
