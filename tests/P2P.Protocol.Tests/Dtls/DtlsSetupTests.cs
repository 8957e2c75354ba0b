using P2P.Protocol.Dtls;
using Xunit;

namespace P2P.Protocol.Tests.Dtls;

public class DtlsSetupTests
{
    [Theory]
    // offerer (actpass) and an answerer that picked active: the answerer is the client (RFC 5763 §5)
    [InlineData(SetupAttribute.ActPass, SetupAttribute.Active, true, DtlsRole.Server)]
    [InlineData(SetupAttribute.Active, SetupAttribute.ActPass, false, DtlsRole.Client)]
    // answerer picked passive: the offerer is the client
    [InlineData(SetupAttribute.ActPass, SetupAttribute.Passive, true, DtlsRole.Client)]
    [InlineData(SetupAttribute.Passive, SetupAttribute.ActPass, false, DtlsRole.Server)]
    // a later offer with a fixed role (RFC 8842 §5.4)
    [InlineData(SetupAttribute.Active, SetupAttribute.Passive, true, DtlsRole.Client)]
    [InlineData(SetupAttribute.Passive, SetupAttribute.Active, false, DtlsRole.Server)]
    [InlineData(SetupAttribute.Passive, SetupAttribute.Active, true, DtlsRole.Server)]
    public void Resolves_the_role_from_both_setup_values(SetupAttribute local, SetupAttribute remote, bool isOfferer, DtlsRole expected)
    {
        Assert.True(DtlsSetup.TryResolveRole(local, remote, isOfferer, out var role, out var error), error);
        Assert.Equal(expected, role);
        Assert.Equal(expected, DtlsSetup.ResolveRole(local, remote, isOfferer));
    }

    [Theory]
    [InlineData(SetupAttribute.ActPass, SetupAttribute.ActPass, true, "must pick active or passive")]
    [InlineData(SetupAttribute.ActPass, SetupAttribute.ActPass, false, "must pick active or passive")]
    [InlineData(SetupAttribute.Active, SetupAttribute.Active, true, "both sides say a=setup:active")]
    [InlineData(SetupAttribute.Passive, SetupAttribute.Passive, false, "both sides say a=setup:passive")]
    [InlineData(SetupAttribute.ActPass, SetupAttribute.HoldConn, true, "holdconn")]
    public void Refuses_values_that_do_not_fit(SetupAttribute local, SetupAttribute remote, bool isOfferer, string reason)
    {
        Assert.False(DtlsSetup.TryResolveRole(local, remote, isOfferer, out _, out var error));
        Assert.Contains(reason, error);
        Assert.Throws<ArgumentException>(() => DtlsSetup.ResolveRole(local, remote, isOfferer));
    }

    [Fact]
    public void Both_ends_of_a_negotiation_get_opposite_roles()
    {
        foreach (var offer in new[] { SetupAttribute.ActPass, SetupAttribute.Active, SetupAttribute.Passive })
        {
            Assert.True(DtlsSetup.TryAnswer(offer, out var answer));
            var offerer = DtlsSetup.ResolveRole(offer, answer, isOfferer: true);
            var answerer = DtlsSetup.ResolveRole(answer, offer, isOfferer: false);
            Assert.NotEqual(offerer, answerer);
        }
        Assert.True(DtlsSetup.TryAnswer(SetupAttribute.ActPass, out var recommended));
        Assert.Equal(SetupAttribute.Active, recommended); // RFC 5763 §5: active is RECOMMENDED
        Assert.False(DtlsSetup.TryAnswer(SetupAttribute.HoldConn, out _));
    }

    [Theory]
    [InlineData("actpass", SetupAttribute.ActPass)]
    [InlineData("ACTIVE", SetupAttribute.Active)]
    [InlineData(" passive ", SetupAttribute.Passive)]
    [InlineData("holdconn", SetupAttribute.HoldConn)]
    public void Parses_and_formats_the_attribute(string text, SetupAttribute expected)
    {
        Assert.True(DtlsSetup.TryParse(text, out var setup));
        Assert.Equal(expected, setup);
        Assert.Equal(text.Trim().ToLowerInvariant(), DtlsSetup.Format(setup));
        Assert.False(DtlsSetup.TryParse("both", out _));
    }
}
