using System.Text;
using Akka.Event;
using P2P.Actors.Relay;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>The relay's TURN REST API users (<c>--auth-secret</c>): time-limited usernames checked with a shared secret.</summary>
public sealed class RelayRestCredentialsTests(ITestOutputHelper output) : RelayTestBase(output)
{
    private const string Secret = "fleet-secret";

    private static RelaySettings WithSecrets(params string[] secrets) => Settings with { AuthSecrets = secrets };

    private static (string User, string Password) Mint(string secret, string user, TimeSpan fromNow) =>
        TurnRestCredentials.Mint(Encoding.UTF8.GetBytes(secret), user, DateTimeOffset.UtcNow.Add(fromNow).ToUnixTimeSeconds());

    [Fact]
    public async Task A_username_minted_with_the_shared_secret_allocates_and_the_allocation_carries_the_whole_username()
    {
        var relay = await StartRelay(WithSecrets(Secret));
        var (user, password) = Mint(Secret, "room-peer", TimeSpan.FromHours(1));
        await using var client = TurnTestClient.Udp(relay.Udp, user, password);
        await AllocateOk(client);
        Assert.Equal(user, Assert.Single(await Allocations(relay)).User);
        // the static users keep working alongside
        await using var alice = Alice(relay);
        await AllocateOk(alice);
        Assert.Equal(2, (await Stats(relay)).Users);
    }

    [Fact]
    public async Task An_expired_username_gets_401_a_log_line_and_is_counted()
    {
        var relay = await StartRelay(WithSecrets(Secret));
        var (user, password) = Mint(Secret, "late", TimeSpan.FromSeconds(-5));
        await using var client = TurnTestClient.Udp(relay.Udp, user, password);
        StunReply reply = null!;
        await EventFilter.Info(contains: "expired at").ExpectOneAsync(async () => reply = await client.Allocate());
        Assert.Equal(401, reply.ErrorCode);
        Assert.Empty(await Allocations(relay));
        var stats = await Stats(relay);
        Assert.Equal(1, stats.ExpiredCredentials);
        Assert.Equal(1, stats.AuthFailures);
        Assert.True(stats.RefusedByCode[401] >= 2); // the challenge, then the refusal
    }

    [Fact]
    public async Task A_username_minted_with_another_secret_gets_401()
    {
        var relay = await StartRelay(WithSecrets(Secret));
        var (user, password) = Mint("not-the-secret", "mallory", TimeSpan.FromHours(1));
        await using var client = TurnTestClient.Udp(relay.Udp, user, password);
        Assert.Equal(401, (await client.Allocate()).ErrorCode);
        Assert.Empty(await Allocations(relay));
        Assert.Equal(0, (await Stats(relay)).ExpiredCredentials);
    }

    [Fact]
    public async Task Either_of_two_secrets_is_accepted_while_they_rotate()
    {
        var relay = await StartRelay(WithSecrets("old-secret", "new-secret"));
        foreach (var secret in new[] { "old-secret", "new-secret" })
        {
            var (user, password) = Mint(secret, secret, TimeSpan.FromHours(1));
            await using var client = TurnTestClient.Udp(relay.Udp, user, password);
            await AllocateOk(client);
        }
        Assert.Equal(2, (await Allocations(relay)).Count);
    }

    [Fact]
    public async Task The_quota_counts_per_whole_username()
    {
        var relay = await StartRelay(WithSecrets(Secret) with { UserQuota = 1 });
        var expiry = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        var (first, firstPassword) = TurnRestCredentials.Mint(Encoding.UTF8.GetBytes(Secret), "same-user", expiry);
        await using var a = TurnTestClient.Udp(relay.Udp, first, firstPassword);
        await AllocateOk(a);
        await using var b = TurnTestClient.Udp(relay.Udp, first, firstPassword);
        Assert.Equal(486, (await b.Allocate()).ErrorCode);
        // the same user part with another expiry is another username, so another quota (as coturn counts)
        var (second, secondPassword) = TurnRestCredentials.Mint(Encoding.UTF8.GetBytes(Secret), "same-user", expiry + 1);
        await using var c = TurnTestClient.Udp(relay.Udp, second, secondPassword);
        await AllocateOk(c);
        Assert.Equal(1, (await Stats(relay)).RefusedByCode[486]);
    }

    [Fact]
    public async Task Without_a_secret_a_rest_username_is_an_unknown_user()
    {
        var relay = await StartRelay();
        var (user, password) = Mint(Secret, "x", TimeSpan.FromHours(1));
        await using var client = TurnTestClient.Udp(relay.Udp, user, password);
        Assert.Equal(401, (await client.Allocate()).ErrorCode);
    }
}
