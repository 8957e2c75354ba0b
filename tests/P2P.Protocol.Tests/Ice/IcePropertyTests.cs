using System.Net;
using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Ice;

namespace P2P.Protocol.Tests.Ice;

/// <summary>Generators of valid ICE values: every field in its RFC 8839 range.</summary>
public static class IceArbitraries
{
    private const string IceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    private static readonly string ExtensionValueChars = new(Enumerable.Range('!', '~' - '!' + 1).Select(c => (char)c).ToArray());
    private static readonly string[] ReservedNames = ["raddr", "rport", "tcptype"];

    private static Gen<string> StringOf(string chars, int min, int max) =>
        from n in Gen.Choose(min, max)
        from a in Gen.ArrayOf(Gen.Elements(chars.ToCharArray()), n)
        select new string(a);

    private static Gen<IPAddress> Address() =>
        Gen.OneOf(
            Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), 4).Select(b => new IPAddress(b)),
            Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), 16).Select(b => new IPAddress(b)),
            Gen.Elements("127.0.0.1", "0.0.0.0", "::1", "::", "fe80::1", "::ffff:192.0.2.1", "169.254.1.1").Select(IPAddress.Parse));

    private static Gen<IPEndPoint> EndPoint() =>
        from a in Address()
        from p in Gen.Choose(0, 65535)
        select new IPEndPoint(a, p);

    public static Gen<IceCandidate> CandidateGen()
    {
        var extension =
            from name in StringOf("abcdefghijklmnopqrstuvwxyz-", 1, 12).Where(n => !ReservedNames.Contains(n))
            from value in StringOf(ExtensionValueChars, 1, 16)
            select (name, value);
        return
            from foundation in StringOf(IceChars, 1, 32)
            from component in Gen.Choose(1, 256)
            from transport in Gen.Elements(CandidateTransport.Udp, CandidateTransport.Tcp)
            from priority in ArbMap.Default.GeneratorFor<uint>()
            from address in EndPoint()
            from type in Gen.Elements(Enum.GetValues<CandidateType>())
            from hasRelated in ArbMap.Default.GeneratorFor<bool>()
            from related in EndPoint()
            from tcpType in transport == CandidateTransport.Tcp ? Gen.Elements(Enum.GetValues<TcpCandidateType>()) : Gen.Constant(TcpCandidateType.None)
            from count in Gen.Choose(0, 3)
            from extensions in Gen.ArrayOf(extension, count)
            select new IceCandidate(foundation, component, transport, priority, address, type, hasRelated ? related : null, tcpType)
            {
                Extensions = extensions,
            };
    }

    public static Gen<IceDescription> DescriptionGen()
    {
        var fingerprint =
            from n in Gen.Choose(1, 32)
            from bytes in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), n)
            select string.Join(':', bytes.Select(b => b.ToString("X2")));
        return
            from ufrag in StringOf(IceChars, 4, 40)
            from pwd in StringOf(IceChars, 22, 64)
            from count in Gen.Choose(0, 6)
            from candidates in Gen.ArrayOf(CandidateGen(), count)
            from end in ArbMap.Default.GeneratorFor<bool>()
            from optionCount in Gen.Choose(0, 3)
            from options in Gen.ArrayOf(StringOf(IceChars, 1, 10), optionCount)
            from lite in ArbMap.Default.GeneratorFor<bool>()
            from hasFingerprint in ArbMap.Default.GeneratorFor<bool>()
            from algorithm in Gen.Elements("sha-1", "sha-256", "sha-512")
            from fp in fingerprint
            from setup in Gen.Elements<string?>(null, "actpass", "active", "passive", "holdconn")
            select new IceDescription(new IceCredentials(ufrag, pwd), candidates)
            {
                EndOfCandidates = end,
                Options = options.Distinct().ToArray(),
                IceLite = lite,
                FingerprintAlgorithm = hasFingerprint ? algorithm : null,
                Fingerprint = hasFingerprint ? fp : null,
                Setup = setup,
            };
    }

    public static Arbitrary<IceCandidate> Candidates() => CandidateGen().ToArbitrary();

    public static Arbitrary<IceDescription> Descriptions() => DescriptionGen().ToArbitrary();
}

public class IcePropertyTests
{
    private static readonly string[] Vocabulary =
    [
        "a=candidate:", "candidate:", "a=ice-ufrag:G6op", "a=ice-pwd:zQ15Lb+Fx4X6zn1lTGq24x", "a=ice-options:", "a=fingerprint:",
        "a=setup:", "a=end-of-candidates", "a=ice-lite", "1", "0", "256", "257", "UDP", "tcp", "typ", "host", "srflx", "relay", "prflx",
        "raddr", "rport", "tcptype", "active", "so", "127.0.0.1", "::1", "x.local", "65535", "65536", "4294967296", "-", ":", " ",
        "\n", "\r\n", "\t", "sha-256", "AB:CD", "", "%", "[", "]",
    ];

