using System.Net;
using System.Net.Sockets;

namespace P2P.Protocol.Turn;

/// <summary>
/// Which peer addresses the relay may send to (RFC 8656 §21.2.3: a relay must not become a way into
/// the operator's own networks). Unspecified, multicast, broadcast and link-local peers are always
/// refused; loopback and private ones (RFC 1918, RFC 6598 shared space, ULA fc00::/7) only when allowed.
/// </summary>
public static class PeerAddressPolicy
{
    public static bool IsAllowed(IPAddress address, bool allowLoopback, bool allowPrivate)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            if (b[0] == 0) return false;                                  // 0.0.0.0/8 "this network"
            if (b[0] >= 224) return false;                                // multicast, reserved, broadcast
            if (b[0] == 169 && b[1] == 254) return false;                 // link-local
            if (b[0] == 127) return allowLoopback;
            bool isPrivate = b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168)
                             || (b[0] == 100 && (b[1] & 0xC0) == 64);     // RFC 6598 shared address space
            return !isPrivate || allowPrivate;
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.Equals(IPAddress.IPv6None) || address.IsIPv6Multicast || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal) return false;
            if (address.Equals(IPAddress.IPv6Loopback)) return allowLoopback;
            Span<byte> b = stackalloc byte[16];
            address.TryWriteBytes(b, out _);
            if ((b[0] & 0xFE) == 0xFC) return allowPrivate;               // ULA fc00::/7
            return true;
        }
        return false;
    }
}
