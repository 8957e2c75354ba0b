using Xunit;
using System.Net;
using P2P.Actors.Relay;
using P2P.Protocol.Stun;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

public sealed class RelayAllocationTests(ITestOutputHelper output) : RelayTestBase(output)
{
    [Fact]
    public async Task Refresh_with_lifetime_zero_deletes_the_allocation()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        await AllocateOk(client);
        var refreshed = await client.Refresh(1200);
        Assert.True(refreshed.IsSuccess);
        Assert.Equal(1200u, refreshed.Number(StunAttributeType.Lifetime));
        Assert.True(client.Verifies(refreshed));

        var deleted = await client.Refresh(0);
        Assert.True(deleted.IsSuccess, deleted.ToString());
        Assert.Equal(0u, deleted.Number(StunAttributeType.Lifetime));
        await Eventually(async () => (await Allocations(relay)).Count == 0);
        Assert.Equal(437, (await client.Refresh(600)).ErrorCode);
    }

    [Fact]
    public async Task Lifetime_is_clamped_to_the_maximum()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        var reply = await client.Allocate(lifetime: 100_000);
        Assert.Equal(3600u, reply.Number(StunAttributeType.Lifetime));
        Assert.Equal(600u, (await client.Refresh(10)).Number(StunAttributeType.Lifetime));
    }

    [Fact]
    public async Task Allocation_expires_after_its_lifetime_and_frees_the_quota()
    {
        var relay = await StartRelay(Settings with { DefaultLifetime = TimeSpan.FromSeconds(1), MaxLifetime = TimeSpan.FromSeconds(1), UserQuota = 1 });
        await using var client = Alice(relay);
        Assert.Equal(1u, (await client.Allocate()).Number(StunAttributeType.Lifetime));
        Assert.Single(await Allocations(relay));
        await Eventually(async () => (await Allocations(relay)).Count == 0, because: "the allocation should expire after 1 s");
        Assert.Equal(437, (await client.Refresh(1)).ErrorCode);
        await using var again = Alice(relay);
        await AllocateOk(again);
    }

    [Fact]
    public async Task Retransmitted_allocate_gets_the_same_answer_and_another_transaction_gets_437()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        client.TakeChallenge(await client.Request(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(17)));
        var request = client.BuildSigned(StunMethod.Allocate, TransactionId.NewRandom(), (ref StunMessageWriter w) => w.AddRequestedTransport(17));
        var first = await client.Transact(request);
        Assert.True(first.IsSuccess);
        var retransmitted = await client.Transact(request);
        Assert.Equal(first.Bytes, retransmitted.Bytes);

        var other = await client.Transact(client.BuildSigned(StunMethod.Allocate, TransactionId.NewRandom(), (ref StunMessageWriter w) => w.AddRequestedTransport(17)));
        Assert.Equal(437, other.ErrorCode);
        Assert.True(client.Verifies(other));
        Assert.Single(await Allocations(relay));
    }

    [Fact]
    public async Task Requests_without_an_allocation_get_437()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        var reply = await client.CreatePermission(new IPEndPoint(IPAddress.Loopback, 9));
        Assert.Equal(437, reply.ErrorCode);
    }

    [Fact]
    public async Task Another_user_on_the_allocation_5_tuple_gets_441()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        await AllocateOk(client);
        client.User = "bob";
        client.Password = "hunter2";
        Assert.Equal(441, (await client.Refresh(600)).ErrorCode);
    }

    [Fact]
    public async Task User_quota_is_enforced_with_486()
    {
        var relay = await StartRelay(Settings with { UserQuota = 2 });
        await using var a = Alice(relay);
        await using var b = Alice(relay);
        await using var c = Alice(relay);
        await AllocateOk(a);
        await AllocateOk(b);
        var third = await c.Allocate();
        Assert.Equal(486, third.ErrorCode);
        Assert.True(c.Verifies(third));
        await using var bob = TurnTestClient.Udp(relay.Udp, "bob", "hunter2");
        await AllocateOk(bob);
    }

    [Fact]
    public async Task Total_capacity_is_enforced_with_508()
    {
        var relay = await StartRelay(Settings with { MaxAllocations = 1 });
        await using var alice = Alice(relay);
        await using var bob = TurnTestClient.Udp(relay.Udp, "bob", "hunter2");
        await AllocateOk(alice);
        Assert.Equal(508, (await bob.Allocate()).ErrorCode);
    }

    [Fact]
    public async Task Unsupported_transport_gets_442_and_unsupported_family_gets_440()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        var sctp = await client.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) => w.AddRequestedTransport(132));
        Assert.Equal(442, sctp.ErrorCode);
        var ipv6 = await client.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);
            w.AddAddressFamily(StunAttributeType.RequestedAddressFamily, StunAddress.FamilyIPv6);
        });
        Assert.Equal(440, ipv6.ErrorCode);
        var missing = await client.SignedRequest(StunMethod.Allocate, null);
        Assert.Equal(400, missing.ErrorCode);
        Assert.Empty(await Allocations(relay));
    }

    [Fact]
    public async Task Unknown_comprehension_required_attribute_gets_420_with_unknown_attributes()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        var reply = await client.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);
            w.AddAttribute(0x7F01, 4).Clear();
        });
        Assert.Equal(420, reply.ErrorCode);
        Assert.Equal(new ushort[] { 0x7F01 }, reply.UnknownAttributes);
        Assert.Empty(await Allocations(relay));

        var binding = await client.Request(StunMethod.Binding, (ref StunMessageWriter w) => w.AddAttribute(0x7F02, 4).Clear());
        Assert.Equal(420, binding.ErrorCode);
        Assert.Equal(new ushort[] { 0x7F02 }, binding.UnknownAttributes);
    }

    [Fact]
    public async Task Dont_fragment_is_reported_as_unknown_because_it_is_not_supported()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        var reply = await client.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);
            w.AddFlag(StunAttributeType.DontFragment);
        });
        Assert.Equal(420, reply.ErrorCode);
        Assert.Equal(new[] { (ushort)StunAttributeType.DontFragment }, reply.UnknownAttributes);
    }

    [Fact]
    public async Task Relayed_ports_come_from_the_configured_range()
    {
        int min = 50_000 + Random.Shared.Next(0, 10_000);
        var relay = await StartRelay(Settings with { MinPort = min, MaxPort = min + 20 });
        await using var a = Alice(relay);
        await using var b = TurnTestClient.Udp(relay.Udp, "bob", "hunter2");
        Assert.InRange((await AllocateOk(a)).Port, min, min + 20);
        Assert.InRange((await AllocateOk(b)).Port, min, min + 20);
    }
}
