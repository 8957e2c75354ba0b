using System.Net;
using Akka.Configuration;
using P2P.Actors.Signaling;
using Xunit;

namespace P2P.Actors.Tests.Signaling;

public sealed class SignalSettingsTests
{
    private static Config RepoHocon() => ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "akka.hocon")));

    [Fact]
    public void Akka_hocon_and_the_code_defaults_agree()
    {
        var settings = SignalSettings.From(RepoHocon());
        Assert.Equal(SignalSettings.Default, settings);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8090), settings.Listen);
        Assert.Equal(65536, settings.MaxMessageBytes);
        Assert.True(settings.ClientWarmUp);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.ClientWarmUpTimeout);
    }

    [Fact]
    public void The_client_warm_up_can_be_turned_off()
    {
        var settings = SignalSettings.From(ConfigurationFactory.ParseString("p2p.signal.client-warm-up = off").WithFallback(RepoHocon()));
        Assert.False(settings.ClientWarmUp);
    }

    [Theory]
    [InlineData("p2p.signal.listen = \"localhost\"")]
    [InlineData("p2p.signal.listen = \"127.0.0.1\"")]
    [InlineData("p2p.signal.max-message-bytes = 10")]
    [InlineData("p2p.signal.close-timeout = 0s")]
    [InlineData("p2p.signal.client-warm-up-timeout = 0s")]
    [InlineData("p2p.signal.reconnect-backoff-max = 100ms")]
    [InlineData("p2p.signal.rejoin-grace = 0s")]
    [InlineData("p2p.signal.join-retry = 0s")]
    public void A_bad_value_is_refused_with_a_sentence(string hocon)
    {
        var e = Assert.Throws<ConfigurationException>(() => SignalSettings.From(ConfigurationFactory.ParseString(hocon).WithFallback(RepoHocon())));
        Assert.StartsWith("p2p.signal", e.Message);
    }

    [Theory]
    [InlineData("127.0.0.1:0", "127.0.0.1:0")]
    [InlineData("[::1]:8090", "[::1]:8090")]
    [InlineData(" 0.0.0.0:80 ", "0.0.0.0:80")]
    public void Listen_addresses_need_a_port(string text, string expected)
    {
        Assert.True(SignalSettings.TryParseEndPoint(text, out var endPoint));
        Assert.Equal(expected, endPoint.ToString());
        Assert.False(SignalSettings.TryParseEndPoint("::1", out _));
        Assert.False(SignalSettings.TryParseEndPoint("example.org:80", out _));
    }
}
