using Akka.Configuration;
using P2P.Actors.Chat;
using P2P.Actors.Tests.Turn;
using Xunit;

namespace P2P.Actors.Tests.Chat;

public sealed class ChatSettingsTests
{
    [Fact]
    public void Settings_from_the_repository_hocon_are_the_defaults()
    {
        Assert.Equal(ChatSettings.Default, ChatSettings.From(TurnClientSettingsTests.RepoHocon()));
    }

    [Fact]
    public void A_download_folder_is_taken_as_given_and_bad_values_are_refused()
    {
        var folder = ConfigurationFactory.ParseString("p2p.chat { download-folder = \"/srv/inbox\", window = 4 }").WithFallback(TurnClientSettingsTests.RepoHocon());
        Assert.Equal(ChatSettings.Default with { DownloadFolder = "/srv/inbox", Window = 4 }, ChatSettings.From(folder));
        var bad = ConfigurationFactory.ParseString("p2p.chat { chunk-size = 10 }").WithFallback(TurnClientSettingsTests.RepoHocon());
        Assert.Throws<ConfigurationException>(() => ChatSettings.From(bad));
        Assert.Throws<ConfigurationException>(() => (ChatSettings.Default with { Window = 0 }).Validate());
        Assert.Throws<ConfigurationException>(() => (ChatSettings.Default with { AckEvery = 0 }).Validate());
    }
}
