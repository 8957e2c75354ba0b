using System.Globalization;
using AddressFamily = System.Net.Sockets.AddressFamily;
using System.Text;

namespace P2P.Protocol.Ice;

/// <summary>
/// The ICE part of a session description exchanged by the two peers (RFC 8839 §5): credentials,
/// candidates, "a=end-of-candidates" (RFC 8840), "a=ice-options", "a=ice-lite", and the DTLS
/// "a=fingerprint" / "a=setup" lines (RFC 8122, RFC 4145) carried alongside. One data stream.
/// Parsing is tolerant of everything around the ICE lines (other SDP lines, blank lines, CRLF,
/// indentation) and strict about the ICE lines themselves. Equality compares every field, the
/// lists element by element.
/// </summary>
public sealed record IceDescription(IceCredentials Credentials, IReadOnlyList<IceCandidate> Candidates)
{
    /// <summary>The remote agent has sent all its candidates (RFC 8840 §8.2, "a=end-of-candidates").</summary>
    public bool EndOfCandidates { get; init; }

    /// <summary>ICE options ("a=ice-options:trickle ice2", RFC 8839 §5.6), in order, without duplicates.</summary>
    public IReadOnlyList<string> Options { get; init; } = [];

    /// <summary>The agent is an ICE lite implementation (RFC 8839 §5.3).</summary>
    public bool IceLite { get; init; }

    /// <summary>
    /// The pacing this agent proposes for connectivity checks ("a=ice-pacing:&lt;ms&gt;", RFC 8839 §5.5); null when the
    /// description has none, which counts as the default 50 ms (RFC 8445 §14.2: both agents use the larger proposal).
    /// </summary>
    public TimeSpan? Pacing { get; init; }

    /// <summary>
    /// The agent multiplexes sessions on one socket and names this one with the tag ("a=x-p2p-session:&lt;8 hex
    /// digits&gt;", our extension, see <see cref="SessionMux"/>); null for every other agent.
    /// </summary>
    public uint? SessionTag { get; init; }

    /// <summary>
    /// What the agent learned about its NAT (RFC 5780) and whether it takes part in port prediction
    /// ("a=x-p2p-nat:...", our extension; other stacks ignore it); null when the description has none.
    /// </summary>
    public P2P.Protocol.Nat.NatReport? Nat { get; init; }

    /// <summary>The hash function of "a=fingerprint:&lt;algorithm&gt; &lt;hex&gt;" (RFC 8122 §5), e.g. "sha-256".</summary>
    public string? FingerprintAlgorithm { get; init; }

    /// <summary>The certificate fingerprint, upper-case hex bytes separated by colons (RFC 8122 §5).</summary>
    public string? Fingerprint { get; init; }

    /// <summary>The DTLS role offer ("a=setup:actpass|active|passive|holdconn", RFC 4145 §4).</summary>
    public string? Setup { get; init; }

    /// <summary>Parses a description in either format, strictly: any unusable candidate line fails the whole text.</summary>
    public static bool TryParse(string text, out IceDescription description, out IceDescriptionError error) =>
        TryParse(text, skipHostNameCandidates: false, out description, out error, out _);

