using System.Net;
using System.Text;
using Akka.TestKit.Xunit2;
using P2P.Actors.Signaling;
using P2P.Host.Chat;
using P2P.Host.Signal;
using P2P.Protocol.Turn;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Signaling;

/// <summary>The iceServers of a joined message: its JSON both ways, what the server hands out, and what a peer makes of it.</summary>
public sealed class SignalIceServersTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly SignalIceServerSettings Handout = new()
    {
        Urls = ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"],
        AuthSecret = "fleet-secret",
        CredentialTtl = TimeSpan.FromHours(12),
    };

    private static SignalMessage Parse(string json)
    {
        Assert.True(SignalMessage.TryParse(Encoding.UTF8.GetBytes(json), out var message, out var error), error);
        return message;
    }

    private static string ParseError(string json)
    {
        Assert.False(SignalMessage.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error));
        return error;
    }

    [Fact]
    public void A_joined_message_with_ice_servers_round_trips_in_the_RTCIceServer_shape()
    {
        var servers = new[]
        {
            new SignalIceServer(["stun:127.0.0.1:3478"], null, null),
            new SignalIceServer(["turn:127.0.0.1:3478?transport=udp", "turns:relay.example:5349"], "1700000000:ab12", "g+jb180fcj+xlpA/2mP60OdIgU0="),
        };
        var joined = SignalMessage.Joined("r", true, 1) with { IceServers = servers };
        var json = Encoding.UTF8.GetString(joined.ToUtf8());
        Assert.Contains("\"iceServers\":[{\"urls\":[\"stun:127.0.0.1:3478\"]},{\"urls\":[\"turn:127.0.0.1:3478?transport=udp\",\"turns:relay.example:5349\"],\"username\":\"1700000000:ab12\",\"credential\":\"g+jb180fcj+xlpA/2mP60OdIgU0=\"}]", json);
        var back = Parse(json);
        Assert.Equal(servers, back.IceServers);
    }

    [Fact]
    public void Urls_may_be_one_string_as_in_RTCIceServer()
    {
        var message = Parse("""{"type":"joined","room":"r","iceServers":[{"urls":"stun:10.0.0.1"}]}""");
        Assert.Equal("stun:10.0.0.1", Assert.Single(Assert.Single(message.IceServers!).Urls));
        Assert.Null(Parse("""{"type":"joined","room":"r"}""").IceServers);
    }

    [Theory]
    [InlineData("""{"iceServers":{}}""", "\"iceServers\" is not an array")]
    [InlineData("""{"iceServers":[5]}""", "iceServers[0] is not an object")]
    [InlineData("""{"iceServers":[{"username":"u"}]}""", "iceServers[0] has no \"urls\"")]
    [InlineData("""{"iceServers":[{"urls":[]}]}""", "iceServers[0].urls is empty")]
    [InlineData("""{"iceServers":[{"urls":[1]}]}""", "iceServers[0].urls holds something that is not a string")]
    [InlineData("""{"iceServers":[{"urls":"stun:a"},{"urls":"http://x"}]}""", "iceServers[1].urls: 'http://x' is not a stun:, stuns:, turn: or turns: URL")]
    [InlineData("""{"iceServers":[{"urls":"turn:a","username":"u"}]}""", "iceServers[0] has a TURN URL but no \"username\" and \"credential\"")]
    [InlineData("""{"iceServers":[{"urls":"turn:a","username":"u","credential":7}]}""", "iceServers[0].credential is not a string")]
    public void A_bad_entry_is_an_error_that_names_it(string iceServers, string expected)
    {
        var json = "{\"type\":\"joined\",\"room\":\"r\"," + iceServers[1..];
        Assert.Equal(expected, ParseError(json));
    }

    [Fact]
    public void The_handout_gives_stun_urls_bare_and_turn_urls_with_fresh_rest_credentials()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        var list = Handout.HandOut(now, out var user)!;
        Assert.Equal(2, list.Count);
        Assert.Equal(new SignalIceServer(["stun:127.0.0.1:3478"], null, null), list[0]);
        var turn = list[1];
        Assert.Equal(["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"], turn.Urls);
        Assert.Equal($"{1_700_000_000 + 12 * 3600}:{user}", turn.Username);
        Assert.Matches("^[0-9a-f]{16}$", user);
        var secret = Encoding.UTF8.GetBytes("fleet-secret");
        Assert.Equal(TurnRestCheck.Valid, TurnRestCredentials.Check(secret, turn.Username!, 1_700_000_000 + 12 * 3600, out var password));
        Assert.Equal(password, turn.Credential);
        Assert.NotEqual(user, (Handout.HandOut(now, out var other), other).other); // a random id per joined message
        Assert.Null(SignalIceServerSettings.None.HandOut(now, out _));
    }

    [Theory]
    [InlineData(new[] { "turn:127.0.0.1:3478" }, "", "needs the relays' shared secret")]
    [InlineData(new[] { "stun:127.0.0.1" }, "s", "needs at least one TURN URL")]
    [InlineData(new[] { "http://127.0.0.1" }, "s", "is not a stun:, stuns:, turn: or turns: URL")]
    [InlineData(new[] { "turn:" }, "s", "is not a stun:, stuns:, turn: or turns: URL")]
    public void Settings_that_cannot_hand_out_anything_useful_are_refused(string[] urls, string secret, string expected)
    {
        Assert.Contains(expected, new SignalIceServerSettings { Urls = urls, AuthSecret = secret }.Validate());
        Assert.Null(Handout.Validate());
    }

    [Fact]
    public async Task The_server_hands_each_joined_peer_its_own_credentials()
    {
        await using var server = await SignalServer.StartAsync(Sys, new IPEndPoint(IPAddress.Loopback, 0), SignalSettings.Default with { IceServers = Handout });
        var (alice, aliceJoined) = await SignalTestSocket.JoinAsync(server.Url, "room", "alice");
        var (bob, bobJoined) = await SignalTestSocket.JoinAsync(server.Url, "room", "bob");
        await using (alice)
        await using (bob)
        {
            var aliceServers = Parse(aliceJoined.GetRawText()).IceServers!;
            var bobServers = Parse(bobJoined.GetRawText()).IceServers!;
            Assert.Equal(2, aliceServers.Count);
            Assert.NotEqual(aliceServers[1].Username, bobServers[1].Username);
            long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            Assert.True(TurnRestCredentials.TryParse(aliceServers[1].Username!, out long expiry, out _));
            Assert.InRange(expiry, now + 12 * 3600 - 60, now + 12 * 3600 + 60);
            Assert.Equal(TurnRestCheck.Valid, TurnRestCredentials.Check(Encoding.UTF8.GetBytes("fleet-secret"), bobServers[1].Username!, now, out var password));
            Assert.Equal(password, bobServers[1].Credential);
        }
    }

    [Fact]
    public async Task A_peer_takes_the_turn_urls_with_their_credentials_and_leaves_stun_out()
    {
        var list = Handout.HandOut(DateTimeOffset.UtcNow, out _)!;
        var (turn, problems) = await HandedOutServers.ResolveAsync([.. list, new SignalIceServer(["turn:[::1"], "u", "p")], CancellationToken.None);
        Assert.Equal(2, turn.Count);
        Assert.All(turn, t => Assert.Equal(new IPEndPoint(IPAddress.Loopback, 3478), t.Server));
        Assert.Equal([P2P.Actors.Turn.TurnTransport.Udp, P2P.Actors.Turn.TurnTransport.Tcp], turn.Select(t => t.Transport));
        Assert.All(turn, t => Assert.Equal(list[1].Username, t.Credentials.Username));
        Assert.Contains("a bracketed host must be an IPv6 address", Assert.Single(problems));
    }

    [Theory]
    [InlineData("turn:relay.example", false, "relay.example", 3478, false)]
    [InlineData("turn:127.0.0.1:3479?transport=tcp", false, "127.0.0.1", 3479, true)]
    [InlineData("turns:[::1]", true, "::1", 5349, true)]
    [InlineData("TURN:h:1?transport=UDP", false, "h", 1, false)]
    public void Turn_uris_of_rfc_7065_are_read(string text, bool secure, string host, int port, bool tcp)
    {
        Assert.True(TurnUri.TryParse(text, out var uri, out var error), error);
        Assert.Equal(new TurnUri(secure, host, port, tcp), uri);
    }

    [Theory]
    [InlineData("stun:h", "is not a turn: or turns: URI")]
    [InlineData("turns:h?transport=udp", "TURN over DTLS")]
    [InlineData("turn:h:0", "the port must be a number between 1 and 65535")]
    [InlineData("turn:h?x=1", "the only query RFC 7065 allows")]
    [InlineData("turn::3478", "is not a host name or address")]
    public void Bad_turn_uris_say_why(string text, string expected)
    {
        Assert.False(TurnUri.TryParse(text, out _, out var error));
        Assert.Contains(expected, error);
    }
}
