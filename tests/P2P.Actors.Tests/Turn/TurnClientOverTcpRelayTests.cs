using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Relay;
using P2P.Actors.Tests.Relay;
using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;
using static P2P.Actors.Tests.Turn.TurnOverTcpScenario;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// The TURN client reaching our own <see cref="RelayServer"/> (in-process, loopback peers allowed)
/// over TCP (RFC 8656 §3.1), and what happens when no server listens or the server goes away.
/// </summary>
public sealed class TurnClientOverTcpRelayTests(ITestOutputHelper output) : RelayTestBase(output)
{
    // The scenario binds its channel itself, step by step (the automatic binding is tested over UDP).
    private static TurnClientSettings ClientSettings => TurnClientSettings.From(TurnClientSettingsTests.RepoHocon()) with { BindChannels = false };

    private IActorRef StartAllocator(Akka.TestKit.TestProbe owner, IPEndPoint server) =>
        Sys.ActorOf(TurnClient.PropsOverTcp(ClientSettings, server, new TurnCredentials("alice", "secret"), owner.Ref));

    [Fact]
    public async Task Allocates_on_our_relay_over_tcp_and_relays_by_send_indication_and_padded_channel_data()
    {
        var relay = await StartRelay();
        using var echo = new UdpEchoPeer();
        var owner = CreateTestProbe();
        var allocator = StartAllocator(owner, relay.Tcp);

        var allocated = ExpectAllocated(owner);
        var entry = Assert.Single(await Allocations(relay));
        Assert.Equal(new FiveTuple(ClientTransport.Tcp, allocated.Mapped!, relay.Tcp), entry.FiveTuple);

        RelaysBothWaysThenReleases(owner, allocator, echo, allocated);
        await Eventually(async () => (await Allocations(relay)).Count == 0, because: "the relay still holds the allocation after Deallocate");
    }

    [Fact]
    public void Connection_refused_is_allocation_failed_with_a_readable_reason()
    {
        var owner = CreateTestProbe();
        var nobody = FreeTcpPort();
        var allocator = StartAllocator(owner, nobody);
        Watch(allocator);

        var failed = owner.ExpectMsg<AllocationFailed>(Generous);
        Assert.Equal($"cannot reach TURN server {nobody} over TCP: connection refused", failed.Reason);
        Assert.Null(failed.Code);
        ExpectTerminated(allocator, Generous);
    }

    [Fact]
    public void Commands_sent_while_connecting_wait_for_the_allocation_and_fail_with_it()
    {
        var owner = CreateTestProbe();
        var allocator = StartAllocator(owner, FreeTcpPort());
        allocator.Tell(new CreatePermission(IPAddress.Loopback)); // stashed while connecting, dropped with the actor

        owner.ExpectMsg<AllocationFailed>(Generous);
        owner.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task The_relay_closing_the_connection_after_the_allocation_is_a_dropped_allocation_then_lost_when_it_cannot_be_made_again()
    {
        var relay = await StartRelay();
        var owner = CreateTestProbe();
        var allocator = StartAllocator(owner, relay.Tcp);
        Watch(allocator);
        var allocated = ExpectAllocated(owner);

        Sys.Stop(relay.Actor); // stops its TCP listener and connections: each connection is shut down and closed

        // the allocation lives with its connection (RFC 8656 §3.1): a new connection, a new Allocate; nobody listens any more
        string dropped = $"TURN server {relay.Tcp} dropped the allocation {allocated.Relayed}: TURN server {relay.Tcp} closed the TCP connection";
        Assert.Equal(dropped, owner.ExpectMsg<AllocationDropped>(Generous).Reason);
        var lost = owner.ExpectMsg<AllocationLost>(Generous);
        Assert.StartsWith(dropped + ", and allocating again failed: ", lost.Reason);
        Assert.Null(lost.Code);
        ExpectTerminated(allocator, Generous);
    }

    [Fact]
    public async Task Stopping_the_allocator_closes_the_connection_and_the_relay_drops_the_allocation()
    {
        var relay = await StartRelay();
        var owner = CreateTestProbe();
        var allocator = StartAllocator(owner, relay.Tcp);
        ExpectAllocated(owner);
        Assert.Single(await Allocations(relay));

        Sys.Stop(allocator);

        await Eventually(async () => (await Allocations(relay)).Count == 0, because: "closing the TCP connection did not end the allocation");
    }

    /// <summary>A loopback TCP port nothing listens on (bound, never listened, then released).</summary>
    private static IPEndPoint FreeTcpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }
}