    [Property(Arbitrary = [typeof(IceArbitraries)], MaxTest = 1000)]
    public bool Any_candidate_round_trips_through_its_attribute_value(IceCandidate candidate)
    {
        if (!IceCandidate.TryParse(candidate.ToAttributeValue(), out var parsed, out var error)) throw new Exception(error + ": " + candidate);
        if (!IceCandidate.TryParse(candidate.ToSdpLine(), out var parsedLine, out error)) throw new Exception(error);
        return parsed.Equals(candidate) && parsedLine.Equals(candidate);
    }

    [Property(Arbitrary = [typeof(IceArbitraries)], MaxTest = 300)]
    public bool Any_description_round_trips_in_both_formats(IceDescription description)
    {
        foreach (var format in new[] { IceDescriptionFormat.Attributes, IceDescriptionFormat.Libnice })
        {
            string text = description.Write(format);
            if (!IceDescription.TryParse(text, out var parsed, out var error)) throw new Exception($"{format}: {error}\n{text}");
            if (!parsed.Equals(description)) return false;
            if (!IceDescription.TryParse(text.Replace("\n", "\r\n"), out parsed, out _) || !parsed.Equals(description)) return false;
        }
        return true;
    }

    [Property(MaxTest = 2000)]
    public void Arbitrary_text_never_throws(string text)
    {
        IceCandidate.TryParse(text, out _, out _);
        IceDescription.TryParse(text, out _, out _);
        IceDescription.TryParse(text, true, out _, out _, out _);
        IceMessages.TryGetUsernameFragments(text, out _, out _);
    }

    [Property(MaxTest = 2000)]
    public void Token_soup_never_throws(int[] picks)
    {
        string text = string.Join(' ', (picks ?? []).Select(p => Vocabulary[(int)((uint)p % Vocabulary.Length)]));
        IceCandidate.TryParse(text, out _, out _);
        IceDescription.TryParse(text, out _, out _);
        IceDescription.TryParse(text.Replace(' ', '\n'), out _, out _);
    }

    [Property(Arbitrary = [typeof(IceArbitraries)], MaxTest = 500)]
    public void Corrupted_descriptions_never_throw(IceDescription description, int position, char value, int cut)
    {
        char[] text = description.Write().ToCharArray();
        text[(int)((uint)position % text.Length)] = value;
        int length = (int)((uint)cut % (text.Length + 1));
        string corrupted = new(text, 0, length);
        IceDescription.TryParse(corrupted, out _, out _);
        foreach (var line in corrupted.Split('\n')) IceCandidate.TryParse(line, out _, out _);
    }

    [Property(MaxTest = 1000)]
    public bool Pair_priority_matches_the_formula(uint g, uint d)
    {
        g &= 0x7FFFFFFF; // candidate priorities are below 2^31
        d &= 0x7FFFFFFF;
        BigInteger expected = BigInteger.Pow(2, 32) * Math.Min(g, d) + 2 * (BigInteger)Math.Max(g, d) + (g > d ? 1 : 0);
        return expected == CandidatePair.ComputePriority(g, d);
    }

    [Property(Arbitrary = [typeof(IceArbitraries)], MaxTest = 300)]
    public bool Check_list_stays_sorted_capped_paired_and_unique(IceCandidate[] locals, IceCandidate[] remotes, bool controlling, bool flip)
    {
        var list = new CheckList(controlling, maxPairs: 10);
        for (int i = 0; i < Math.Max(locals.Length, remotes.Length); i++)
        {
            if (i < locals.Length) list.AddLocal(locals[i] with { Component = 1 + locals[i].Component % 2 });
            if (i < remotes.Length) list.AddRemote(remotes[i] with { Component = 1 + remotes[i].Component % 2 });
        }
        if (flip) list.SetRole(!controlling);
        var pairs = list.Pairs;
        bool sorted = pairs.Zip(pairs.Skip(1)).All(t => t.First.Priority >= t.Second.Priority);
        bool paired = pairs.All(p => CheckList.CanPair(p.Local, p.Remote) && p.Local.Type is CandidateType.Host or CandidateType.Relayed);
        bool unique = pairs.Select(p => (Key(p.Local.Address), Key(p.Remote.Address), p.Local.Transport, p.Local.Component)).Distinct().Count() == pairs.Count;
        bool priorities = pairs.All(p => p.Priority == (list.Controlling
            ? CandidatePair.ComputePriority(p.Local.Priority, p.Remote.Priority)
            : CandidatePair.ComputePriority(p.Remote.Priority, p.Local.Priority)));
        bool oneWaitingPerFoundation = pairs.Where(p => p.State == CandidatePairState.Waiting).GroupBy(p => p.Foundation).All(g => g.Count() == 1);
        return sorted && paired && unique && priorities && pairs.Count <= 10 && oneWaitingPerFoundation;
    }

    private static string Key(IPEndPoint ep) => new IPEndPoint(IceGrammar.Normalize(ep.Address), ep.Port).ToString();
}
