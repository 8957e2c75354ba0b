using System.Net;
using AddressFamily = System.Net.Sockets.AddressFamily;

namespace P2P.Protocol.Ice;

/// <summary>
/// Small pieces of the ICE SDP grammar (RFC 8839 §5.1, §5.4) and address rules shared by the
/// candidate, pairing and description code.
/// </summary>
public static class IceGrammar
{
    /// <summary>ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.1).</summary>
    public static bool IsIceChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '+' || c == '/';

    /// <summary>True when <paramref name="text"/> has <paramref name="min"/>..<paramref name="max"/> characters, all ice-chars.</summary>
    public static bool IsIceChars(string text, int min, int max)
    {
        if (text.Length < min || text.Length > max) return false;
        foreach (char c in text)
        {
            if (!IsIceChar(c)) return false;
        }
        return true;
    }

    /// <summary>Maps an IPv4-mapped IPv6 address (as dual-stack sockets report) to plain IPv4.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>Same address and port, treating "::ffff:a.b.c.d" and "a.b.c.d" as the same address.</summary>
    public static bool SameEndPoint(IPEndPoint a, IPEndPoint b) =>
        a.Port == b.Port && Normalize(a.Address).Equals(Normalize(b.Address));

    /// <summary>169.254.0.0/16 or fe80::/10.</summary>
    public static bool IsLinkLocal(IPAddress address)
    {
        address = Normalize(address);
        if (address.AddressFamily == AddressFamily.InterNetworkV6) return address.IsIPv6LinkLocal;
        Span<byte> bytes = stackalloc byte[4];
        return address.TryWriteBytes(bytes, out int n) && n == 4 && bytes[0] == 169 && bytes[1] == 254;
    }

    /// <summary>The family after <see cref="Normalize"/>.</summary>
    public static AddressFamily FamilyOf(IPAddress address) => Normalize(address).AddressFamily;

    /// <summary>
    /// Parses an SDP connection-address that must be an IP literal: a dotted quad (exactly four
    /// decimal parts, unlike <see cref="IPAddress.TryParse(string, out IPAddress)"/> which also takes
    /// "127.1") or an IPv6 address without brackets or zone. Names get their own reason, since a
    /// host name is valid SDP that this engine does not resolve, but for an mDNS ".local" name, which the candidate
    /// parser takes (<see cref="IceCandidate.HostName"/>).
    /// </summary>
    public static bool TryParseAddress(string text, out IPAddress address, out string reason)
    {
        address = IPAddress.None;
        reason = string.Empty;
        if (text.Contains(':'))
        {
            if (!text.Contains('%') && !text.Contains('[') && IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6)
            {
                address = v6;
                return true;
            }
            reason = $"bad IP address '{text}'";
            return false;
        }
        if (IsDottedQuad(text) && IPAddress.TryParse(text, out var v4) && v4.AddressFamily == AddressFamily.InterNetwork)
        {
            address = v4;
            return true;
        }
        reason = LooksLikeHostName(text)
            ? $"host name '{text}' is not supported (only IP addresses and mDNS '.local' names)"
            : $"bad IP address '{text}'";
        return false;
    }

    /// <summary>Formats an address for SDP: IPv4 as a dotted quad, IPv6 without its zone (a scope means nothing to the peer).</summary>
    public static string FormatAddress(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
            address = new IPAddress(address.GetAddressBytes());
        return address.ToString();
    }

    private static bool IsDottedQuad(string text)
    {
        int parts = 0, digits = 0, value = 0;
        foreach (char c in text)
        {
            if (c == '.')
            {
                if (digits == 0) return false;
                parts++;
                digits = value = 0;
            }
            else if (char.IsAsciiDigit(c))
            {
                if (++digits > 3) return false;
                value = value * 10 + (c - '0');
                if (value > 255) return false;
            }
            else return false;
        }
        return digits > 0 && parts == 3;
    }

    private static bool LooksLikeHostName(string text)
    {
        if (text.Length == 0 || text.Length > 253) return false;
        bool letter = false;
        foreach (char c in text)
        {
            if (char.IsAsciiLetter(c)) letter = true;
            else if (!char.IsAsciiDigit(c) && c != '-' && c != '.') return false;
        }
        return letter;
    }

    /// <summary>Splits on spaces and tabs, dropping empty tokens (SDP uses single spaces, pasted text may not).</summary>
    internal static string[] Tokens(string text) => text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
}
