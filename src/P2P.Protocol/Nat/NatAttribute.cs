using System.Globalization;
using System.Net;
using System.Text;

namespace P2P.Protocol.Nat;

/// <summary>
/// The value of our description line <c>a=x-p2p-nat:</c> (other stacks ignore x- attributes): a <see cref="NatReport"/>
/// as space-separated <c>key=value</c> tokens, for example
/// <c>v=1 map=eim filt=apdf alloc=seq step=1 hairpin=1 life=120 predict=1 ip=198.51.100.7</c>.
/// <list type="table">
/// <item><term>v</term><description>format version, 1. A later version may add tokens; a reader takes the ones it knows.</description></item>
/// <item><term>map</term><description>mapping: <c>none</c> (no NAT), <c>eim</c>, <c>adm</c>, <c>apdm</c> (RFC 4787 §4.1), <c>unknown</c></description></item>
/// <item><term>filt</term><description>filtering: <c>eif</c>, <c>adf</c>, <c>apdf</c> (RFC 4787 §5), <c>unknown</c></description></item>
/// <item><term>alloc</term><description>port allocation: <c>pres</c> (preserving), <c>seq</c>, <c>rand</c>, <c>unknown</c></description></item>
/// <item><term>step</term><description>for <c>seq</c>: the port difference between consecutive mappings (a non-zero integer)</description></item>
/// <item><term>hairpin</term><description><c>1</c> or <c>0</c> (RFC 5780 §4.5); absent: not tested</description></item>
/// <item><term>life</term><description>an idle mapping lasted at least this many whole seconds (§4.6); absent: not measured</description></item>
/// <item><term>predict</term><description><c>1</c>: this peer takes part in port prediction; <c>0</c> or absent: it does not</description></item>
/// <item><term>ip</term><description>the public address the STUN server saw</description></item>
/// </list>
/// Tokens with keys it does not know are ignored (so later versions can add some); a known key with a bad value makes the
/// whole line invalid, as any other malformed x-p2p line.
/// </summary>
public static class NatAttribute
{
    /// <summary>The attribute name, without <c>a=</c>.</summary>
    public const string Name = "x-p2p-nat";

    /// <summary>The version this code writes.</summary>
    public const int Version = 1;

    /// <summary>The attribute value for <paramref name="report"/>.</summary>
    public static string Format(NatReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var b = new StringBuilder();
        b.Append("v=").Append(Version)
            .Append(" map=").Append(Token(report.Mapping))
            .Append(" filt=").Append(Token(report.Filtering))
            .Append(" alloc=").Append(Token(report.Allocation));
        if (report.PortStep is { } step) b.Append(" step=").Append(step.ToString(CultureInfo.InvariantCulture));
        if (report.Hairpinning is { } hairpin) b.Append(" hairpin=").Append(hairpin ? '1' : '0');
        if (report.MappingLifetime is { } life) b.Append(" life=").Append(((long)life.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        b.Append(" predict=").Append(report.PortPrediction ? '1' : '0');
        if (report.PublicAddress is { } ip) b.Append(" ip=").Append(ip);
        return b.ToString();
    }

    /// <summary>Reads an attribute value; false with one sentence in <paramref name="error"/> when a known token has a bad value.</summary>
    public static bool TryParse(string value, out NatReport report, out string? error)
    {
        report = NatReport.Unknown;
        error = null;
        var mapping = MappingBehavior.Unknown;
        var filtering = FilteringBehavior.Unknown;
        var allocation = PortAllocation.Unknown;
        int? step = null;
        bool? hairpin = null;
        TimeSpan? life = null;
        bool? predict = null;
        IPAddress? ip = null;
        foreach (var token in (value ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = token.IndexOf('=');
            if (eq <= 0) continue; // not ours to judge: a later version's flag
            string key = token[..eq], text = token[(eq + 1)..];
            bool ok = key switch
            {
                "v" => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= 1,
                "map" => TryToken(text, Token, out mapping),
                "filt" => TryToken(text, Token, out filtering),
                "alloc" => TryToken(text, Token, out allocation),
                "step" => TryStep(text, out step),
                "hairpin" => TryFlag(text, out hairpin),
                "life" => TryLife(text, out life),
                "predict" => TryFlag(text, out predict),
                "ip" => IPAddress.TryParse(text, out ip) && !text.Contains('%'),
                _ => true,
            };
            if (!ok)
            {
                error = $"a={Name}: '{token}' is not a valid value for {key}";
                return false;
            }
        }
        report = new NatReport(mapping, filtering, allocation)
        {
            PortStep = step,
            Hairpinning = hairpin,
            MappingLifetime = life,
            PortPrediction = predict ?? false,
            PublicAddress = ip,
        };
        return true;
    }

    /// <summary>The token of a mapping behaviour (also the short word the host's tables show).</summary>
    public static string Token(MappingBehavior mapping) => mapping switch
    {
        MappingBehavior.NoNat => "none",
        MappingBehavior.EndpointIndependent => "eim",
        MappingBehavior.AddressDependent => "adm",
        MappingBehavior.AddressAndPortDependent => "apdm",
        _ => "unknown",
    };

    /// <summary>The token of a filtering behaviour.</summary>
    public static string Token(FilteringBehavior filtering) => filtering switch
    {
        FilteringBehavior.EndpointIndependent => "eif",
        FilteringBehavior.AddressDependent => "adf",
        FilteringBehavior.AddressAndPortDependent => "apdf",
        _ => "unknown",
    };

    /// <summary>The token of a port allocation.</summary>
    public static string Token(PortAllocation allocation) => allocation switch
    {
        PortAllocation.Preserving => "pres",
        PortAllocation.Sequential => "seq",
        PortAllocation.Random => "rand",
        _ => "unknown",
    };

    /// <summary>The enum value whose token is <paramref name="text"/>.</summary>
    private static bool TryToken<T>(string text, Func<T, string> token, out T value) where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
            if (token(candidate) == text) { value = candidate; return true; }
        value = default;
        return false;
    }

    private static bool TryStep(string text, out int? step)
    {
        step = null;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int s) || s == 0 || s is < -65535 or > 65535) return false;
        step = s;
        return true;
    }

    private static bool TryFlag(string text, out bool? flag)
    {
        flag = text switch { "1" => true, "0" => false, _ => null };
        return flag is not null;
    }

    private static bool TryLife(string text, out TimeSpan? life)
    {
        life = null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds)) return false;
        life = TimeSpan.FromSeconds(seconds);
        return true;
    }
}
