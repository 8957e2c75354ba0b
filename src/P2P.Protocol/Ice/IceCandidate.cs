using System.Globalization;
using System.Net;
using System.Text;
using P2P.Protocol.Dns;

namespace P2P.Protocol.Ice;

/// <summary>
/// One ICE candidate as signalled in an "a=candidate" attribute (RFC 8839 §5.1; TCP candidates
/// and "tcptype" from RFC 6544 §4.5). <see cref="Related"/> is the "raddr"/"rport" pair: the base
/// of a server-reflexive or peer-reflexive candidate, the mapped address of a relayed one.
/// Extension pairs this code does not interpret ("generation", "network-id", "ufrag", ...) are kept
/// in <see cref="Extensions"/>, in order, so that a candidate is written back as it was read.
/// Equality compares every field, <see cref="Extensions"/> element by element.
/// </summary>
public sealed record IceCandidate(
    string Foundation, int Component, CandidateTransport Transport, uint Priority,
    IPEndPoint Address, CandidateType Type, IPEndPoint? Related = null,
    TcpCandidateType TcpType = TcpCandidateType.None)
{
    /// <summary>Foundation: 1 to 32 ice-chars (RFC 8839 §5.1).</summary>
    public const int MaxFoundationLength = 32;

    /// <summary>Component ids are 1..256 (RFC 8445 §5.1.2.1, RFC 8839 §5.1).</summary>
    public const int MaxComponent = 256;

    /// <summary>The TCP port an active candidate announces: it does not listen (RFC 6544 §4.5).</summary>
    public const int ActiveTcpPort = 9;

    /// <summary>
    /// The mDNS name ("&lt;uuid&gt;.local", draft-ietf-mmusic-mdns-ice-candidates) the candidate is signalled with instead
    /// of its address, or null. A remote candidate read with a name has the unspecified address until it is resolved
    /// (it must not be paired before); a local host candidate published under a name keeps its real address for the
    /// checks and is written with the name.
    /// </summary>
    public string? HostName { get; init; }

    /// <summary>Unknown "name value" extension pairs after the known fields, in the order they appeared.</summary>
    public IReadOnlyList<(string Name, string Value)> Extensions { get; init; } = [];

    /// <summary>
    /// Parses the value of an "a=candidate" attribute: "foundation component transport priority
    /// address port typ type [raddr a] [rport p] [tcptype t] *(name value)". Also accepts the line
    /// with its "a=candidate:" or "candidate:" prefix (as trickled by browsers). Never throws; on
    /// failure <paramref name="error"/> says which field is wrong and why.
    /// </summary>
    public static bool TryParse(string attributeValue, out IceCandidate candidate, out string error)
    {
        candidate = null!;
        if (attributeValue is null) { error = "empty candidate"; return false; }
        string text = attributeValue.Trim();
        if (text.StartsWith("a=", StringComparison.OrdinalIgnoreCase)) text = text[2..];
        if (text.StartsWith("candidate:", StringComparison.OrdinalIgnoreCase)) text = text["candidate:".Length..];

        string[] t = IceGrammar.Tokens(text);
        if (t.Length == 0) { error = "empty candidate"; return false; }
        if (!IceGrammar.IsIceChars(t[0], 1, MaxFoundationLength)) { error = $"bad foundation '{t[0]}' (1 to 32 of A-Z a-z 0-9 + /)"; return false; }
        if (t.Length < 2 || !TryParseNumber(t[1], 3, out ulong component) || component < 1 || component > MaxComponent)
        { error = t.Length < 2 ? "missing component id" : $"bad component id '{t[1]}' (1..256)"; return false; }
        if (t.Length < 3) { error = "missing transport"; return false; }
        if (!CandidateNames.TryParseTransport(t[2], out var transport)) { error = $"unsupported transport '{t[2]}' (UDP or TCP)"; return false; }
        if (t.Length < 4) { error = "missing priority"; return false; }
        if (!TryParseNumber(t[3], 10, out ulong priority) || priority > uint.MaxValue) { error = $"bad priority '{t[3]}'"; return false; }
        if (t.Length < 5) { error = "missing connection address"; return false; }
        string? hostName = null;
        if (!IceGrammar.TryParseAddress(t[4], out var address, out var reason))
        {
            if (!MdnsNames.IsLocalName(t[4])) { error = reason; return false; }
            hostName = t[4];
            address = IPAddress.Any;
        }
        if (t.Length < 6) { error = "missing port"; return false; }
        if (!TryParsePort(t[5], out int port)) { error = $"bad port '{t[5]}'"; return false; }
        if (t.Length < 7 || !t[6].Equals("typ", StringComparison.OrdinalIgnoreCase)) { error = "missing 'typ'"; return false; }
        if (t.Length < 8) { error = "missing candidate type after 'typ'"; return false; }
        if (!CandidateNames.TryParseType(t[7], out var type)) { error = $"unknown candidate type '{t[7]}' (host, srflx, prflx or relay)"; return false; }

        IPAddress? relatedAddress = null;
        int relatedPort = -1;
        var tcpType = TcpCandidateType.None;
        List<(string, string)>? extensions = null;
        for (int i = 8; i < t.Length; i += 2)
        {
            string name = t[i];
            if (i + 1 >= t.Length) { error = $"extension '{name}' has no value"; return false; }
            string value = t[i + 1];
            switch (name.ToLowerInvariant())
            {
                case "raddr":
                    if (relatedAddress is not null) { error = "'raddr' given twice"; return false; }
                    if (!IceGrammar.TryParseAddress(value, out relatedAddress, out reason)) { error = "raddr: " + reason; return false; }
                    break;
                case "rport":
                    if (relatedPort >= 0) { error = "'rport' given twice"; return false; }
                    if (!TryParsePort(value, out relatedPort)) { error = $"bad rport '{value}'"; return false; }
                    break;
                case "tcptype":
                    if (tcpType != TcpCandidateType.None) { error = "'tcptype' given twice"; return false; }
                    if (transport != CandidateTransport.Tcp) { error = "'tcptype' on a UDP candidate"; return false; }
                    if (!CandidateNames.TryParseTcpType(value, out tcpType)) { error = $"bad tcptype '{value}' (active, passive or so)"; return false; }
                    break;
                default:
                    (extensions ??= []).Add((name, value));
                    break;
            }
        }
        if ((relatedAddress is null) != (relatedPort < 0))
        {
            error = relatedAddress is null ? "'rport' without 'raddr'" : "'raddr' without 'rport'";
            return false;
        }

        candidate = new IceCandidate(
            t[0], (int)component, transport, (uint)priority, new IPEndPoint(address, port), type,
            relatedAddress is null ? null : new IPEndPoint(relatedAddress, relatedPort), tcpType)
        {
            Extensions = extensions is null ? [] : extensions.ToArray(),
            HostName = hostName,
        };
        error = string.Empty;
        return true;
    }

    /// <summary>
    /// The attribute value, foundation first and without the "candidate:" prefix, in the order
    /// RFC 8839 and libnice write it: "1 1 UDP 2130706431 192.0.2.1 5000 typ host [raddr a rport p]
    /// [tcptype t] [extensions]".
    /// </summary>
    public string ToAttributeValue()
    {
        var sb = new StringBuilder(96);
        sb.Append(Foundation).Append(' ')
          .Append(Component.ToString(CultureInfo.InvariantCulture)).Append(' ')
          .Append(Transport.ToSdp()).Append(' ')
          .Append(Priority.ToString(CultureInfo.InvariantCulture)).Append(' ')
          .Append(HostName ?? IceGrammar.FormatAddress(Address.Address)).Append(' ')
          .Append(Address.Port.ToString(CultureInfo.InvariantCulture))
          .Append(" typ ").Append(Type.ToSdp());
        if (Related is not null)
        {
            sb.Append(" raddr ").Append(IceGrammar.FormatAddress(Related.Address))
              .Append(" rport ").Append(Related.Port.ToString(CultureInfo.InvariantCulture));
        }
        if (TcpType != TcpCandidateType.None) sb.Append(" tcptype ").Append(TcpType.ToSdp());
        foreach (var (name, value) in Extensions) sb.Append(' ').Append(name).Append(' ').Append(value);
        return sb.ToString();
    }

    /// <summary>The whole SDP line: "a=candidate:" + <see cref="ToAttributeValue"/>.</summary>
    public string ToSdpLine() => "a=candidate:" + ToAttributeValue();

    public override string ToString() => ToAttributeValue();

    public bool Equals(IceCandidate? other) =>
        other is not null
        && Foundation == other.Foundation
        && Component == other.Component
        && Transport == other.Transport
        && Priority == other.Priority
        && Equals(Address, other.Address)
        && Type == other.Type
        && Equals(Related, other.Related)
        && TcpType == other.TcpType
        && HostName == other.HostName
        && Extensions.SequenceEqual(other.Extensions);

    public override int GetHashCode() => HashCode.Combine(Foundation, Component, Transport, Priority, Address, Type, Related, TcpType);

    private static bool TryParseNumber(string text, int maxDigits, out ulong value)
    {
        value = 0;
        if (text.Length == 0 || text.Length > maxDigits) return false;
        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c)) return false;
            value = value * 10 + (ulong)(c - '0');
        }
        return true;
    }

    private static bool TryParsePort(string text, out int port)
    {
        port = -1;
        if (!TryParseNumber(text, 5, out ulong value) || value > 65535) return false;
        port = (int)value;
        return true;
    }
}
