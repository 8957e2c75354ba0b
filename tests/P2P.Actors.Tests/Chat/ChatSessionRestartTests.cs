using System.Security.Cryptography;
using Akka.Actor;
using P2P.Actors.Chat;
using Xunit;

namespace P2P.Actors.Tests.Chat;

/// <summary>
/// For the chat: a <see cref="ChatSession"/> that throws is restarted with its memory (lines not yet
/// acknowledged, ids seen, files under way), resynchronises with its peer, and the user loses nothing: no line lost
/// or shown twice, a line, an offer or a chunk acknowledgement from the peer dropped by the fault comes again, a file
/// crossing a restart of either end arrives whole. Past <c>p2p.chat.faults-per-minute</c> the chat stops and says why.
/// </summary>
public sealed partial class ChatSessionTests
{
    [Fact]
    public async Task A_chat_that_throws_is_restarted_with_its_memory_and_every_line_arrives_once_in_order()
    {
        var s = Open("restart");
        const int Lines = 100;
        // every line once and in order, and alice's acknowledged as 1..100: the restarted chat went on counting its
        // ids (a fresh one would have started again from 1)
        LinesCrossBothWays(s, Lines, i => $"a{i}", i => $"b{i}",
            beforeLine: i => { if (i == Lines / 2) s.ChatA.Tell(new P2P.Actors.Supervision.InjectFault("injected by the test")); });
        s.B.ExpectNoMsg(TimeSpan.FromMilliseconds(500));

        var a = await s.ChatA.Ask<ChatProtocol.Stats>(new ChatProtocol.GetStats(), Generous);
        Assert.Equal((1L, 0, (long)Lines), (a.Restarts, a.Unacknowledged, a.Received));
        Assert.Equal(0, (await s.ChatB.Ask<ChatProtocol.Stats>(new ChatProtocol.GetStats(), Generous)).Restarts);
    }

    [Fact]
    public async Task A_line_from_the_peer_dropped_by_a_fault_is_sent_again_after_the_restart_and_shown_once()
    {
        var s = Open("dropped");
        s.ChatB.Tell(new ChatProtocol.Say("before"));
        s.A.FishForMessage<ChatProtocol.MessageReceived>(_ => true, Generous);
        s.B.FishForMessage<ChatProtocol.MessageDelivered>(_ => true, Generous);   // shown and acknowledged: nothing of bob's is in flight

        s.ChatA.Tell(new P2P.Actors.Supervision.InjectFault("dropped with the peer's line", OnNextPeerInput: true));
        s.ChatB.Tell(new ChatProtocol.Say("the line the fault drops"));
        var shown = s.A.FishForMessage<ChatProtocol.MessageReceived>(_ => true, Generous);
        Assert.Equal((2L, "the line the fault drops"), (shown.Id, shown.Text));
        Assert.Equal(2, s.B.FishForMessage<ChatProtocol.MessageDelivered>(_ => true, Generous).Id);
        s.A.ExpectNoMsg(TimeSpan.FromMilliseconds(500));

        var a = await s.ChatA.Ask<ChatProtocol.Stats>(new ChatProtocol.GetStats(), Generous);
        Assert.Equal((1L, 2L, 0L), (a.Restarts, a.Received, a.DuplicatesDropped));
    }

    /// <summary>8 MiB from alice to bob in 1 KiB chunks, one in flight at a time (seconds, not milliseconds), once bob has the first bytes.</summary>
    private (Sides Sides, string Sha256) SlowTransferUnderWay(string id)
    {
        ChatSettings Slow(string side) => Settings(side, chunk: 1024, window: 1);
        var s = Open(id, Slow("alice"), Slow("bob"));
        var (source, _, sha) = RandomFile($"{id}.bin", 8 * 1024 * 1024);
        OfferAndAccept(s, source);
        ChatAssertions.Await<ChatProtocol.FileProgress>(s.B, Generous, p => p.Bytes > 0);
        return (s, sha);
    }

