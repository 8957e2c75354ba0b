using Xunit;
using System.Net;
using System.Text;
using Akka.Actor;
using P2P.Actors.Relay;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

public sealed class RelayDataTests(ITestOutputHelper output) : RelayTestBase(output)
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    private static (IPEndPoint Peer, byte[] Data) ParseDataIndication(byte[] packet)
    {
        Assert.True(StunMessage.TryParse(packet, out var m, out var e), e.ToString());
        Assert.Equal(StunMethod.Data, m.Method);
        Assert.Equal(StunClass.Indication, m.Class);
        Assert.True(m.TryGetAddress(StunAttributeType.XorPeerAddress, out var peer));
        Assert.True(m.TryGetAttribute(StunAttributeType.Data, out var data));
        return (peer.ToEndPoint(), data.ToArray());
    }

    private static (ushort Channel, byte[] Data) ParseChannelData(byte[] packet)
    {
        Assert.True(ChannelData.TryParse(packet, out ushort channel, out var data, out var e), e.ToString());
        return (channel, data.ToArray());
    }

    private static async Task<AllocationProtocol.Info> Info(RunningRelay relay, string user = "alice")
    {
        var entry = (await Allocations(relay)).Single(a => a.User == user);
        return await entry.Allocation.Ask<AllocationProtocol.Info>(new AllocationProtocol.GetInfo(), AskTimeout);
    }

    [Fact]
    public async Task Send_indication_reaches_a_permitted_peer_and_its_answer_comes_back_as_data_indication()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);
        var permission = await client.CreatePermission(peer.EndPoint);
        Assert.True(permission.IsSuccess, permission.ToString());
        Assert.True(client.Verifies(permission));

        await client.SendIndication(peer.EndPoint, Encoding.UTF8.GetBytes("hello peer"));
        var got = await peer.Receive();
        Assert.NotNull(got);
        Assert.Equal("hello peer", Encoding.UTF8.GetString(got.Value.Data));
        Assert.Equal(relayed, got.Value.From);

        await peer.SendTo(relayed, Encoding.UTF8.GetBytes("hello client"));
        var incoming = await client.NextIncoming();
        Assert.NotNull(incoming);
        var (from, data) = ParseDataIndication(incoming);
        Assert.Equal(peer.EndPoint, from);
        Assert.Equal("hello client", Encoding.UTF8.GetString(data));
    }

    [Fact]
    public async Task Channel_bind_then_channel_data_flows_both_ways()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);
        var bind = await client.ChannelBind(0x4001, peer.EndPoint);
        Assert.True(bind.IsSuccess, bind.ToString());

        for (int i = 0; i < 5; i++)
        {
            var payload = Encoding.UTF8.GetBytes($"to peer {i}!"); // odd lengths too
            await client.SendChannelData(0x4001, payload);
            var got = await peer.Receive();
            Assert.NotNull(got);
            Assert.Equal(payload, got.Value.Data);
            Assert.Equal(relayed, got.Value.From);

            var back = Encoding.UTF8.GetBytes($"to client {i}");
            await peer.SendTo(relayed, back);
            var incoming = await client.NextIncoming();
            Assert.NotNull(incoming);
            var (channel, data) = ParseChannelData(incoming);
            Assert.Equal(0x4001, channel);
            Assert.Equal(back, data);
        }
        var info = await Info(relay);
        Assert.Equal(1, info.Channels);
        Assert.Equal(1, info.Permissions);
        Assert.Equal(5, info.ToPeer);
        Assert.Equal(5, info.FromPeer);
    }

    [Fact]
    public async Task Channel_rebinding_rules_are_enforced()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        using var peer1 = new UdpPeer();
        using var peer2 = new UdpPeer();
        await AllocateOk(client);
        Assert.True((await client.ChannelBind(0x4000, peer1.EndPoint)).IsSuccess);
        Assert.True((await client.ChannelBind(0x4000, peer1.EndPoint)).IsSuccess, "refreshing the same binding is allowed");
        Assert.Equal(400, (await client.ChannelBind(0x4000, peer2.EndPoint)).ErrorCode);
        Assert.Equal(400, (await client.ChannelBind(0x4002, peer1.EndPoint)).ErrorCode);
        Assert.Equal(400, (await client.ChannelBind(0x3FFF, peer2.EndPoint)).ErrorCode);
        Assert.Equal(400, (await client.ChannelBind(0x8000, peer2.EndPoint)).ErrorCode);
        Assert.True((await client.ChannelBind(0x4FFF, peer2.EndPoint)).IsSuccess);
    }

    [Fact]
    public async Task Rfc5766_channel_numbers_are_accepted_for_older_clients()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);
        Assert.True((await client.ChannelBind(0x6575, peer.EndPoint)).IsSuccess);
        await client.SendChannelData(0x6575, [7, 7]);
        Assert.Equal(new byte[] { 7, 7 }, (await peer.Receive())!.Value.Data);
        await peer.SendTo(relayed, [8]);
        Assert.Equal(new byte[] { 0x65, 0x75, 0x00, 0x01, 8 }, await client.NextIncoming());
    }

    [Fact]
    public async Task Data_from_a_peer_without_permission_is_dropped()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        using var permitted = new UdpPeer();
        using var stranger = new UdpPeer();
        var relayed = await AllocateOk(client);
        Assert.True((await client.CreatePermission(permitted.EndPoint)).IsSuccess);

        // Permissions are per IP address (RFC 8656 §9): use another loopback address for the stranger's IP.
        using var otherIp = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        otherIp.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        await otherIp.SendToAsync(Encoding.UTF8.GetBytes("unwanted"), System.Net.Sockets.SocketFlags.None, relayed);
        Assert.Null(await client.NextIncoming(Quiet));
        await Eventually(async () => (await Info(relay)).DroppedNoPermission == 1);

        // The permitted IP still gets through.
        await permitted.SendTo(relayed, Encoding.UTF8.GetBytes("wanted"));
        var incoming = await client.NextIncoming();
        Assert.NotNull(incoming);
        Assert.Equal("wanted", Encoding.UTF8.GetString(ParseDataIndication(incoming).Data));
    }

    [Fact]
    public async Task Send_indication_without_permission_is_not_relayed()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        using var peer = new UdpPeer();
        await AllocateOk(client);
        await client.SendIndication(peer.EndPoint, [1, 2, 3]);
        Assert.Null(await peer.Receive(Quiet));
        Assert.Equal(1, (await Info(relay)).DroppedNoPermission);
    }

    [Fact]
    public async Task Permission_expires_after_its_lifetime()
    {
        var relay = await StartRelay(Settings with { PermissionLifetime = TimeSpan.FromMilliseconds(500) });
        await using var client = Alice(relay);
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);
        Assert.True((await client.CreatePermission(peer.EndPoint)).IsSuccess);
        Assert.Equal(1, (await Info(relay)).Permissions);
        await Eventually(async () => (await Info(relay)).Permissions == 0, because: "the permission should expire");
        await peer.SendTo(relayed, [9]);
        Assert.Null(await client.NextIncoming(Quiet));
    }

    [Fact]
    public async Task Channel_binding_expires_after_its_lifetime()
    {
        var relay = await StartRelay(Settings with { ChannelLifetime = TimeSpan.FromMilliseconds(500) });
        await using var client = Alice(relay);
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);
        Assert.True((await client.ChannelBind(0x4010, peer.EndPoint)).IsSuccess);
        await Eventually(async () => (await Info(relay)).Channels == 0, because: "the channel binding should expire");
        await client.SendChannelData(0x4010, [1]);
        Assert.Null(await peer.Receive(Quiet));
        // The permission (300 s) outlives the channel: the peer's data now arrives as a Data indication.
        await peer.SendTo(relayed, [2]);
        var incoming = await client.NextIncoming();
        Assert.NotNull(incoming);
        Assert.Equal(new byte[] { 2 }, ParseDataIndication(incoming).Data);
    }

    [Fact]
    public async Task Loopback_and_private_peers_are_forbidden_unless_allowed()
    {
        var relay = await StartRelay(Settings with { AllowLoopback = false });
        await using var client = Alice(relay);
        await AllocateOk(client);
        Assert.Equal(403, (await client.CreatePermission(new IPEndPoint(IPAddress.Loopback, 5000))).ErrorCode);
        Assert.Equal(403, (await client.CreatePermission(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 5000))).ErrorCode);
        Assert.Equal(403, (await client.CreatePermission(new IPEndPoint(IPAddress.Parse("192.168.1.1"), 5000))).ErrorCode);
        Assert.Equal(403, (await client.CreatePermission(new IPEndPoint(IPAddress.Parse("169.254.1.1"), 5000))).ErrorCode);
        Assert.Equal(403, (await client.CreatePermission(new IPEndPoint(IPAddress.Parse("224.0.0.1"), 5000))).ErrorCode);
        Assert.Equal(403, (await client.ChannelBind(0x4000, new IPEndPoint(IPAddress.Loopback, 5000))).ErrorCode);
        Assert.Equal(443, (await client.CreatePermission(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 5000))).ErrorCode);
        var publicPeer = await client.CreatePermission(new IPEndPoint(IPAddress.Parse("198.51.100.7"), 5000)); // TEST-NET-2, never sent to
        Assert.True(publicPeer.IsSuccess, publicPeer.ToString());
        Assert.Equal(1, (await Info(relay)).Permissions);
    }

    [Fact]
    public void Peer_address_policy_classifies_addresses()
    {
        Assert.False(PeerAddressPolicy.IsAllowed(IPAddress.Loopback, false, false));
        Assert.True(PeerAddressPolicy.IsAllowed(IPAddress.Loopback, true, false));
        Assert.False(PeerAddressPolicy.IsAllowed(IPAddress.IPv6Loopback, false, true));
        Assert.False(PeerAddressPolicy.IsAllowed(IPAddress.Parse("172.16.0.1"), false, false));
        Assert.True(PeerAddressPolicy.IsAllowed(IPAddress.Parse("172.32.0.1"), false, false));
        Assert.True(PeerAddressPolicy.IsAllowed(IPAddress.Parse("172.16.0.1"), false, true));
        Assert.False(PeerAddressPolicy.IsAllowed(IPAddress.Parse("fd00::1"), false, false));
        Assert.True(PeerAddressPolicy.IsAllowed(IPAddress.Parse("fd00::1"), false, true));
        Assert.False(PeerAddressPolicy.IsAllowed(IPAddress.Parse("fe80::1"), true, true));
        Assert.False(PeerAddressPolicy.IsAllowed(IPAddress.Any, true, true));
        Assert.False(PeerAddressPolicy.IsAllowed(IPAddress.IPv6Any, true, true));
        Assert.False(PeerAddressPolicy.IsAllowed(IPAddress.Broadcast, true, true));
        Assert.False(PeerAddressPolicy.IsAllowed(IPAddress.Parse("ff02::1"), true, true));
        Assert.True(PeerAddressPolicy.IsAllowed(IPAddress.Parse("2001:db8::1"), false, false));
    }

    [Fact]
    public async Task Tcp_client_allocates_and_relays_padded_channel_data()
    {
        var relay = await StartRelay();
        await using var client = await TurnTestClient.Tcp(relay.Tcp, "alice", "secret");
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);
        Assert.True((await client.ChannelBind(0x4abc, peer.EndPoint)).IsSuccess);
        Assert.True((await client.CreatePermission(peer.EndPoint)).IsSuccess);

        var odd = Encoding.UTF8.GetBytes("odd!!"); // 5 bytes: padded to 8 on the stream
        await client.SendChannelData(0x4abc, odd);
        await client.SendChannelData(0x4abc, Encoding.UTF8.GetBytes("second"));
        var first = await peer.Receive();
        var second = await peer.Receive();
        Assert.Equal(odd, first!.Value.Data);
        Assert.Equal("second", Encoding.UTF8.GetString(second!.Value.Data));
        Assert.Equal(relayed, first.Value.From);

        await peer.SendTo(relayed, Encoding.UTF8.GetBytes("abc"));
        var incoming = await client.NextIncoming();
        Assert.NotNull(incoming);
        Assert.Equal(8, incoming.Length); // 4-byte header + 3 bytes + 1 padding
        var (channel, data) = ParseChannelData(incoming);
        Assert.Equal(0x4abc, channel);
        Assert.Equal("abc", Encoding.UTF8.GetString(data));

        var entry = Assert.Single(await Allocations(relay));
        Assert.Equal(ClientTransport.Tcp, entry.FiveTuple.Transport);
    }

    [Fact]
    public async Task Closing_the_tcp_connection_deletes_its_allocation()
    {
        var relay = await StartRelay();
        var client = await TurnTestClient.Tcp(relay.Tcp, "alice", "secret");
        await AllocateOk(client);
        Assert.Single(await Allocations(relay));
        await client.DisposeAsync();
        await Eventually(async () => (await Allocations(relay)).Count == 0, because: "the allocation should go with its connection");
    }
}

