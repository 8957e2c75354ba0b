namespace P2P.Protocol.Nat;

/// <summary>
/// The four transport addresses of an RFC 5780 server (§6.1, Table 1): two IP addresses times two ports. A socket's slot
/// is <c>(alternate IP ? 2 : 0) | (alternate port ? 1 : 0)</c>. A Binding answer with CHANGE-REQUEST goes out from the
/// slot that differs from the receiving one in the asked parts; OTHER-ADDRESS is the slot that differs in both.
/// </summary>
public static class ChangeRequestGrid
{
    /// <summary>Number of slots.</summary>
    public const int Size = 4;

    private const int IpBit = 2, PortBit = 1;

    /// <summary>The slot the answer to a request received on <paramref name="received"/> is sent from.</summary>
    public static int Source(int received, bool changeIp, bool changePort) =>
        received ^ ((changeIp ? IpBit : 0) | (changePort ? PortBit : 0));

    /// <summary>The slot announced in OTHER-ADDRESS to a client that reached <paramref name="received"/>: the other IP and the other port.</summary>
    public static int Other(int received) => received ^ (IpBit | PortBit);
}
