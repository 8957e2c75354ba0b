using Akka.Configuration;
using P2P.Actors.Ice;
using P2P.Actors.Turn;
using Xunit;

namespace P2P.Actors.Tests.Turn;

public sealed class TurnClientSettingsTests
{
    /// <summary>The repository's akka.hocon: copied next to the test binaries, else found by walking up.</summary>
    internal static Config RepoHocon()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, "akka.hocon");
            if (File.Exists(file)) return ConfigurationFactory.ParseString(File.ReadAllText(file));
        }
        throw new FileNotFoundException("akka.hocon not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Settings_from_akka_hocon_match_the_rfc_defaults()
    {
        var settings = TurnClientSettings.From(RepoHocon());

        Assert.Equal(TurnClientSettings.Default, settings);
        Assert.Equal(TimeSpan.FromMilliseconds(39_500), settings.Retransmission.TotalTimeout(reliable: false));
        Assert.True(settings.PermissionRefreshInterval < TimeSpan.FromSeconds(300));
        Assert.True(settings.ChannelRefreshInterval < TimeSpan.FromSeconds(600));
    }

    [Fact]
    public void Missing_section_is_a_configuration_error_naming_it()
    {
        var error = Assert.Throws<ConfigurationException>(() => TurnClientSettings.From(ConfigurationFactory.ParseString("p2p.stun.rto = 500ms")));
        Assert.Contains("p2p.turn-client", error.Message);
    }

    [Fact]
    public void Values_can_be_overridden()
    {
        var config = ConfigurationFactory.ParseString("p2p.turn-client { rto = 100ms, rc = 3, max-stale-nonce-retries = 1 }").WithFallback(RepoHocon());
        var settings = TurnClientSettings.From(config);
        Assert.Equal(TimeSpan.FromMilliseconds(100), settings.Retransmission.Rto);
        Assert.Equal(3, settings.Retransmission.Rc);
        Assert.Equal(1, settings.MaxStaleNonceRetries);
    }
}
