using Xunit;
using System.Net;
using Akka.Configuration;
using P2P.Actors.Relay;

namespace P2P.Actors.Tests.Relay;

public sealed class RelaySettingsTests
{
    private static Config RepoHocon()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "akka.hocon");
        Assert.True(File.Exists(path), $"akka.hocon should be copied next to the tests ({path})");
        return ConfigurationFactory.ParseString(File.ReadAllText(path));
    }

    [Fact]
    public void Defaults_from_akka_hocon_follow_the_rfcs()
    {
        var s = RelaySettings.From(RepoHocon());
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 3478), Assert.Single(s.Listen));
        Assert.Equal("p2p", s.Realm);
        Assert.Empty(s.Users);
        Assert.False(s.TurnEnabled);
        Assert.False(s.AllowLoopback);
        Assert.False(s.AllowPrivate);
        Assert.Equal(TimeSpan.FromSeconds(600), s.DefaultLifetime);
        Assert.Equal(TimeSpan.FromSeconds(3600), s.MaxLifetime);
        Assert.Equal(TimeSpan.FromSeconds(300), s.PermissionLifetime);
        Assert.Equal(TimeSpan.FromSeconds(600), s.ChannelLifetime);
        Assert.Equal((49152, 65535), (s.MinPort, s.MaxPort));
        Assert.True(RepoHocon().HasPath("p2p.stun.rto"), "the p2p.stun section is kept");
    }

    [Fact]
    public void Values_are_read_and_bad_ones_are_refused()
    {
        var config = ConfigurationFactory.ParseString("""
            p2p.relay { listen = ["[::1]:5000", "127.0.0.1:5001"], users = ["a:b:c"], realm = r, min-port = 6000, max-port = 6010, nonce-lifetime = 2s }
            """).WithFallback(RepoHocon());
        var s = RelaySettings.From(config);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 5000), s.Listen[0]);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5001), s.Listen[1]);
        Assert.Equal("b:c", s.Users["a"]);
        Assert.Equal(TimeSpan.FromSeconds(2), s.NonceLifetime);
        Assert.Throws<ConfigurationException>(() => RelaySettings.From(ConfigurationFactory.ParseString("p2p.relay.min-port = 7000, p2p.relay.max-port = 6000").WithFallback(RepoHocon())));
        Assert.Throws<ConfigurationException>(() => RelaySettings.From(ConfigurationFactory.ParseString("p2p.relay.listen = [\"nonsense\"]").WithFallback(RepoHocon())));
    }

    [Theory]
    [InlineData("127.0.0.1:3478", "127.0.0.1", 3478)]
    [InlineData("[::1]:3479", "::1", 3479)]
    [InlineData("10.0.0.1", "10.0.0.1", 3478)]
    [InlineData("::1", "::1", 3478)]
    [InlineData("0.0.0.0:0", "0.0.0.0", 0)]
    public void Endpoints_parse(string text, string ip, int port)
    {
        Assert.True(RelaySettings.TryParseEndPoint(text, out var ep, out _));
        Assert.Equal(new IPEndPoint(IPAddress.Parse(ip), port), ep);
    }

    [Theory]
    [InlineData("localhost:3478")]
    [InlineData("127.0.0.1:99999")]
    [InlineData("")]
    public void Bad_endpoints_do_not_parse(string text) => Assert.False(RelaySettings.TryParseEndPoint(text, out _, out _));

    [Fact]
    public void Nonces_are_stateless_signed_and_expire()
    {
        using var nonces = new RelayNonces(TimeSpan.FromSeconds(10));
        var now = DateTimeOffset.UtcNow;
        var client = new FiveTuple(ClientTransport.Udp, new IPEndPoint(IPAddress.Loopback, 40000), new IPEndPoint(IPAddress.Loopback, 3478));
        var nonce = nonces.Create(now, client);
        Assert.StartsWith(P2P.Protocol.Stun.NonceCookie.Prefix, nonce);
        Assert.Equal(NonceCheck.Valid, nonces.Check(nonce, now.AddSeconds(9), client));
        Assert.Equal(NonceCheck.Stale, nonces.Check(nonce, now.AddSeconds(11), client));
        Assert.Equal(NonceCheck.Invalid, nonces.Check(nonce, now, client with { Client = new IPEndPoint(IPAddress.Parse("127.0.0.2"), 40000) }));
        Assert.Equal(NonceCheck.Invalid, nonces.Check(nonce[..^2] + "AA", now, client));
        using var other = new RelayNonces(TimeSpan.FromSeconds(10));
        Assert.Equal(NonceCheck.Invalid, other.Check(nonce, now, client));
    }
}
