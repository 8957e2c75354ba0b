using System.Net;

namespace P2P.Protocol.Dns;

/// <summary>
/// The names and addresses of multicast DNS (RFC 6762) as ICE uses them (draft-ietf-mmusic-mdns-ice-candidates): a host
/// candidate hidden behind a fresh random "&lt;uuid&gt;.local" name.
/// </summary>
public static class MdnsNames
{
    /// <summary>RFC 6762 §3: the mDNS port, and the groups every query goes to.</summary>
    public const int Port = 5353;

    public static readonly IPAddress IPv4Group = IPAddress.Parse("224.0.0.251");
    public static readonly IPAddress IPv6Group = IPAddress.Parse("ff02::fb");

    /// <summary>
    /// A new name for one address: a version 4 UUID (random, RFC 9562 §5.4) under "local", as the mDNS-ICE draft
    /// (§3.1.1) asks, so that it says nothing about the host.
    /// </summary>
    public static string NewName() => Guid.NewGuid().ToString("D") + ".local";

    /// <summary>
    /// True for a host name under "local." (RFC 6762 §3): one or more labels of letters, digits and hyphens (1 to 63
    /// each, at most 253 characters in all, as SDP carries it), then "local", with or without the final dot.
    /// </summary>
    public static bool IsLocalName(string text)
    {
        if (text.Length is 0 or > 254) return false;
        string name = text.EndsWith('.') ? text[..^1] : text;
        if (name.Length > 253 || !name.EndsWith(".local", StringComparison.OrdinalIgnoreCase)) return false;
        int labelLength = 0, labels = 0;
        foreach (char c in name)
        {
            if (c == '.')
            {
                if (labelLength == 0) return false;
                labels++;
                labelLength = 0;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c == '-')
            {
                if (++labelLength > 63) return false;
            }
            else return false;
        }
        return labels >= 1 && labelLength > 0;
    }

    /// <summary>mDNS names compare without regard to ASCII case (RFC 6762 §16), and a final dot changes nothing.</summary>
    public static string Key(string name) => (name.EndsWith('.') ? name[..^1] : name).ToLowerInvariant();
}
