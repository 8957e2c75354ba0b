using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Ice;
using P2P.Protocol.Nat;
using P2P.Protocol.Tests.Ice;
using Xunit;

namespace P2P.Protocol.Tests.Nat;

public static class NatArbitraries
{
    public static Gen<NatReport> ReportGen() =>
        from mapping in Gen.Elements(Enum.GetValues<MappingBehavior>())
        from filtering in Gen.Elements(Enum.GetValues<FilteringBehavior>())
        from allocation in Gen.Elements(Enum.GetValues<PortAllocation>())
        from step in Gen.OneOf(Gen.Constant<int?>(null), Gen.Choose(-65535, 65535).Where(s => s != 0).Select(s => (int?)s))
        from hairpin in Gen.Elements<bool?>(null, true, false)
        from life in Gen.OneOf(Gen.Constant<TimeSpan?>(null), Gen.Choose(0, 100_000).Select(s => (TimeSpan?)TimeSpan.FromSeconds(s)))
        from predict in Gen.Elements(true, false)
        from bytes in Gen.Elements(4, 16).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), n))
        from hasIp in Gen.Elements(true, false)
        select new NatReport(mapping, filtering, allocation)
        {
            PortStep = step,
            Hairpinning = hairpin,
            MappingLifetime = life,
            PortPrediction = predict,
            PublicAddress = hasIp ? new IPAddress(bytes) : null,
        };

    public static Arbitrary<NatReport> Reports() => ReportGen().ToArbitrary();
}

public sealed class NatAttributeTests
{
    [Property(Arbitrary = [typeof(NatArbitraries)], MaxTest = 500)]
    public bool Any_report_round_trips_through_the_attribute(NatReport report) =>
        NatAttribute.TryParse(NatAttribute.Format(report), out var parsed, out var error) && error is null && parsed == report;

    [Property(MaxTest = 200)]
    public Property Any_description_with_a_report_round_trips() =>
        Prop.ForAll(IceArbitraries.DescriptionGen().ToArbitrary(), NatArbitraries.Reports(), (description, report) =>
        {
            var withNat = description with { Nat = report };
            var text = withNat.Write();
            return IceDescription.TryParse(text, out var parsed, out var error) ? parsed.Equals(withNat) : throw new Exception($"{error}\n{text}");
        });

    [Fact]
    public void The_documented_example_reads_as_it_says()
    {
        Assert.True(NatAttribute.TryParse("v=1 map=eim filt=apdf alloc=seq step=1 hairpin=1 life=120 predict=1 ip=198.51.100.7", out var r, out _));
        Assert.Equal(new NatReport(MappingBehavior.EndpointIndependent, FilteringBehavior.AddressAndPortDependent, PortAllocation.Sequential)
        {
            PortStep = 1,
            Hairpinning = true,
            MappingLifetime = TimeSpan.FromSeconds(120),
            PortPrediction = true,
            PublicAddress = IPAddress.Parse("198.51.100.7"),
        }, r);
    }

    [Fact]
    public void Unknown_tokens_and_later_versions_are_read_for_what_is_known()
    {
        Assert.True(NatAttribute.TryParse("v=2 map=apdm colour=blue flag alloc=rand", out var r, out _));
        Assert.Equal(MappingBehavior.AddressAndPortDependent, r.Mapping);
        Assert.Equal(PortAllocation.Random, r.Allocation);
        Assert.False(r.PortPrediction);
    }

    [Theory]
    [InlineData("map=cone", "map")]
    [InlineData("filt=", "filt")]
    [InlineData("step=0", "step")]
    [InlineData("hairpin=yes", "hairpin")]
    [InlineData("ip=300.1.1.1", "ip")]
    [InlineData("life=-5", "life")]
    public void A_bad_value_fails_the_line_with_its_token(string value, string key)
    {
        Assert.False(NatAttribute.TryParse(value, out _, out var error));
        Assert.Equal($"a=x-p2p-nat: '{value}' is not a valid value for {key}", error);
        var text = $"a=ice-ufrag:abcd\na=ice-pwd:0123456789012345678901\na=x-p2p-nat:{value}\n";
        Assert.False(IceDescription.TryParse(text, out _, out var descriptionError));
        Assert.Equal(3, descriptionError.LineNumber);
    }

    [Fact]
    public void The_libnice_format_leaves_the_line_out()
    {
        var d = new IceDescription(new IceCredentials("abcd", "0123456789012345678901"), []) { Nat = NatReport.Unknown };
        Assert.Contains("a=x-p2p-nat:v=1 map=unknown filt=unknown alloc=unknown predict=0\n", d.Write());
        Assert.DoesNotContain("x-p2p-nat", d.Write(IceDescriptionFormat.Libnice));
    }
}
