using Akka.Configuration;
using P2P.Actors.Ice;
using Xunit;

namespace P2P.Actors.Tests.Ice;

/// <summary>p2p.ice.port-prediction as akka.hocon has it, and as a user turns it off.</summary>
public sealed class PortPredictionSettingsTests
{
    private static Config RepoHocon() => ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "akka.hocon")));

    [Fact]
    public void Akka_hocon_holds_the_defaults_of_the_code()
    {
        Assert.Equal(PortPredictionSettings.Default, PortPredictionSettings.From(RepoHocon()));
    }

    [Theory]
    [InlineData("p2p.ice.port-prediction = off", false)]
    [InlineData("p2p.ice.port-prediction = on", true)]
    [InlineData("p2p.ice.port-prediction.enabled = off", false)]
    public void The_block_or_a_single_word_turns_it_on_or_off(string line, bool enabled)
    {
        var settings = PortPredictionSettings.From(ConfigurationFactory.ParseString(line).WithFallback(RepoHocon()));
        Assert.Equal(enabled, settings.Enabled);
        Assert.Equal(PortPredictionSettings.Default.Sockets, settings.Sockets);
    }

    [Theory]
    [InlineData("P2P__ICE__PORT_PREDICTION", "off")]
    [InlineData("P2P__ICE__PORT_PREDICTION__ENABLED", "off")]
    public void An_environment_variable_of_the_p2p_program_turns_it_off(string variable, string value)
    {
        var config = P2P.Host.Hosting.P2PHostBuilder.LoadConfig(null, new System.Collections.Hashtable { [variable] = value });
        Assert.False(PortPredictionSettings.From(config).Enabled);
    }

    [Theory]
    [InlineData("p2p.ice.port-prediction = maybe", "say on or off")]
    [InlineData("p2p.ice.port-prediction.sockets = 0", "sockets and sequential-sockets must be 1 to 4096")]
    [InlineData("p2p.ice.port-prediction.packets-per-second = 100000", "packets-per-second must be 1 to 10000")]
    public void A_bad_value_is_refused_with_a_reason(string line, string reason)
    {
        var e = Assert.Throws<ConfigurationException>(() => PortPredictionSettings.From(ConfigurationFactory.ParseString(line).WithFallback(RepoHocon())));
        Assert.Contains(reason, e.Message);
    }
}
