using Xunit;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using P2P.Actors.Relay;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// The relay's fast data path on real sockets (127.0.0.1): ChannelData relayed on the receiving threads
/// (<see cref="AllocationDataPath"/>), and the same traffic with <c>fast-data-path = off</c> through the actors.
/// </summary>
public sealed class RelayFastDataPathTests(ITestOutputHelper output) : RelayTestBase(output)
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    private static async Task<AllocationProtocol.Info> Info(RunningRelay relay, string user = "alice")
    {
        var entry = (await Allocations(relay)).Single(a => a.User == user);
        return await entry.Allocation.Ask<AllocationProtocol.Info>(new AllocationProtocol.GetInfo(), AskTimeout);
    }

    private static async Task Exchange(TurnTestClient client, UdpPeer peer, IPEndPoint relayed, ushort channel, int count)
    {
        for (int i = 0; i < count; i++)
        {
            byte[] payload = [.. BitConverter.GetBytes(i), 1, 2, 3];
            await client.SendChannelData(channel, payload);
            var got = await peer.Receive();
            Assert.NotNull(got);
            Assert.Equal(payload, got.Value.Data);
            Assert.Equal(relayed, got.Value.From);

            byte[] back = [.. BitConverter.GetBytes(~i), 4];
            await peer.SendTo(relayed, back);
            var incoming = await client.NextIncoming();
            Assert.NotNull(incoming);
            Assert.True(ChannelData.TryParse(incoming, out ushort number, out var data, out var error), error.ToString());
            Assert.Equal(channel, number);
            Assert.Equal(back, data.ToArray());
            Assert.Equal(ChannelData.HeaderLength + back.Length, incoming.Length); // no padding over UDP
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Channel_data_flows_both_ways_with_the_fast_data_path_on_or_off(bool fast)
    {
        var relay = await StartRelay(Settings with { FastDataPath = fast });
        await using var client = Alice(relay);
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);
        Assert.True((await client.ChannelBind(0x4001, peer.EndPoint)).IsSuccess);

        await Exchange(client, peer, relayed, 0x4001, 20);

        var info = await Info(relay);
        Assert.Equal(20, info.ToPeer);
        Assert.Equal(20, info.FromPeer);
        Assert.Equal(fast ? 20 : 0, info.FastToPeer);
        Assert.Equal(fast ? 20 : 0, info.FastFromPeer);
        Assert.True((await Stats(relay)).Received >= 20 + 3, "the fast path's packets are counted as received");
    }

    [Fact]
    public async Task Many_allocations_relay_at_once_through_the_one_poller()
    {
        var relay = await StartRelay(Settings with { UserQuota = 100 });
        var clients = new List<TurnTestClient>();
        var peers = new List<UdpPeer>();
        try
        {
            var relayed = new List<IPEndPoint>();
            for (int i = 0; i < 12; i++)
            {
                var client = Alice(relay);
                clients.Add(client);
                var peer = new UdpPeer();
                peers.Add(peer);
                relayed.Add(await AllocateOk(client));
                Assert.True((await client.ChannelBind((ushort)(0x4000 + i), peer.EndPoint)).IsSuccess);
            }
            await Task.WhenAll(Enumerable.Range(0, clients.Count).Select(i => Exchange(clients[i], peers[i], relayed[i], (ushort)(0x4000 + i), 5)));
            foreach (var entry in await Allocations(relay))
            {
                var info = await entry.Allocation.Ask<AllocationProtocol.Info>(new AllocationProtocol.GetInfo(), AskTimeout);
                Assert.Equal(5, info.FastToPeer);
                Assert.Equal(5, info.FastFromPeer);
            }
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
            foreach (var peer in peers) peer.Dispose();
        }
    }

    [Fact]
    public async Task Nothing_is_relayed_without_a_permission_or_a_channel_and_the_drops_are_counted()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);

        // No permission yet: the peer's datagram is dropped, the client's ChannelData on an unbound channel too.
        await peer.SendTo(relayed, [1]);
        Assert.Null(await client.NextIncoming(Quiet));
        await client.SendChannelData(0x4002, [2]);
        Assert.Null(await peer.Receive(Quiet));
        await Eventually(async () => (await Info(relay)).DroppedNoPermission == 2);

        // A channel for the peer's port permits its IP; another IP stays without permission (RFC 8656 §9).
        Assert.True((await client.ChannelBind(0x4002, peer.EndPoint)).IsSuccess);
        using var otherIp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        otherIp.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        await otherIp.SendToAsync(new byte[] { 3 }, SocketFlags.None, relayed);
        Assert.Null(await client.NextIncoming(Quiet));
        await Eventually(async () => (await Info(relay)).DroppedNoPermission == 3);

        // Another port of the permitted IP has a permission but no channel: a Data indication, through the actors.
        using var samePeerIp = new UdpPeer();
        await samePeerIp.SendTo(relayed, [4]);
        var incoming = await client.NextIncoming();
        Assert.NotNull(incoming);
        Assert.True(StunMessage.TryParse(incoming, out var indication, out _));
        Assert.Equal(StunMethod.Data, indication.Method);

        await Exchange(client, peer, relayed, 0x4002, 1);
        var info = await Info(relay);
        Assert.Equal(1, info.FastToPeer);
        Assert.Equal(1, info.FastFromPeer);
        Assert.Equal(2, info.FromPeer);
    }

    [Fact]
    public async Task An_expired_channel_and_permission_are_no_longer_relayed()
    {
        var relay = await StartRelay(Settings with
        {
            ChannelLifetime = TimeSpan.FromMilliseconds(700),
            PermissionLifetime = TimeSpan.FromMilliseconds(700),
        });
        await using var client = Alice(relay);
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);
        Assert.True((await client.ChannelBind(0x4003, peer.EndPoint)).IsSuccess);
        await Exchange(client, peer, relayed, 0x4003, 1);

        await Eventually(async () => await Info(relay) is { Channels: 0, Permissions: 0 }, because: "the channel and permission should expire");
        await client.SendChannelData(0x4003, [5]);
        Assert.Null(await peer.Receive(Quiet));
        await peer.SendTo(relayed, [6]);
        Assert.Null(await client.NextIncoming(Quiet));
        var info = await Info(relay);
        Assert.Equal(1, info.FastToPeer);
        Assert.Equal(1, info.FastFromPeer);
        Assert.Equal(2, info.DroppedNoPermission);

        // Binding again opens the path again.
        Assert.True((await client.ChannelBind(0x4003, peer.EndPoint)).IsSuccess);
        await Exchange(client, peer, relayed, 0x4003, 1);
    }

    [Fact]
    public async Task A_deleted_allocation_stops_relaying_and_stopping_the_relay_frees_its_ports()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);
        Assert.True((await client.ChannelBind(0x4004, peer.EndPoint)).IsSuccess);
        await Exchange(client, peer, relayed, 0x4004, 1);

        Assert.True((await client.Refresh(0)).IsSuccess);
        await Eventually(async () => (await Allocations(relay)).Count == 0);
        await client.SendChannelData(0x4004, [7]);
        Assert.Null(await peer.Receive(Quiet));
        await Eventually(async () => (await Stats(relay)).Unrouted == 1, because: "ChannelData without an allocation is counted as unrouted");
        await Eventually(() => Task.FromResult(CanBind(relayed)), because: "the relayed port should be closed");

        Watch(relay.Actor);
        Sys.Stop(relay.Actor);
        ExpectTerminated(relay.Actor);
        await Eventually(() => Task.FromResult(CanBind(relay.Udp)), because: "the listening port should be closed");
    }

    private static bool CanBind(IPEndPoint endPoint)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(endPoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