public sealed class RelayIPv6Tests(ITestOutputHelper output) : RelayTestBase(output)
{
    [Fact]
    public async Task Ipv6_listener_answers_binding_and_relays_to_an_ipv6_peer()
    {
        var settings = Settings with { Listen = [new IPEndPoint(IPAddress.IPv6Loopback, 0), new IPEndPoint(IPAddress.Loopback, 0)] };
        var actor = Sys.ActorOf(RelayServer.Props(settings));
        var listening = Assert.IsType<RelayServerProtocol.Listening>(await actor.Ask<object>(new RelayServerProtocol.AwaitListening(), AskTimeout));
        var v6 = listening.Udp[0];
        Assert.Equal(IPAddress.IPv6Loopback, v6.Address);

        await using var client = TurnTestClient.Udp(v6, "alice", "secret");
        var binding = await client.Request(StunMethod.Binding);
        Assert.Equal(client.LocalEndPoint, binding.Address(StunAttributeType.XorMappedAddress));

        // Without REQUESTED-ADDRESS-FAMILY the relayed address is IPv4 (RFC 8656 §7.2), taken from the IPv4 listener.
        var v4 = await client.Allocate();
        Assert.True(v4.IsSuccess, v4.ToString());
        Assert.Equal(IPAddress.Loopback, v4.Address(StunAttributeType.XorRelayedAddress)!.Address);
        Assert.True((await client.Refresh(0)).IsSuccess);
        await Eventually(async () => (await actor.Ask<RelayServerProtocol.AllocationList>(new RelayServerProtocol.GetAllocations(), AskTimeout)).Allocations.Count == 0);

        var reply = await client.SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);
            w.AddAddressFamily(StunAttributeType.RequestedAddressFamily, StunAddress.FamilyIPv6);
        });
        Assert.True(reply.IsSuccess, reply.ToString());
        var relayed = reply.Address(StunAttributeType.XorRelayedAddress)!;
        Assert.Equal(IPAddress.IPv6Loopback, relayed.Address);

        using var peer = new UdpPeer(IPAddress.IPv6Loopback);
        Assert.Equal(443, (await client.CreatePermission(new IPEndPoint(IPAddress.Loopback, 9))).ErrorCode);
        Assert.True((await client.CreatePermission(peer.EndPoint)).IsSuccess);
        await client.SendIndication(peer.EndPoint, [1, 2, 3]);
        var got = await peer.Receive();
        Assert.Equal(new byte[] { 1, 2, 3 }, got!.Value.Data);
        Assert.Equal(relayed, got.Value.From);
        await peer.SendTo(relayed, [4]);
        Assert.NotNull(await client.NextIncoming());
    }
}
