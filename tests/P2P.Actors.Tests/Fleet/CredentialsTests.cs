using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Akka.TestKit.Xunit2;
using P2P.Actors.Tests.Relay;
using P2P.Actors.Tests.Support;
using P2P.Actors.Tests.Turn;
using P2P.Actors.Transport;
using P2P.Actors.Turn;
using P2P.Protocol.Turn;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;

namespace P2P.Actors.Tests.Fleet;

/// <summary>
/// Credentials that fit a fleet: the TURN REST API's time-limited usernames, minted with a shared secret by whoever
/// holds it (a `p2p signal`) and checked by every relay with the same secret. Our client against coturn configured
/// that way, coturn's client against our relay, and real processes end to end.
/// </summary>
[Trait("Category", "Fleet")]
public sealed class CredentialsTests : TestKit
{
    private readonly ITestOutputHelper _output;

    public CredentialsTests(ITestOutputHelper output) : base(string.Empty, output) => _output = output;

    private const string Secret = "fleet-secret";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    private static (string User, string Password) Mint(string user, TimeSpan fromNow) =>
        TurnRestCredentials.Mint(Encoding.UTF8.GetBytes(Secret), user, DateTimeOffset.UtcNow.Add(fromNow).ToUnixTimeSeconds());

    private object AllocateOn(IPEndPoint server, string user, string password)
    {
        var owner = CreateTestProbe();
        var settings = TurnClientSettings.From(TurnClientSettingsTests.RepoHocon());
        var credentials = new TurnCredentials(user, password);
        Sys.ActorOf(UdpSocketHost.Props(new IPEndPoint(IPAddress.Loopback, 0), server,
            socket => TurnClient.Props(settings, server, credentials, socket, owner.Ref), owner.Ref));
        owner.ExpectMsg<UdpSocketProtocol.Bound>(Wait);
        return owner.FishForMessage(m => m is AllocationSucceeded or AllocationFailed, Wait);
    }

    [Fact]
    public async Task Our_turn_client_allocates_on_coturn_with_rest_credentials_and_an_expired_username_is_refused()
    {
        await using var coturn = await CoturnServer.StartAsync(new CoturnOptions { AuthSecret = Secret });
        try
        {
            var (user, password) = Mint("alice", TimeSpan.FromHours(1));
            var allocated = Assert.IsType<AllocationSucceeded>(AllocateOn(coturn.EndPoint, user, password));
            Assert.Equal(IPAddress.Loopback, allocated.Relayed.Address);
            var (late, latePassword) = Mint("alice", TimeSpan.FromSeconds(-10));
            var refused = Assert.IsType<AllocationFailed>(AllocateOn(coturn.EndPoint, late, latePassword));
            Assert.Equal(401, refused.Code);
            var (wrong, _) = Mint("mallory", TimeSpan.FromHours(1));
            Assert.Equal(401, Assert.IsType<AllocationFailed>(AllocateOn(coturn.EndPoint, wrong, "not-the-password")).Code);
        }
        finally
        {
            _output.WriteLine(coturn.Log);
        }
    }

    [Fact]
    public async Task Turnutils_uclient_with_the_secret_relays_through_our_relay_without_loss()
    {
        await using var relay = await RelayProcess.Start("--auth-secret", Secret, "--allow-loopback");
        // -W: the TURN REST API secret; uclient makes "expiry:user" itself (coturn's client, not ours)
        var (lost, sent, received, _) = await TurnutilsUclient.RunAsync(relay.UdpPort, ["-u", "uclient", "-W", Secret], ["-c"], _output.WriteLine);
        _output.WriteLine($"relay:\n{relay.Output}");
        Assert.Equal(0, lost);
        Assert.Equal(200, sent);
        Assert.Equal(200, received);
        // the relay saw REST usernames: "<expiry>:uclient"
        Assert.Matches(@"Allocation .* for \d+:uclient relays on", relay.Output);
    }

    [Fact]
    public async Task Two_relay_only_chats_connect_through_a_relay_with_the_credentials_their_signaling_server_handed_out()
    {
        await using var relay = await RelayProcess.Start("--auth-secret", Secret, "--allow-loopback");
        await using var signal = P2pProcess.Start("signal", "--listen", "127.0.0.1:0", "--auth-secret", Secret,
            "--turn-url", $"turn:127.0.0.1:{relay.UdpPort}?transport=udp", "--turn-url", $"stun:127.0.0.1:{relay.UdpPort}");
        var listening = await signal.WaitForLineAsync(l => l.StartsWith("signal listening on ws://127.0.0.1:", StringComparison.Ordinal), Wait);
        var url = listening["signal listening on ".Length..].Trim();
        string[] chat = ["--signal", url, "--room", "handed-out", "--relay-only", "--stun", "none", "--local-address", "127.0.0.1"];
        await using var alice = P2pProcess.Start(chat);
        await alice.WaitForLineAsync(l => l.StartsWith("Joined; waiting", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
        await using var bob = P2pProcess.Start(chat);
        try
        {
            foreach (var side in new[] { alice, bob })
            {
                var using_ = await side.WaitForLineAsync(l => l.StartsWith("Using the TURN server", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
                Assert.Contains($"127.0.0.1:{relay.UdpPort}", using_);
                await side.WaitForLineAsync(l => l == "Connected", Wait);
                Assert.Contains("relay", await side.WaitForLineAsync(l => l.StartsWith("Connected over", StringComparison.Ordinal), Wait, NicePeerStream.Stderr));
            }
            await alice.WriteLineAsync("through the handed-out relay");
            await bob.WaitForLineAsync(l => l == "Received: through the handed-out relay", Wait);
            await bob.WriteLineAsync("and back");
            await alice.WaitForLineAsync(l => l == "Received: and back", Wait);
            // each peer allocated with a username of its own: "<expiry>:<random id>", never typed by anyone
            var users = Regex.Matches(relay.Output, @"Allocation .* for (\d+:[0-9a-f]{16}) relays on").Select(m => m.Groups[1].Value).Distinct().ToList();
            Assert.Equal(2, users.Count);
            long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            Assert.All(users, u => Assert.InRange(long.Parse(u[..u.IndexOf(':')]), now + 12 * 3600 - 120, now + 12 * 3600 + 120));
        }
        finally
        {
            _output.WriteLine(alice.Transcript);
            _output.WriteLine(bob.Transcript);
            _output.WriteLine(signal.Transcript);
            _output.WriteLine(relay.Output);
        }
    }

    [Fact]
    public async Task A_relay_only_chat_whose_signaling_server_hands_out_no_turn_server_says_so_and_exits()
    {
        await using var signal = P2pProcess.Start("signal", "--listen", "127.0.0.1:0");
        var listening = await signal.WaitForLineAsync(l => l.StartsWith("signal listening on ws://127.0.0.1:", StringComparison.Ordinal), Wait);
        await using var chat = P2pProcess.Start("--signal", listening["signal listening on ".Length..].Trim(), "--room", "none-handed-out", "--relay-only",
            "--stun", "none", "--local-address", "127.0.0.1");
        var sentence = await chat.WaitForLineAsync(l => l.StartsWith("p2p: ", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
        Assert.Equal("p2p: --relay-only, but the signaling server handed out no TURN server (and no --turn was given), so there is no relay to use.", sentence);
        Assert.Equal(1, await chat.WaitForExitAsync(Wait));
    }
}