    [Fact]
    public async Task A_file_crossing_a_restart_of_the_receiver_and_then_of_the_sender_arrives_whole()
    {
        var (s, sha) = SlowTransferUnderWay("frestart");

        s.ChatB.Tell(new P2P.Actors.Supervision.InjectFault("receiver fault"));   // it opens its .part again and asks to go on from there
        var resumed = ChatAssertions.Await<ChatProtocol.FileResumed>(s.A, Generous);
        Assert.True(resumed.Offset > 0);
        ChatAssertions.Await<ChatProtocol.FileProgress>(s.B, Generous, p => p.Bytes > resumed.Offset);

        s.ChatA.Tell(new P2P.Actors.Supervision.InjectFault("sender fault"));     // it opens the source again and goes on sending
        var completed = ChatAssertions.Await<ChatProtocol.FileCompleted>(s.B, Generous);
        Assert.Equal(sha, completed.Sha256);
        Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(completed.Path))));
        Assert.Equal(sha, ChatAssertions.Await<ChatProtocol.FileCompleted>(s.A, Generous).Sha256);
        foreach (var chat in new[] { s.ChatA, s.ChatB })
        {
            var stats = await chat.Ask<ChatProtocol.Stats>(new ChatProtocol.GetStats(), Generous);
            Assert.Equal((1L, 0, 0L), (stats.Restarts, stats.Transfers, stats.BadFrames));
        }
    }

    [Fact]
    public async Task An_offer_dropped_by_a_fault_of_the_receiver_is_made_again_and_the_file_arrives()
    {
        var s = Open("offerdrop");
        s.ChatA.Tell(new ChatProtocol.Say("hello"));
        s.B.FishForMessage<ChatProtocol.MessageReceived>(_ => true, Generous);
        s.A.FishForMessage<ChatProtocol.MessageDelivered>(_ => true, Generous);   // nothing of alice's in flight now

        s.ChatB.Tell(new P2P.Actors.Supervision.InjectFault("drops the offer", OnNextPeerInput: true));
        var (source, _, sha) = RandomFile("note.txt", 100_000);
        OfferAndAccept(s, source);   // offered to bob only by the offer made again after bob's "sync"
        Assert.Equal(sha, ChatAssertions.Await<ChatProtocol.FileCompleted>(s.B, Generous).Sha256);
        Assert.Equal(sha, ChatAssertions.Await<ChatProtocol.FileCompleted>(s.A, Generous).Sha256);
        Assert.Equal(1, (await s.ChatB.Ask<ChatProtocol.Stats>(new ChatProtocol.GetStats(), Generous)).Restarts);
    }

    [Fact]
    public async Task A_chunk_acknowledgement_dropped_by_a_fault_of_the_sender_does_not_stall_the_transfer()
    {
        // one chunk in flight at a time: with its acknowledgement lost, only the receiver's "ready" can move it on
        var (s, sha) = SlowTransferUnderWay("ackdrop");

        s.ChatA.Tell(new P2P.Actors.Supervision.InjectFault("drops an acknowledgement", OnNextPeerInput: true));
        Assert.Equal(sha, ChatAssertions.Await<ChatProtocol.FileCompleted>(s.B, Generous).Sha256);
        Assert.Equal(sha, ChatAssertions.Await<ChatProtocol.FileCompleted>(s.A, Generous).Sha256);
        Assert.Equal(1, (await s.ChatA.Ask<ChatProtocol.Stats>(new ChatProtocol.GetStats(), Generous)).Restarts);
    }

    [Fact]
    public void A_chat_that_keeps_throwing_stops_and_tells_its_owner_what_it_leaves_undelivered()
    {
        var s = Open("budget", a: Settings("alice") with { FaultsPerMinute = 2 });
        Watch(s.ChatA);
        s.ChatA.Tell(new ChatProtocol.Say("one line"));
        s.B.FishForMessage<ChatProtocol.MessageReceived>(_ => true, Generous);
        for (int i = 1; i <= 3; i++) s.ChatA.Tell(new P2P.Actors.Supervision.InjectFault($"fault {i}"));

        var stopped = s.A.FishForMessage<ChatProtocol.ChatStopped>(_ => true, Generous);
        Assert.StartsWith("the chat failed 3 times within a minute (last: fault 3)", stopped.Reason);
        ExpectTerminated(s.ChatA, Generous);
    }

    [Fact]
    public void The_fault_budget_comes_from_akka_hocon()
    {
        var hocon = Turn.TurnClientSettingsTests.RepoHocon();
        Assert.Equal(10, ChatSettings.From(hocon).FaultsPerMinute);
        var changed = Akka.Configuration.ConfigurationFactory.ParseString("p2p.chat.faults-per-minute = 3").WithFallback(hocon);
        Assert.Equal(3, ChatSettings.From(changed).FaultsPerMinute);
        Assert.Throws<Akka.Configuration.ConfigurationException>(() => (ChatSettings.Default with { FaultsPerMinute = -1 }).Validate());
    }
}
