using Akka.Configuration;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Turn;
using Xunit;

namespace P2P.Actors.Tests.Stun;

public sealed class NatDiscoverySettingsTests
{
    [Fact]
    public void The_repository_defaults_are_read()
    {
        var s = NatDiscoverySettings.From(TurnClientSettingsTests.RepoHocon());
        Assert.Equal(TimeSpan.FromMilliseconds(250), s.Answered.Rto);
        Assert.Equal(3, s.Answered.Rc);
        Assert.Equal(TimeSpan.FromMilliseconds(1750), s.Silence.TotalTimeout(reliable: false));
        Assert.Equal(4, s.AllocationSockets);
        Assert.False(s.LifetimeProbe);
        Assert.True(s.Background);
        Assert.True(s.PortPrediction);
        Assert.Equal(TimeSpan.FromSeconds(30), s.CommandTimeout);
    }

    [Theory]
    [InlineData("p2p.stun.nat-discovery.allocation-sockets = 1", "'p2p.stun.nat-discovery.allocation-sockets' must be at least 2")]
    [InlineData("p2p.stun.nat-discovery.lifetime-max = 1s", "'p2p.stun.nat-discovery': lifetime-first-check must be positive and at most lifetime-max")]
    [InlineData("p2p.stun.nat-discovery.silence-rc = 0", "'p2p.stun.nat-discovery': silence-rto, silence-rc, silence-rm: the rto must be positive and the counts at least 1")]
    public void A_bad_value_is_one_sentence(string line, string message)
    {
        var config = ConfigurationFactory.ParseString(line).WithFallback(TurnClientSettingsTests.RepoHocon());
        Assert.Equal(message, Assert.Throws<ConfigurationException>(() => NatDiscoverySettings.From(config)).Message);
    }

    [Fact]
    public void Port_prediction_off_is_read_and_a_missing_section_means_no_background_discovery()
    {
        var off = ConfigurationFactory.ParseString("p2p.ice.port-prediction = off").WithFallback(TurnClientSettingsTests.RepoHocon());
        Assert.False(NatDiscoverySettings.From(off).PortPrediction);
        Assert.Null(NatDiscoverySettings.OrNull(ConfigurationFactory.ParseString("akka.loglevel = INFO")));
    }
}
