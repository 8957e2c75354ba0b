using Xunit;
using System.Net;
using System.Net.Sockets;
using P2P.Protocol.Stun;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// EVEN-PORT with the R bit and RESERVATION-TOKEN (RFC 8656 §7.2, §18.4, §18.9): an RTP/RTCP pair. The relay
/// runs on a range of exactly two ports (an even one and the next), so which port is taken, held or free shows.
/// </summary>
public sealed class RelayReservationTests(ITestOutputHelper output) : RelayTestBase(output)
{
    /// <summary>An even port p with p and p+1 both free on loopback right now (the relay's whole range).</summary>
    private static int FreeEvenPair()
    {
        for (int i = 0; i < 200; i++)
        {
            int even = (40_000 + Random.Shared.Next(0, 8_000)) & ~1;
            if (Bindable(even) && Bindable(even + 1)) return even;
        }
        throw new InvalidOperationException("no free even port pair on loopback");
    }

    private static bool Bindable(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task<(RunningRelay Relay, int Even)> StartOnOnePair(TimeSpan? reservationLifetime = null)
    {
        int even = FreeEvenPair();
        var settings = Settings with { MinPort = even, MaxPort = even + 1 };
        if (reservationLifetime is { } lifetime) settings = settings with { ReservationLifetime = lifetime };
        return (await StartRelay(settings), even);
    }

    private static Task<StunReply> AllocateReserving(TurnTestClient client) =>
        client.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);
            w.AddEvenPort(reserveNext: true);
        });

    private static Task<StunReply> AllocateWithToken(TurnTestClient client, ulong token) =>
        client.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);
            w.AddUInt64(StunAttributeType.ReservationToken, token);
        });

    private static ulong TokenOf(StunReply reply)
    {
        Assert.True(reply.IsSuccess, $"Allocate failed: {reply}");
        Assert.True(reply.View.TryGetUInt64(StunAttributeType.ReservationToken, out ulong token), "no 8-byte RESERVATION-TOKEN in the success response");
        return token;
    }

    [Fact]
    public async Task Even_port_with_the_R_bit_relays_on_an_even_port_and_its_token_allocates_the_next_port()
    {
        var (relay, even) = await StartOnOnePair();
        await using var rtp = Alice(relay);
        var reply = await AllocateReserving(rtp);
        ulong token = TokenOf(reply);
        Assert.Equal(even, reply.Address(StunAttributeType.XorRelayedAddress)!.Port);
        Assert.True(rtp.Verifies(reply));

        await using var rtcp = Alice(relay);
        var second = await AllocateWithToken(rtcp, token);
        Assert.True(second.IsSuccess, $"Allocate with the token failed: {second}");
        Assert.Equal(even + 1, second.Address(StunAttributeType.XorRelayedAddress)!.Port);
        Assert.False(second.Has(StunAttributeType.ReservationToken));
        Assert.Equal(2, (await Allocations(relay)).Count);
    }

    [Fact]
    public async Task The_reserved_port_is_held_so_neither_another_allocation_nor_another_program_gets_it()
    {
        var (relay, even) = await StartOnOnePair();
        await using var rtp = Alice(relay);
        TokenOf(await AllocateReserving(rtp));

        Assert.False(Bindable(even + 1), "the reserved port is not bound by the relay");
        await using var bob = TurnTestClient.Udp(relay.Udp, "bob", "hunter2");
        var other = await bob.Allocate();
        Assert.Equal(508, other.ErrorCode);
    }

    [Fact]
    public async Task A_token_allocates_once_and_an_unknown_token_gets_508()
    {
        var (relay, _) = await StartOnOnePair();
        await using var rtp = Alice(relay);
        ulong token = TokenOf(await AllocateReserving(rtp));
        await using var rtcp = Alice(relay);
        Assert.True((await AllocateWithToken(rtcp, token)).IsSuccess);

        await using var again = TurnTestClient.Udp(relay.Udp, "bob", "hunter2");
        var reused = await AllocateWithToken(again, token);
        Assert.Equal(508, reused.ErrorCode);
        var unknown = await AllocateWithToken(again, token ^ 0x5a5a5a5a5a5a5a5a);
        Assert.Equal(508, unknown.ErrorCode);
    }

    [Fact]
    public async Task An_unused_reservation_expires_and_frees_its_port()
    {
        var (relay, even) = await StartOnOnePair(TimeSpan.FromMilliseconds(500));
        await using var rtp = Alice(relay);
        ulong token = TokenOf(await AllocateReserving(rtp));

        await Eventually(() => Task.FromResult(Bindable(even + 1)), because: "the reserved port was not freed when the reservation expired");
        await using var rtcp = Alice(relay);
        Assert.Equal(508, (await AllocateWithToken(rtcp, token)).ErrorCode);
        await using var bob = TurnTestClient.Udp(relay.Udp, "bob", "hunter2");
        Assert.Equal(even + 1, (await AllocateOk(bob)).Port);
    }

    [Fact]
    public async Task Even_port_together_with_a_token_or_a_requested_family_is_400()
    {
        var (relay, _) = await StartOnOnePair();
        await using var client = Alice(relay);
        var both = await client.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);
            w.AddEvenPort(reserveNext: false);
            w.AddUInt64(StunAttributeType.ReservationToken, 42);
        });
        Assert.Equal(400, both.ErrorCode);
        var family = await client.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);
            w.AddUInt64(StunAttributeType.ReservationToken, 42);
            w.AddAddressFamily(StunAttributeType.RequestedAddressFamily, StunAddress.FamilyIPv4);
        });
        Assert.Equal(400, family.ErrorCode);
        Assert.Empty(await Allocations(relay));
    }

    [Fact]
    public async Task Without_the_R_bit_even_port_reserves_nothing()
    {
        var (relay, even) = await StartOnOnePair();
        await using var client = Alice(relay);
        var reply = await client.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);
            w.AddEvenPort(reserveNext: false);
        });
        Assert.True(reply.IsSuccess, reply.ToString());
        Assert.Equal(even, reply.Address(StunAttributeType.XorRelayedAddress)!.Port);
        Assert.False(reply.Has(StunAttributeType.ReservationToken));
        Assert.True(Bindable(even + 1));
    }
}
