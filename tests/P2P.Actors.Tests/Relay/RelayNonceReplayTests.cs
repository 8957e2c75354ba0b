using System.Net;
using P2P.Actors.Relay;
using P2P.Protocol.Stun;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// Nonces are bound to the client's 5-tuple (as coturn's are): an authenticated request captured on the wire and sent
/// again from another port of the same address is a replay, answered with 438 Stale Nonce, and it allocates nothing.
/// </summary>
public sealed class RelayNonceReplayTests(ITestOutputHelper output) : RelayTestBase(output)
{
    private static readonly AddAttributes Udp = (ref StunMessageWriter w) => w.AddRequestedTransport(17);

    /// <summary>Alice's challenge, then her signed Allocate as it went on the wire (and its success).</summary>
    private static async Task<(byte[] Request, StunReply Reply)> SignedAllocate(TurnTestClient alice)
    {
        var challenge = await alice.Request(StunMethod.Allocate, Udp);
        Assert.Equal(401, challenge.ErrorCode);
        alice.TakeChallenge(challenge);
        var request = alice.BuildSigned(StunMethod.Allocate, TransactionId.NewRandom(), Udp);
        var reply = await alice.Transact(request);
        Assert.True(reply.IsSuccess, reply.ToString());
        return (request, reply);
    }

    [Fact]
    public async Task A_replayed_allocate_from_other_ports_gets_438_allocates_nothing_and_never_locks_the_user_out()
    {
        var relay = await StartRelay(Settings with { UserQuota = 10 });
        await using var alice = Alice(relay);
        var (captured, _) = await SignedAllocate(alice);

        for (int i = 0; i < 12; i++)
        {
            await using var attacker = TurnTestClient.Udp(relay.Udp);
            var reply = await attacker.Transact(captured);
            Assert.Equal(438, reply.ErrorCode);
            Assert.NotNull(reply.Text(StunAttributeType.Nonce)); // a fresh nonce, for the attacker's own 5-tuple
        }
        var allocation = Assert.Single(await Allocations(relay));
        Assert.Equal(alice.LocalEndPoint, allocation.FiveTuple.Client);

        // the user still has her quota: nine more allocations from other ports succeed
        var others = new List<TurnTestClient>();
        try
        {
            for (int i = 0; i < 9; i++)
            {
                var other = Alice(relay);
                others.Add(other);
                await AllocateOk(other);
            }
        }
        finally
        {
            foreach (var other in others) await other.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_replay_over_another_tcp_connection_gets_438()
    {
        var relay = await StartRelay();
        await using var alice = await TurnTestClient.Tcp(relay.Tcp, "alice", "secret");
        var (captured, _) = await SignedAllocate(alice);
        await using var attacker = await TurnTestClient.Tcp(relay.Tcp);
        Assert.Equal(438, (await attacker.Transact(captured)).ErrorCode);
        Assert.Single(await Allocations(relay));
    }

    [Fact]
    public async Task A_retransmitted_allocate_on_the_same_five_tuple_gets_the_same_success()
    {
        var relay = await StartRelay();
        await using var alice = Alice(relay);
        var (request, first) = await SignedAllocate(alice);
        // RFC 8656 §7.2: a retransmission of the Allocate that made the allocation is answered with the same success
        var again = await alice.Transact(request);
        Assert.True(again.IsSuccess, again.ToString());
        Assert.Equal(first.Address(StunAttributeType.XorRelayedAddress), again.Address(StunAttributeType.XorRelayedAddress));
        Assert.Equal(first.TransactionId, again.TransactionId);
        // a new transaction with the same nonce on the same 5-tuple is a second Allocate there: 437
        var second = await alice.Transact(alice.BuildSigned(StunMethod.Allocate, TransactionId.NewRandom(), Udp));
        Assert.Equal(437, second.ErrorCode);
        Assert.Single(await Allocations(relay));
    }

    [Fact]
    public void A_nonce_is_valid_only_for_the_five_tuple_it_was_issued_to()
    {
        using var nonces = new RelayNonces(TimeSpan.FromSeconds(10));
        var now = DateTimeOffset.UtcNow;
        var server = new IPEndPoint(IPAddress.Loopback, 3478);
        var tuple = new FiveTuple(ClientTransport.Udp, new IPEndPoint(IPAddress.Loopback, 40000), server);
        var nonce = nonces.Create(now, tuple);
        Assert.Equal(NonceCheck.Valid, nonces.Check(nonce, now, tuple));
        Assert.Equal(NonceCheck.Invalid, nonces.Check(nonce, now, tuple with { Client = new IPEndPoint(IPAddress.Loopback, 40001) }));
        Assert.Equal(NonceCheck.Invalid, nonces.Check(nonce, now, tuple with { Transport = ClientTransport.Tcp }));
        Assert.Equal(NonceCheck.Invalid, nonces.Check(nonce, now, tuple with { Server = new IPEndPoint(IPAddress.Loopback, 3479) }));
        Assert.Equal(NonceCheck.Invalid, nonces.Check(nonce, now, tuple with { Client = new IPEndPoint(IPAddress.Parse("127.0.0.2"), 40000) }));
        // an IPv4-mapped IPv6 client is the same client
        var mapped = tuple with { Client = new IPEndPoint(IPAddress.Loopback.MapToIPv6(), 40000) };
        Assert.Equal(NonceCheck.Valid, nonces.Check(nonce, now, mapped));
    }
}
