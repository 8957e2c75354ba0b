using System.Net;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Signaling;
using P2P.Host.Signal;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Signaling.SignalingRoomProtocol;

namespace P2P.Actors.Tests.Signaling;

/// <summary>
/// A room's seats outliving their connections, as a fleet needs: kept for a peer whose node goes away, taken back by a
/// rejoin under the same name, and a room that stops under seated connections rebuilt by them.
/// </summary>
public sealed class SignalingRoomRejoinTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>A room with alice (controlling) and bob seated, each having heard of the other.</summary>
    private (IActorRef Room, TestProbe Alice, TestProbe Bob) SeatedPair(SignalSettings? settings = null)
    {
        var room = Sys.ActorOf(SignalingRoom.Props("r", settings ?? SignalSettings.Default));
        var alice = CreateTestProbe("alice");
        var bob = CreateTestProbe("bob");
        room.Tell(new Join("r", "alice", alice));
        Assert.True(alice.ExpectMsg<JoinAccepted>(Wait).Controlling);
        room.Tell(new Join("r", "bob", bob));
        Assert.False(bob.ExpectMsg<JoinAccepted>(Wait).Controlling);
        Assert.Equal("alice", bob.ExpectMsg<Deliver>(Wait).Message.Name);
        Assert.Equal("bob", alice.ExpectMsg<Deliver>(Wait).Message.Name);
        return (room, alice, bob);
    }

    [Fact]
    public void A_seat_whose_node_goes_away_is_kept_with_what_the_other_sends_and_taken_back_by_a_rejoin()
    {
        var (room, alice, bob) = SeatedPair();
        room.Tell(new Away("r", alice));
        alice.ExpectMsg<AwayNoted>(Wait);
        Sys.Stop(alice.Ref); // its connection is gone: the room does not free the seat for it
        room.Tell(new SignalingRoomProtocol.Relay("r", bob, SignalMessage.ForCandidate("1 1 UDP 1 127.0.0.1 5000 typ host")));
        bob.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // no peer-left

        var again = CreateTestProbe("alice-again");
        room.Tell(new Join("r", "alice", again, Rejoin: true));
        var accepted = again.ExpectMsg<JoinAccepted>(Wait);
        Assert.True(accepted.Controlling); // the seat, with its role
        Assert.Equal(SignalMessage.PeerJoinedType, again.ExpectMsg<Deliver>(Wait).Message.Type);
        var kept = again.ExpectMsg<Deliver>(Wait).Message;
        Assert.Equal(("candidate", "bob"), (kept.Type, kept.From));
        bob.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // nothing happened, as far as bob knows

        room.Tell(new SignalingRoomProtocol.Relay("r", bob, SignalMessage.EndOfCandidates()));
        Assert.Equal(SignalMessage.EndOfCandidatesType, again.ExpectMsg<Deliver>(Wait).Message.Type);
    }

    [Fact]
    public void A_seat_kept_for_a_peer_that_does_not_come_back_is_freed_after_the_grace()
    {
        var (room, alice, bob) = SeatedPair(SignalSettings.Default with { RejoinGrace = TimeSpan.FromMilliseconds(300) });
        room.Tell(new Away("r", alice));
        alice.ExpectMsg<AwayNoted>(Wait);
        var left = bob.ExpectMsg<Deliver>(Wait).Message;
        Assert.Equal((SignalMessage.PeerLeftType, "alice"), (left.Type, left.Name));
    }

    [Fact]
    public void A_rejoin_takes_the_seat_of_its_name_from_a_connection_on_a_killed_node_and_a_plain_join_does_not()
    {
        var (room, alice, bob) = SeatedPair();
        var impostor = CreateTestProbe("impostor");
        room.Tell(new Join("r", "alice", impostor));
        Assert.Contains("full", impostor.ExpectMsg<JoinRefused>(Wait).Reason);

        // alice's connection still holds the seat (its node was killed and is not yet downed); alice comes back elsewhere
        var again = CreateTestProbe("alice-again");
        room.Tell(new Join("r", "alice", again, Rejoin: true));
        Assert.True(again.ExpectMsg<JoinAccepted>(Wait).Controlling);
        Assert.Equal("bob", again.ExpectMsg<Deliver>(Wait).Message.Name);
        Assert.Contains("again through another connection", alice.ExpectMsg<Deliver>(Wait).Message.Reason);
        bob.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // the old connection's end no longer frees the seat
        Sys.Stop(alice.Ref);
        bob.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        room.Tell(new SignalingRoomProtocol.Relay("r", again, SignalMessage.EndOfCandidates()));
        Assert.Equal("alice", bob.ExpectMsg<Deliver>(Wait).Message.From);
    }

    [Fact]
    public void A_join_sent_again_is_answered_again_and_nothing_else()
    {
        var (room, alice, bob) = SeatedPair();
        room.Tell(new Join("r", "alice", alice, Rejoin: true));
        Assert.True(alice.ExpectMsg<JoinAccepted>(Wait).Controlling);
        alice.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        bob.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Connections_whose_room_stops_under_them_rebuild_it_and_their_clients_see_nothing()
    {
        await using var server = await SignalServer.StartAsync(Sys, new IPEndPoint(IPAddress.Loopback, 0));
        var (alice, _) = await SignalTestSocket.JoinAsync(server.Url, "lost", "alice");
        await using var _a = alice;
        var (bob, _) = await SignalTestSocket.JoinAsync(server.Url, "lost", "bob");
        await using var _b = bob;
        await alice.ExpectAsync("peer-joined");
        await bob.ExpectAsync("peer-joined");

        // the room actor stops as a room does whose shard is handed over, or whose node is lost
        var roomActor = await Sys.ActorSelection($"/user/{SignalingRooms.Name}/room-lost").ResolveOne(Wait);
        Watch(roomActor);
        roomActor.Tell(PoisonPill.Instance);
        ExpectTerminated(roomActor, Wait);

        // both connections joined again: the next message relays through the rebuilt room, and is the first thing each
        // client hears (no error, no second joined, no second peer-joined)
        await AwaitAssertAsync(async () =>
        {
            var rebuilt = await Sys.ActorSelection($"/user/{SignalingRooms.Name}/room-lost").ResolveOne(Wait);
            Assert.NotEqual(roomActor, rebuilt);
        }, Wait);
        await bob.SendAsync(new { type = "candidate", candidate = "1 1 UDP 2130706431 127.0.0.1 5000 typ host" });
        var relayed = await alice.ExpectAsync("candidate");
        Assert.Equal("bob", relayed.GetProperty("from").GetString());
        await alice.SendAsync(new { type = "end-of-candidates" });
        await bob.ExpectAsync("end-of-candidates");
    }

    [Fact]
    public async Task A_room_that_keeps_stopping_is_rebuilt_at_most_max_rebuilds_times_then_the_client_is_told()
    {
        await using var server = await SignalServer.StartAsync(Sys, new IPEndPoint(IPAddress.Loopback, 0), SignalSettings.Default with { MaxRebuilds = 1 });
        var (alice, _) = await SignalTestSocket.JoinAsync(server.Url, "failing", "alice");
        await using var _a = alice;
        IActorRef? previous = null;
        for (int stop = 0; stop < 2; stop++)
        {
            IActorRef room = ActorRefs.Nobody;
            await AwaitAssertAsync(async () =>
            {
                room = await Sys.ActorSelection($"/user/{SignalingRooms.Name}/room-failing").ResolveOne(Wait);
                Assert.NotEqual(previous, room); // the rebuilt one
            }, Wait);
            Watch(room);
            room.Tell(PoisonPill.Instance);
            ExpectTerminated(room, Wait);
            previous = room;
        }
        Assert.Equal("room failing closed unexpectedly; join again", (await alice.ExpectAsync("error")).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task What_a_peer_sent_alone_into_a_room_that_is_lost_reaches_whoever_joins_the_rebuilt_room()
    {
        await using var server = await SignalServer.StartAsync(Sys, new IPEndPoint(IPAddress.Loopback, 0));
        var (alice, _) = await SignalTestSocket.JoinAsync(server.Url, "early", "alice");
        await using var _a = alice;
        await alice.SendAsync(new { type = "description", description = "alice's description, sent before anyone came" });
        var roomActor = await Sys.ActorSelection($"/user/{SignalingRooms.Name}/room-early").ResolveOne(Wait);
        Watch(roomActor);
        roomActor.Tell(PoisonPill.Instance); // its pending description goes with it
        ExpectTerminated(roomActor, Wait);
        await AwaitAssertAsync(async () => Assert.NotEqual(roomActor, await Sys.ActorSelection($"/user/{SignalingRooms.Name}/room-early").ResolveOne(Wait)), Wait);

        var (bob, _) = await SignalTestSocket.JoinAsync(server.Url, "early", "bob");
        await using var _b = bob;
        Assert.Equal("alice", (await bob.ExpectAsync("peer-joined")).GetProperty("name").GetString());
        Assert.Equal("alice's description, sent before anyone came", (await bob.ExpectAsync("description")).GetProperty("description").GetString());
        Assert.Equal("bob", (await alice.ExpectAsync("peer-joined")).GetProperty("name").GetString());
    }
}
