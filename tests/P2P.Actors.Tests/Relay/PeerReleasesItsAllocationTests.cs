using System.Net;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Turn;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// A peer that goes away releases its TURN allocation at once (RFC 8656 §8: Refresh with LIFETIME 0) instead of
/// leaving it on the server, counted against the user's quota, until it expires: when told to
/// (<see cref="LocalPeerProtocol.Release"/>), when removed from its host, and when the process's actor system shuts down.
/// </summary>
public sealed class PeerReleasesItsAllocationTests(ITestOutputHelper output) : RelayTestBase(output)
{
    private static LocalPeerSettings PeerOn(RunningRelay relay, string name) =>
        new(name, new IPEndPoint(IPAddress.Loopback, 0), [], [new TurnServer(relay.Udp, new TurnCredentials("alice", "secret"))]);

    private static Task AllocationsAre(RunningRelay relay, int count, string because) =>
        Eventually(async () => (await Allocations(relay)).Count == count, TimeSpan.FromSeconds(10), because);

    [Fact]
    public async Task A_peer_told_to_release_frees_its_allocation_then_stops()
    {
        var relay = await StartRelay();
        var parent = CreateTestProbe();
        var peer = parent.ChildActorOf(LocalPeer.Props(PeerOn(relay, "p"), IceSettings.Default, StunSettings.Default, TurnClientSettings.Default), "p");
        parent.ExpectMsg<LocalPeerProtocol.PeerReady>(TimeSpan.FromSeconds(10));
        await AllocationsAre(relay, 1, "the peer allocates on the relay");

        Watch(peer);
        peer.Tell(new LocalPeerProtocol.Release());
        var released = ExpectMsg<LocalPeerProtocol.Released>(TimeSpan.FromSeconds(10));
        Assert.Equal(("p", 1, 0), (released.Name, released.Allocations, released.Unanswered));
        ExpectTerminated(peer);
        Assert.Empty(await Allocations(relay)); // confirmed by the server before Released
    }

    [Fact]
    public async Task A_peer_removed_from_its_host_frees_its_allocation()
    {
        var relay = await StartRelay();
        var host = Sys.ActorOf(PeerHost.Props());
        host.Tell(new PeerHostProtocol.AddPeer(PeerOn(relay, "p")));
        ExpectMsg<PeerHostProtocol.PeerAdded>(TimeSpan.FromSeconds(10));
        await AllocationsAre(relay, 1, "the peer allocates on the relay");

        host.Tell(new PeerHostProtocol.RemovePeer("p"));
        await AllocationsAre(relay, 0, "the removed peer's allocation is released");
    }

    [Fact]
    public async Task Shutting_down_the_actor_system_frees_every_peers_allocation_first()
    {
        var relay = await StartRelay();
        var other = ActorSystem.Create("process", "akka.loglevel = WARNING");
        try
        {
            var host = other.ActorOf(PeerHost.Props(), "peers");
            foreach (var name in new[] { "a", "b" })
                Assert.IsType<PeerHostProtocol.PeerAdded>(await host.Ask<object>(new PeerHostProtocol.AddPeer(PeerOn(relay, name)), TimeSpan.FromSeconds(10)));
            await AllocationsAre(relay, 2, "both peers allocate on the relay");

            await CoordinatedShutdown.Get(other).Run(CoordinatedShutdown.ClrExitReason.Instance);
            // released before the system went down (the relay forgets an allocation its client deleted a moment after
            // answering the Refresh), not expired minutes later
            await AllocationsAre(relay, 0, "every allocation is deleted by its client");
        }
        finally
        {
            await other.Terminate();
        }
    }

    [Fact]
    public async Task A_peer_whose_server_does_not_answer_stops_after_the_release_timeout()
    {
        var relay = await StartRelay();
        var parent = CreateTestProbe();
        var turn = TurnClientSettings.Default with { ReleaseTimeout = TimeSpan.FromMilliseconds(300) };
        var peer = parent.ChildActorOf(LocalPeer.Props(PeerOn(relay, "p"), IceSettings.Default, StunSettings.Default, turn), "p");
        parent.ExpectMsg<LocalPeerProtocol.PeerReady>(TimeSpan.FromSeconds(10));
        await AllocationsAre(relay, 1, "the peer allocates on the relay");
        Watch(relay.Actor);
        Sys.Stop(relay.Actor); // the server goes away: the release is never answered
        ExpectTerminated(relay.Actor);

        Watch(peer);
        peer.Tell(new LocalPeerProtocol.Release());
        var released = ExpectMsg<LocalPeerProtocol.Released>(TimeSpan.FromSeconds(5));
        Assert.Equal((1, 1), (released.Allocations, released.Unanswered));
        ExpectTerminated(peer);
    }
}
