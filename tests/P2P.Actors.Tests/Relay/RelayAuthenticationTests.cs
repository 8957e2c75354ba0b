using Xunit;
using System.Net;
using P2P.Actors.Relay;
using P2P.Protocol.Stun;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

public sealed class RelayAuthenticationTests(ITestOutputHelper output) : RelayTestBase(output)
{
    [Fact]
    public async Task Binding_request_is_answered_for_anyone_with_xor_mapped_address()
    {
        var relay = await StartRelay();
        await using var client = TurnTestClient.Udp(relay.Udp);
        var reply = await client.Request(StunMethod.Binding);
        Assert.True(reply.IsSuccess);
        Assert.Equal(client.LocalEndPoint, reply.Address(StunAttributeType.XorMappedAddress));
        Assert.Equal(client.LocalEndPoint, reply.Address(StunAttributeType.MappedAddress));
        Assert.Equal("p2p relay", reply.Text(StunAttributeType.Software));
        Assert.True(reply.View.HasFingerprint);
    }

    [Fact]
    public async Task Binding_over_tcp_is_answered()
    {
        var relay = await StartRelay();
        await using var client = await TurnTestClient.Tcp(relay.Tcp);
        var reply = await client.Request(StunMethod.Binding);
        Assert.True(reply.IsSuccess);
        Assert.Equal(client.LocalEndPoint, reply.Address(StunAttributeType.XorMappedAddress));
    }

    [Fact]
    public async Task Allocate_without_credentials_is_challenged_with_realm_nonce_cookie_and_password_algorithms()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        var reply = await client.Request(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(17));
        Assert.Equal(401, reply.ErrorCode);
        Assert.Equal(Realm, reply.Text(StunAttributeType.Realm));
        var nonce = reply.Text(StunAttributeType.Nonce)!;
        Assert.True(NonceCookie.TryParse(nonce, out var features));
        Assert.True(features.HasFlag(SecurityFeatures.PasswordAlgorithms));
        Span<PasswordAlgorithm> algorithms = stackalloc PasswordAlgorithm[4];
        Assert.True(reply.View.TryGetPasswordAlgorithms(algorithms, out int count));
        Assert.Equal(new[] { PasswordAlgorithm.Md5, PasswordAlgorithm.Sha256 }, algorithms[..count].ToArray());
        Assert.False(reply.View.HasMessageIntegrity);
        Assert.Empty(await Allocations(relay));
    }

    [Fact]
    public async Task Allocate_with_md5_credentials_succeeds_and_the_response_is_signed()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        var reply = await client.Allocate();
        Assert.True(reply.IsSuccess, reply.ToString());
        Assert.True(client.Verifies(reply));
        Assert.False(reply.View.HasMessageIntegritySha256);
        var relayed = reply.Address(StunAttributeType.XorRelayedAddress)!;
        Assert.Equal(IPAddress.Loopback, relayed.Address);
        Assert.InRange(relayed.Port, 49152, 65535);
        Assert.Equal(600u, reply.Number(StunAttributeType.Lifetime));
        Assert.Equal(client.LocalEndPoint, reply.Address(StunAttributeType.XorMappedAddress));
        var allocation = Assert.Single(await Allocations(relay));
        Assert.Equal("alice", allocation.User);
    }

    [Fact]
    public async Task Allocate_with_sha256_password_algorithm_is_answered_with_message_integrity_sha256()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        client.UseSha256 = true;
        var reply = await client.Allocate();
        Assert.True(reply.IsSuccess, reply.ToString());
        Assert.True(reply.View.HasMessageIntegritySha256);
        Assert.True(client.Verifies(reply));
    }

    [Fact]
    public async Task Wrong_password_is_challenged_again_and_nothing_is_allocated()
    {
        var relay = await StartRelay();
        await using var client = TurnTestClient.Udp(relay.Udp, "alice", "not-the-password");
        var reply = await client.Allocate();
        Assert.Equal(401, reply.ErrorCode);
        Assert.NotNull(reply.Text(StunAttributeType.Nonce));
        await using var stranger = TurnTestClient.Udp(relay.Udp, "mallory", "secret");
        Assert.Equal(401, (await stranger.Allocate()).ErrorCode);
        Assert.Empty(await Allocations(relay));
    }

    [Fact]
    public async Task Expired_nonce_gets_438_stale_nonce_and_the_fresh_nonce_works()
    {
        var relay = await StartRelay(Settings with { NonceLifetime = TimeSpan.FromMilliseconds(300) });
        await using var client = Alice(relay);
        var challenge = await client.Request(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(17));
        client.TakeChallenge(challenge);
        await Task.Delay(800);
        var stale = await client.Transact(client.BuildSigned(StunMethod.Allocate, TransactionId.NewRandom(), (ref StunMessageWriter w) => w.AddRequestedTransport(17)));
        Assert.Equal(438, stale.ErrorCode);
        var fresh = stale.Text(StunAttributeType.Nonce);
        Assert.NotNull(fresh);
        Assert.NotEqual(client.Nonce, fresh);
        client.TakeChallenge(stale);
        var ok = await client.Transact(client.BuildSigned(StunMethod.Allocate, TransactionId.NewRandom(), (ref StunMessageWriter w) => w.AddRequestedTransport(17)));
        Assert.True(ok.IsSuccess, ok.ToString());
    }

    [Fact]
    public async Task A_nonce_that_was_not_issued_by_the_server_gets_438()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        client.Realm = Realm;
        client.Nonce = NonceCookie.Create(RelayNonces.Features, Convert.ToBase64String(new byte[20]));
        var reply = await client.Transact(client.BuildSigned(StunMethod.Allocate, TransactionId.NewRandom(), (ref StunMessageWriter w) => w.AddRequestedTransport(17)));
        Assert.Equal(438, reply.ErrorCode);
    }

    [Fact]
    public async Task Password_algorithms_that_differ_from_the_offer_get_400()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        client.TakeChallenge(await client.Request(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(17)));
        var request = client.BuildSigned(StunMethod.Allocate, TransactionId.NewRandom(), (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);
            w.AddPasswordAlgorithms([PasswordAlgorithm.Sha256]);
            w.AddPasswordAlgorithm(PasswordAlgorithm.Md5);
        });
        Assert.Equal(400, (await client.Transact(request)).ErrorCode);
    }

    [Fact]
    public async Task Turn_is_refused_when_no_user_is_configured_but_binding_still_works()
    {
        var relay = await StartRelay(Settings with { Users = new Dictionary<string, string>() });
        await using var client = Alice(relay);
        var reply = await client.Request(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(17));
        Assert.Equal(403, reply.ErrorCode);
        Assert.Contains("no users", reply.ErrorReason);
        Assert.True((await client.Request(StunMethod.Binding)).IsSuccess);
    }
}
