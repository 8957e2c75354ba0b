using Xunit;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using P2P.Actors.Relay;
using P2P.Protocol.Stun;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

public sealed class RelayRobustnessTests(ITestOutputHelper output) : RelayTestBase(output)
{
    [Fact]
    public async Task Malformed_packets_are_counted_and_dropped_and_the_relay_still_answers()
    {
        var relay = await StartRelay();
        await using var client = Alice(relay);
        var valid = TurnTestClient.Build(StunMethod.Binding, StunClass.Request, TransactionId.NewRandom(), null);
        var badFingerprint = (byte[])valid.Clone();
        badFingerprint[^1] ^= 0xFF;
        var badLength = (byte[])valid.Clone();
        badLength[3] += 4;
        byte[][] garbage =
        [
            [],                                    // empty datagram
            [0x00, 0x01],                          // too short
            [0x9A, .. Encoding.ASCII.GetBytes(" neither STUN nor ChannelData")],
            badFingerprint,
            badLength,
            [0x40, 0x00, 0xFF, 0xFF, 1, 2],        // ChannelData with no allocation
            new byte[1200],                        // zeros: header of a Binding without cookie
        ];
        foreach (var packet in garbage) await client.SendRaw(packet);

        var reply = await client.Request(StunMethod.Binding);
        Assert.True(reply.IsSuccess);
        await Eventually(async () =>
        {
            var stats = await Stats(relay);
            return stats.Malformed == 6 && stats.Unrouted == 1;
        }, because: "six malformed packets and one unrouted ChannelData should be counted");

        // An allocation keeps working after garbage on its own 5-tuple.
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);
        Assert.True((await client.ChannelBind(0x4000, peer.EndPoint)).IsSuccess);
        await client.SendRaw(new byte[] { 0x40, 0x00, 0x00, 0x10, 1 }); // ChannelData shorter than its length
        await client.SendRaw(TurnTestClient.Build(StunMethod.Send, StunClass.Indication, TransactionId.NewRandom(), null)); // no peer, no data
        await client.SendChannelData(0x4000, [42]);
        Assert.Equal(new byte[] { 42 }, (await peer.Receive())!.Value.Data);
        var info = await (await Allocations(relay)).Single().Allocation.Ask<AllocationProtocol.Info>(new AllocationProtocol.GetInfo(), AskTimeout);
        Assert.Equal(2, info.Malformed);
        Assert.Equal(relayed, info.Relayed);
    }

    [Fact]
    public async Task Garbage_on_a_tcp_connection_closes_only_that_connection()
    {
        var relay = await StartRelay();
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await raw.ConnectAsync(relay.Tcp);
        await raw.SendAsync(Encoding.ASCII.GetBytes("\xff\xff\xff\xff garbage"), SocketFlags.None);
        var buffer = new byte[16];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(0, await raw.ReceiveAsync(buffer, SocketFlags.None, cts.Token)); // closed by the server

        await using var client = await TurnTestClient.Tcp(relay.Tcp);
        Assert.True((await client.Request(StunMethod.Binding)).IsSuccess);
    }

    [Fact]
    public async Task A_failing_allocation_is_stopped_and_another_keeps_relaying()
    {
        var relay = await StartRelay();
        await using var alice = Alice(relay);
        await using var bob = TurnTestClient.Udp(relay.Udp, "bob", "hunter2");
        using var alicePeer = new UdpPeer();
        using var bobPeer = new UdpPeer();
        await AllocateOk(alice);
        var bobRelayed = await AllocateOk(bob);
        Assert.True((await alice.ChannelBind(0x4000, alicePeer.EndPoint)).IsSuccess);
        Assert.True((await bob.ChannelBind(0x4000, bobPeer.EndPoint)).IsSuccess);

        var faulty = (await Allocations(relay)).Single(a => a.User == "alice").Allocation;
        Watch(faulty);
        faulty.Tell(new P2P.Actors.Supervision.InjectFault("test fault"));
        ExpectTerminated(faulty, TimeSpan.FromSeconds(10));

        // Bob's allocation relays in both directions as before.
        await bob.SendChannelData(0x4000, [1, 2, 3]);
        Assert.Equal(new byte[] { 1, 2, 3 }, (await bobPeer.Receive())!.Value.Data);
        await bobPeer.SendTo(bobRelayed, [4, 5, 6]);
        var incoming = await bob.NextIncoming();
        Assert.Equal(new byte[] { 0x40, 0x00, 0x00, 0x03, 4, 5, 6 }, incoming);

        // Alice's 5-tuple is free again: her next request sees 437, and she can allocate anew.
        var remaining = Assert.Single(await Allocations(relay));
        Assert.Equal("bob", remaining.User);
        Assert.Equal(437, (await alice.Refresh(600)).ErrorCode);
        await AllocateOk(alice);
        Assert.Equal(2, (await Allocations(relay)).Count);
    }

    [Fact]
    public async Task Listening_on_a_port_in_use_is_reported()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var settings = Settings with { Listen = [(IPEndPoint)taken.LocalEndPoint!] };
        var actor = Sys.ActorOf(RelayServer.Props(settings));
        var reply = await actor.Ask<object>(new RelayServerProtocol.AwaitListening(), AskTimeout);
        var failed = Assert.IsType<RelayServerProtocol.ListenFailed>(reply);
        Assert.Contains("already in use", failed.Reason);
    }
}