    /// <summary>
    /// Parses a description. With <paramref name="skipHostNameCandidates"/>, candidate lines whose
    /// address is a host name (mDNS ".local" names, which browsers send, RFC 8839 §5.1) are left
    /// out and reported in <paramref name="skipped"/> instead of failing the whole description;
    /// every other bad line still fails it.
    /// </summary>
    public static bool TryParse(string text, bool skipHostNameCandidates, out IceDescription description,
        out IceDescriptionError error, out IReadOnlyList<IceDescriptionError> skipped)
    {
        description = null!;
        var skippedLines = new List<IceDescriptionError>();
        skipped = skippedLines;
        string? ufrag = null, pwd = null, fingerprintAlgorithm = null, fingerprint = null, setup = null;
        bool endOfCandidates = false, iceLite = false;
        TimeSpan? pacing = null;
        uint? sessionTag = null;
        P2P.Protocol.Nat.NatReport? nat = null;
        var candidates = new List<IceCandidate>();
        var options = new List<string>();

        string[] lines = (text ?? string.Empty).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int number = i + 1;
            string line = lines[i].Trim();
            if (!line.StartsWith("a=", StringComparison.Ordinal)) continue; // v=, o=, s=, t=, m=, c=, blank, anything else
            int colon = line.IndexOf(':');
            string name = (colon < 0 ? line[2..] : line[2..colon]).Trim();
            string value = colon < 0 ? string.Empty : line[(colon + 1)..].Trim();
            IceDescriptionError Fail(string reason) => new(number, line, reason);

            switch (name.ToLowerInvariant())
            {
                case "ice-ufrag":
                    if (!IceCredentials.IsValidUfrag(value)) { error = Fail($"bad ice-ufrag '{value}' (4 to 256 of A-Z a-z 0-9 + /)"); return false; }
                    if (ufrag is not null && ufrag != value) { error = Fail($"a second, different ice-ufrag (first was '{ufrag}'; only one stream is supported)"); return false; }
                    ufrag = value;
                    break;
                case "ice-pwd":
                    if (!IceCredentials.IsValidPwd(value)) { error = Fail("bad ice-pwd (22 to 256 of A-Z a-z 0-9 + /)"); return false; }
                    if (pwd is not null && pwd != value) { error = Fail("a second, different ice-pwd (only one stream is supported)"); return false; }
                    pwd = value;
                    break;
                case "candidate":
                    if (!IceCandidate.TryParse(value, out var candidate, out var reason))
                    {
                        if (skipHostNameCandidates && reason.StartsWith("host name", StringComparison.Ordinal)) { skippedLines.Add(Fail(reason)); break; }
                        error = Fail(reason);
                        return false;
                    }
                    candidates.Add(candidate);
                    break;
                case "end-of-candidates":
                    endOfCandidates = true;
                    break;
                case "ice-lite":
                    iceLite = true;
                    break;
                case "x-p2p-session":
                    if (value.Length is < 1 or > 8 || !uint.TryParse(value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint tag))
                    { error = Fail($"bad x-p2p-session '{value}' (1 to 8 hex digits)"); return false; }
                    sessionTag = tag;
                    break;
                case P2P.Protocol.Nat.NatAttribute.Name:
                    if (!P2P.Protocol.Nat.NatAttribute.TryParse(value, out var report, out var natError)) { error = Fail(natError!); return false; }
                    nat = report;
                    break;
                case "ice-pacing":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int pacingMs) || pacingMs < 1)
                    { error = Fail($"bad ice-pacing '{value}' (a whole number of milliseconds)"); return false; }
                    pacing = TimeSpan.FromMilliseconds(pacingMs);
                    break;
                case "ice-options":
                    var tokens = IceGrammar.Tokens(value);
                    if (tokens.Length == 0) { error = Fail("ice-options without any option"); return false; }
                    foreach (var option in tokens)
                    {
                        if (!IceGrammar.IsIceChars(option, 1, int.MaxValue)) { error = Fail($"bad ice option '{option}'"); return false; }
                        if (!options.Contains(option)) options.Add(option);
                    }
                    break;
                case "fingerprint":
                    var parts = IceGrammar.Tokens(value);
                    if (parts.Length != 2 || !IsToken(parts[0]) || !IsHexPairs(parts[1]))
                    { error = Fail("bad fingerprint (expected 'a=fingerprint:<hash> <XX:XX:...>')"); return false; }
                    if (fingerprint is not null && (fingerprint != parts[1] || fingerprintAlgorithm != parts[0]))
                    { error = Fail("a second, different fingerprint"); return false; }
                    fingerprintAlgorithm = parts[0];
                    fingerprint = parts[1];
                    break;
                case "setup":
                    if (value is not ("actpass" or "active" or "passive" or "holdconn"))
                    { error = Fail($"bad setup '{value}' (actpass, active, passive or holdconn)"); return false; }
                    setup = value;
                    break;
            }
        }

        if (ufrag is null || pwd is null)
        {
            string missing = (ufrag, pwd) switch
            {
                (null, null) => "a=ice-ufrag and a=ice-pwd",
                (null, _) => "a=ice-ufrag",
                _ => "a=ice-pwd",
            };
            error = new IceDescriptionError(0, string.Empty, $"missing {missing}: this does not look like an ICE description");
            return false;
        }

        description = new IceDescription(new IceCredentials(ufrag, pwd), candidates.ToArray())
        {
            EndOfCandidates = endOfCandidates,
            Options = options.ToArray(),
            IceLite = iceLite,
            Pacing = pacing,
            SessionTag = sessionTag,
            Nat = nat,
            FingerprintAlgorithm = fingerprintAlgorithm,
            Fingerprint = fingerprint,
            Setup = setup,
        };
        error = IceDescriptionError.None;
        return true;
    }

    /// <summary>
    /// Writes the description, one line per attribute, each ended by "\n". The "a=" lines come in
    /// this order: ice-ufrag, ice-pwd, ice-options, ice-lite, ice-pacing, x-p2p-session and x-p2p-nat (not in the libnice format), fingerprint, setup, the candidates,
    /// end-of-candidates. <see cref="IceDescriptionFormat.Libnice"/> puts the "m=" and "c=" lines
    /// first, with the address of the default candidate (the highest-priority UDP candidate, else
    /// the highest-priority one, else "0.0.0.0" port 9, also when that candidate hides behind an mDNS name), and ends
    /// with an empty line.
    /// </summary>
    public string Write(IceDescriptionFormat format = IceDescriptionFormat.Attributes)
    {
        var sb = new StringBuilder(256 + 80 * Candidates.Count);
        if (format == IceDescriptionFormat.Libnice)
        {
            var chosen = Candidates.Where(c => c.Transport == CandidateTransport.Udp).MaxBy(c => c.Priority)
                ?? Candidates.MaxBy(c => c.Priority);
            if (chosen?.HostName is not null) chosen = null; // an mDNS candidate's address stays hidden: the "no candidate" placeholder (mDNS-ICE draft)
            var address = chosen is null ? System.Net.IPAddress.Any : IceGrammar.Normalize(chosen.Address.Address);
            int port = chosen?.Address.Port ?? 9;
            string ipVersion = IceGrammar.FamilyOf(address) == AddressFamily.InterNetworkV6 ? "IP6" : "IP4";
            sb.Append("m=- ").Append(port.ToString(CultureInfo.InvariantCulture)).Append(" ICE/SDP\n");
            sb.Append("c=IN ").Append(ipVersion).Append(' ').Append(IceGrammar.FormatAddress(address)).Append('\n');
        }
        sb.Append("a=ice-ufrag:").Append(Credentials.Ufrag).Append('\n');
        sb.Append("a=ice-pwd:").Append(Credentials.Pwd).Append('\n');
        if (Options.Count > 0) sb.Append("a=ice-options:").AppendJoin(' ', Options).Append('\n');
        if (IceLite) sb.Append("a=ice-lite\n");
        if (Pacing is { } pace && format == IceDescriptionFormat.Attributes)
            sb.Append("a=ice-pacing:").Append(((long)pace.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (SessionTag is { } tag && format == IceDescriptionFormat.Attributes)
            sb.Append("a=x-p2p-session:").Append(tag.ToString("x8", CultureInfo.InvariantCulture)).Append('\n');
        if (Nat is { } natReport && format == IceDescriptionFormat.Attributes)
            sb.Append("a=").Append(P2P.Protocol.Nat.NatAttribute.Name).Append(':').Append(P2P.Protocol.Nat.NatAttribute.Format(natReport)).Append('\n');
        if (FingerprintAlgorithm is not null && Fingerprint is not null)
            sb.Append("a=fingerprint:").Append(FingerprintAlgorithm).Append(' ').Append(Fingerprint).Append('\n');
        if (Setup is not null) sb.Append("a=setup:").Append(Setup).Append('\n');
        foreach (var candidate in Candidates) sb.Append("a=candidate:").Append(candidate.ToAttributeValue()).Append('\n');
        if (EndOfCandidates) sb.Append("a=end-of-candidates\n");
        if (format == IceDescriptionFormat.Libnice) sb.Append('\n');
        return sb.ToString();
    }

    public bool Equals(IceDescription? other) =>
        other is not null
        && Credentials == other.Credentials
        && Candidates.SequenceEqual(other.Candidates)
        && EndOfCandidates == other.EndOfCandidates
        && Options.SequenceEqual(other.Options)
        && IceLite == other.IceLite
        && Pacing == other.Pacing
        && SessionTag == other.SessionTag
        && Nat == other.Nat
        && FingerprintAlgorithm == other.FingerprintAlgorithm
        && Fingerprint == other.Fingerprint
        && Setup == other.Setup;

    public override int GetHashCode() => HashCode.Combine(Credentials, Candidates.Count, EndOfCandidates, IceLite, Fingerprint, Setup);

    private static bool IsToken(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static bool IsHexPairs(string s)
    {
        var bytes = s.Split(':');
        return bytes.Length > 0 && bytes.All(b => b.Length == 2 && char.IsAsciiHexDigit(b[0]) && char.IsAsciiHexDigit(b[1]));
    }
}
