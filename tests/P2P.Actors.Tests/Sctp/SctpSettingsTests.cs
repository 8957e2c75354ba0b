using Akka.Configuration;
using P2P.Actors.Sctp;
using P2P.Actors.Tests.Turn;
using Xunit;

namespace P2P.Actors.Tests.Sctp;

public sealed class SctpSettingsTests
{
    [Fact]
    public void Settings_from_the_repository_hocon_are_the_defaults()
    {
        Assert.Equal(SctpSettings.Default, SctpSettings.From(TurnClientSettingsTests.RepoHocon()));
    }

    [Fact]
    public void Contradictory_settings_are_refused()
    {
        var bad = ConfigurationFactory.ParseString("p2p.sctp { max-message-size = 99999999 }").WithFallback(TurnClientSettingsTests.RepoHocon());
        Assert.Throws<ConfigurationException>(() => SctpSettings.From(bad));
        Assert.Throws<ConfigurationException>(() => (SctpSettings.Default with { RtoMin = TimeSpan.FromSeconds(1) }).Validate());
    }
}
