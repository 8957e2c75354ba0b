using System.Net;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Chat;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
using P2P.Protocol.Chat;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Chat;

/// <summary>Chat lines and files (G4, G5) between two peers on 127.0.0.1, each session owned by a <see cref="ChatSession"/>.</summary>
public sealed partial class ChatSessionTests : TestKit
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private readonly ITestOutputHelper _log;
    private readonly TempFolder _temp = new();
    private readonly IActorRef _host;
    private readonly TestProbe _events;
    private readonly IActorRef _link;

    public ChatSessionTests(ITestOutputHelper output) : base(string.Empty, output)
    {
        _log = output;
        _host = Sys.ActorOf(PeerHost.Props());
        foreach (var name in new[] { "alice", "bob" })
        {
            _host.Tell(new PeerHostProtocol.AddPeer(new LocalPeerSettings(name, new IPEndPoint(IPAddress.Loopback, 0), [], [])));
            ExpectMsg<PeerHostProtocol.PeerAdded>(Generous);
        }
        _events = CreateTestProbe();
        _link = Sys.ActorOf(SessionLink.Props(_events.Ref));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);   // the actor system first: it closes the chats' file handles
        if (disposing) _temp.Dispose();
    }

    private ChatSettings Settings(string side, int chunk = 16 * 1024, int window = 32) =>
        ChatSettings.Default with { DownloadFolder = _temp.Sub(side), ChunkSize = chunk, Window = window, ProgressInterval = TimeSpan.FromMilliseconds(20) };

    private sealed record Sides(IActorRef ChatA, IActorRef ChatB, TestProbe A, TestProbe B, Dictionary<string, IActorRef> Sessions);

    /// <summary>alice (controlling) and bob, each session owned by a chat; connected.</summary>
    private Sides Open(string id, ChatSettings? a = null, ChatSettings? b = null, Sides? reuse = null)
    {
        var probeA = reuse?.A ?? CreateTestProbe();
        var probeB = reuse?.B ?? CreateTestProbe();
        var chatA = reuse?.ChatA ?? Sys.ActorOf(ChatSession.Props(a ?? Settings("alice"), Sys.ActorOf(ChatSide.Props(_link, probeA.Ref))));
        var chatB = reuse?.ChatB ?? Sys.ActorOf(ChatSession.Props(b ?? Settings("bob"), Sys.ActorOf(ChatSide.Props(_link, probeB.Ref))));
        _host.Tell(new PeerHostProtocol.OpenSession("alice", $"{id}/a", true, chatA, Secure: true));
        _host.Tell(new PeerHostProtocol.OpenSession("bob", $"{id}/b", false, chatB, Secure: true));
        var (sessions, _) = SessionEvents.AwaitConnected(_events, 2, Generous);
        return new Sides(chatA, chatB, probeA, probeB, sessions);
    }

    /// <summary>A file of random bytes in the test's source folder, and its SHA-256 in hex.</summary>
    private (string Path, byte[] Content, string Sha256) RandomFile(string name, int size)
    {
        var path = Path.Combine(_temp.Sub("src"), name);
        var content = RandomNumberGenerator.GetBytes(size);
        File.WriteAllBytes(path, content);
        return (path, content, Convert.ToHexStringLower(SHA256.HashData(content)));
    }

    /// <summary>alice offers the file, bob is told and accepts it.</summary>
    private static ChatProtocol.FileOffered OfferAndAccept(Sides s, string path)
    {
        s.ChatA.Tell(new ChatProtocol.SendFile(path));
        var offered = s.B.FishForMessage<ChatProtocol.FileOffered>(_ => true, Generous);
        s.ChatB.Tell(new ChatProtocol.AcceptFile(offered.Id));
        return offered;
    }

    /// <summary>
    /// <paramref name="lines"/> lines each way (<paramref name="beforeLine"/> first, for each), and each side gets the
    /// other's, all in order, and sees its own acknowledged with ids 1.. in order.
    /// </summary>
    private static void LinesCrossBothWays(Sides s, int lines, Func<int, string> fromAlice, Func<int, string> fromBob, Action<int>? beforeLine = null)
    {
        for (int i = 0; i < lines; i++)
        {
            beforeLine?.Invoke(i);
            s.ChatA.Tell(new ChatProtocol.Say(fromAlice(i)));
            s.ChatB.Tell(new ChatProtocol.Say(fromBob(i)));
        }
        var (atA, deliveredFromA) = ChatAssertions.AwaitLines(s.A, lines, Generous);
        var (atB, deliveredFromB) = ChatAssertions.AwaitLines(s.B, lines, Generous);
        Assert.Equal(Enumerable.Range(0, lines).Select(fromBob), atA);
        Assert.Equal(Enumerable.Range(0, lines).Select(fromAlice), atB);
        Assert.Equal(Enumerable.Range(1, lines).Select(i => (long)i), deliveredFromA);
        Assert.Equal(Enumerable.Range(1, lines).Select(i => (long)i), deliveredFromB);
    }

    [Fact]
    public async Task Two_hundred_lines_each_way_arrive_once_in_order_and_are_acknowledged()
    {
        var s = Open("lines");
        const int Lines = 200;
        LinesCrossBothWays(s, Lines, i => $"from alice {i}", i => $"from bob {i} ünïcødé");

        // nothing shown twice afterwards
        s.A.ExpectNoMsg(TimeSpan.FromSeconds(1));
        s.B.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        var stats = await s.ChatB.Ask<ChatProtocol.Stats>(new ChatProtocol.GetStats(), Generous);
        Assert.Equal(0, stats.Unacknowledged);
        Assert.Equal(Lines, stats.Received);
    }

    [Fact]
    public void A_five_mib_file_arrives_with_the_same_sha256_and_progress()
    {
        var s = Open("file");
        var (source, content, sha) = RandomFile("photo.raw", 5 * 1024 * 1024);
        var offered = OfferAndAccept(s, source);
        var sent = s.A.FishForMessage<ChatProtocol.FileOfferSent>(_ => true, Generous);
        Assert.Equal(("photo.raw", content.LongLength, sha), (sent.Name, sent.Size, sent.Sha256));
        Assert.Equal((sent.Id, "photo.raw", content.LongLength), (offered.Id, offered.Name, offered.Size));

        var progress = new List<ChatProtocol.FileProgress>();
        var completed = ChatAssertions.Await<ChatProtocol.FileCompleted>(s.B, Generous, seen: m =>
        {
            if (m is ChatProtocol.FileProgress p) progress.Add(p);
        });
        _log.WriteLine($"{progress.Count} progress events, last {progress.LastOrDefault()}");
        Assert.Equal(sha, completed.Sha256);
        Assert.Equal(Path.Combine(_temp.Sub("bob"), "photo.raw"), completed.Path);
        Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(completed.Path))));
        Assert.False(File.Exists(completed.Path + ".part"));
        Assert.NotEmpty(progress);
        Assert.All(progress, p => Assert.Equal(content.LongLength, p.Total));
        Assert.Equal(progress.Select(p => p.Bytes).Order(), progress.Select(p => p.Bytes));
        Assert.All(progress, p => Assert.True(p.BytesPerSecond > 0));

        var senderDone = ChatAssertions.Await<ChatProtocol.FileCompleted>(s.A, Generous);
        Assert.Equal((sent.Id, source, sha), (senderDone.Id, senderDone.Path, senderDone.Sha256));
    }

    [Fact]
    public async Task Offered_names_that_leave_the_download_folder_are_refused_and_bad_frames_do_not_stop_the_chat()
    {
        var s = Open("names");
        s.ChatA.Tell(new ChatProtocol.Say("hello")); // so that "chat" is open when the forged frames go
        s.B.FishForMessage<ChatProtocol.MessageReceived>(_ => true, Generous);

        string sha = new('0', 64);
        var forged = new[] { ("a1", "../evil"), ("a2", "/etc/passwd"), ("a3", "sub/dir.txt"), ("a4", "..\\evil"), ("a5", "nul\0byte") };
        foreach (var (id, name) in forged)
        {
            var offer = new FileOffer(id, name, 10, sha);
            s.Sessions["names/a"].Tell(new SessionProtocol.SendOnChannel(ChatSession.ChatLabel, offer.ToBytes(), Binary: false));
        }
        s.Sessions["names/a"].Tell(new SessionProtocol.SendOnChannel(ChatSession.ChatLabel, Encoding.UTF8.GetBytes("{not json"), Binary: false));
        s.Sessions["names/a"].Tell(new SessionProtocol.SendOnChannel(ChatSession.ChatLabel, Encoding.UTF8.GetBytes("{\"t\":\"msg\"}"), Binary: false));

        var failed = new Dictionary<string, string>();
        s.B.FishForMessage(m =>
        {
            if (m is ChatProtocol.FileOffered o) throw new Xunit.Sdk.XunitException($"'{o.Name}' was offered to the user");
            if (m is ChatProtocol.FileFailed f) failed[f.Id] = f.Reason;
            return failed.Count == forged.Length;
        }, Generous);
        foreach (var (id, reason) in failed) _log.WriteLine($"{id}: {reason}");
        Assert.Contains("outside the download folder", failed["a1"]);
        Assert.Contains("outside the download folder", failed["a2"]);
        Assert.Contains("outside the download folder", failed["a3"]);
        Assert.Contains("outside the download folder", failed["a4"]);
        Assert.Contains("characters", failed["a5"]);
        Assert.False(File.Exists(Path.Combine(_temp.Root, "evil")));
        Assert.Empty(Directory.GetFiles(_temp.Sub("bob")));

        // a line too long for one frame is refused on the sender, with a sentence
        s.ChatA.Tell(new ChatProtocol.Say(new string('x', ChatSession.MaxLineBytes + 1)));
        Assert.Contains("at most", s.A.FishForMessage<ChatProtocol.MessageRefused>(_ => true, Generous).Reason);

        // the chat goes on, and counted what it dropped
        s.ChatA.Tell(new ChatProtocol.Say("still here"));
        Assert.Equal("still here", s.B.FishForMessage<ChatProtocol.MessageReceived>(_ => true, Generous).Text);
        var stats = await s.ChatB.Ask<ChatProtocol.Stats>(new ChatProtocol.GetStats(), Generous);
        Assert.Equal(2, stats.BadFrames);
    }

    [Fact]
    public void A_missing_file_fails_with_a_sentence_and_the_chat_keeps_running()
    {
        var s = Open("missing");
        var missing = Path.Combine(_temp.Root, "no-such-file.bin");
        s.ChatA.Tell(new ChatProtocol.SendFile(missing));
        var failed = s.A.FishForMessage<ChatProtocol.FileFailed>(_ => true, Generous);
        Assert.Contains("cannot send", failed.Reason);
        Assert.Contains(missing, failed.Reason);
        s.ChatA.Tell(new ChatProtocol.Say("after the failure"));
        Assert.Equal("after the failure", s.B.FishForMessage<ChatProtocol.MessageReceived>(_ => true, Generous).Text);
    }

    [Fact]
    public void An_existing_file_is_not_overwritten_without_confirmation()
    {
        var s = Open("exists");
        var existing = Path.Combine(_temp.Sub("bob"), "notes.txt");
        File.WriteAllText(existing, "bob's own notes");
        var source = Path.Combine(_temp.Sub("src"), "notes.txt");
        File.WriteAllText(source, "alice's notes, newer");

        var offered = OfferAndAccept(s, source);
        var confirm = ChatAssertions.Await<ChatProtocol.FileNeedsConfirmation>(s.B, Generous,
            seen: m => _ = m is ChatProtocol.FileCompleted ? throw new Xunit.Sdk.XunitException("overwritten without confirmation") : 0);
        Assert.Equal((offered.Id, existing), (confirm.Id, confirm.Path));
        s.B.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.Equal("bob's own notes", File.ReadAllText(existing));

        s.ChatB.Tell(new ChatProtocol.AcceptFile(offered.Id, Overwrite: true));
        var completed = ChatAssertions.Await<ChatProtocol.FileCompleted>(s.B, Generous);
        Assert.Equal(existing, completed.Path);
        Assert.Equal("alice's notes, newer", File.ReadAllText(existing));
    }

    [Fact]
    public void A_rejected_offer_fails_on_the_sender()
    {
        var s = Open("reject");
        s.ChatA.Tell(new ChatProtocol.SendFile(RandomFile("unwanted.bin", 1000).Path));
        var offered = s.B.FishForMessage<ChatProtocol.FileOffered>(_ => true, Generous);
        s.ChatB.Tell(new ChatProtocol.RejectFile(offered.Id));
        var failed = s.A.FishForMessage<ChatProtocol.FileFailed>(_ => true, Generous);
        Assert.Equal(offered.Id, failed.Id);
        Assert.Contains("refused", failed.Reason);
        Assert.Empty(Directory.GetFiles(_temp.Sub("bob")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_transfer_cut_by_the_end_of_its_session_resumes_from_the_part_file_on_a_new_session(bool sameChats)
    {
        // small chunks and one in flight: the transfer takes long enough to be interrupted half-way
        ChatSettings alice = Settings("alice", chunk: 4096, window: 1), bob = Settings("bob", chunk: 4096, window: 1);
        var s = Open("r1", alice, bob);
        var (source, content, sha) = RandomFile("big.bin", 4 * 1024 * 1024);
        var offered = OfferAndAccept(s, source);
        ChatAssertions.Await<ChatProtocol.FileProgress>(s.B, Generous, p => p.Bytes > 0,
            seen: m => _ = m is ChatProtocol.FileCompleted ? throw new Xunit.Sdk.XunitException("finished before the interruption") : 0);

        // the interruption: both sessions end
        s.Sessions["r1/a"].Tell(new SessionProtocol.Close());
        s.Sessions["r1/b"].Tell(new SessionProtocol.Close());
        var closed = new HashSet<string>();
        ChatAssertions.AwaitSession(_events, m => m is SessionProtocol.Closed c && closed.Add(c.SessionId) && closed.Count == 2, Generous);
        if (!sameChats)
        {
            // the users' programs end too: nothing survives but the sender's file and the receiver's .part
            foreach (var chat in new[] { s.ChatA, s.ChatB })
            {
                Watch(chat);
                Sys.Stop(chat);
                ExpectTerminated(chat, Generous);
            }
        }
        var part = Path.Combine(_temp.Sub("bob"), "big.bin.part");
        long partLength = new FileInfo(part).Length;
        _log.WriteLine($"interrupted with {partLength} of {content.Length} bytes in the .part");
        Assert.InRange(partLength, 1, content.Length - 1);

        // a new session between the same two users: owned by the same chats, which carry on by themselves,
        // or by new ones, where the user sends the same file again and the receiver accepts it again
        if (sameChats) Open("r2", reuse: s);
        else
        {
            s = Open("r2", alice, bob);
            offered = OfferAndAccept(s, source);
            Assert.Equal(("big.bin", content.LongLength), (offered.Name, offered.Size));
        }
        var resumed = ChatAssertions.Await<ChatProtocol.FileResumed>(s.A, Generous);
        Assert.Equal(offered.Id, resumed.Id);
        Assert.InRange(resumed.Offset, partLength, content.Length - 1);
        var progressAfter = new List<long>();
        var completed = ChatAssertions.Await<ChatProtocol.FileCompleted>(s.B, TimeSpan.FromSeconds(120), seen: m =>
        {
            if (m is ChatProtocol.FileProgress p) progressAfter.Add(p.Bytes);
        });
        Assert.Equal(sha, completed.Sha256);
        Assert.Equal(content, File.ReadAllBytes(completed.Path));
        Assert.False(File.Exists(part));
        Assert.All(progressAfter, b => Assert.True(b >= resumed.Offset)); // never below where it resumed (the first report may be at it)
        Assert.Equal(sha, ChatAssertions.Await<ChatProtocol.FileCompleted>(s.A, Generous).Sha256);
    }

    [Fact]
    public void A_part_file_that_is_not_a_prefix_of_the_offered_file_ends_in_a_sha256_mismatch_and_is_deleted()
    {
        var s = Open("mismatch");
        var stale = Path.Combine(_temp.Sub("bob"), "doc.bin.part");
        File.WriteAllBytes(stale, RandomNumberGenerator.GetBytes(30_000)); // left by some other transfer of that name
        OfferAndAccept(s, RandomFile("doc.bin", 100_000).Path);
        Assert.Equal(30_000, ChatAssertions.Await<ChatProtocol.FileResumed>(s.A, Generous).Offset);
        var failed = s.B.FishForMessage<ChatProtocol.FileFailed>(_ => true, Generous);
        Assert.StartsWith("SHA-256 mismatch", failed.Reason);
        Assert.False(File.Exists(stale));
        Assert.False(File.Exists(Path.Combine(_temp.Sub("bob"), "doc.bin")));
        var senderFailed = s.A.FishForMessage<ChatProtocol.FileFailed>(_ => true, Generous);
        Assert.Contains("SHA-256 mismatch", senderFailed.Reason);
    }

    [Fact]
    public void A_closed_chat_channel_is_opened_again_and_unacknowledged_lines_arrive_once()
    {
        var s = Open("cc", a: Settings("alice") with { ReopenDelay = TimeSpan.FromMilliseconds(200) });
        for (int i = 0; i < 100; i++) s.ChatB.Tell(new ChatProtocol.Say($"b{i}"));
        s.A.FishForMessage<ChatProtocol.MessageReceived>(m => m.Id == 10, Generous);
        s.Sessions["cc/b"].Tell(new SessionProtocol.CloseChannel(ChatSession.ChatLabel));
        for (int i = 100; i < 200; i++) s.ChatB.Tell(new ChatProtocol.Say($"b{i}"));

        var received = new List<string>();
        var delivered = new List<long>();
        s.A.FishForMessage(m =>
        {
            if (m is ChatProtocol.MessageReceived r) received.Add(r.Text);
            return received.Count == 190;
        }, Generous);
        s.B.FishForMessage(m =>
        {
            if (m is ChatProtocol.MessageDelivered d) delivered.Add(d.Id);
            return delivered.Count == 200;
        }, Generous);
        Assert.Equal(Enumerable.Range(10, 190).Select(i => $"b{i}"), received); // ids count from 1: id 10 was b9
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), delivered);
        s.A.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void A_closed_file_channel_is_opened_again_by_the_sender_and_the_transfer_resumes()
    {
        ChatSettings Slow(string side) => Settings(side, chunk: 4096, window: 1) with { ReopenDelay = TimeSpan.FromMilliseconds(200) };
        var s = Open("fc", Slow("alice"), Slow("bob"));
        var (source, _, sha) = RandomFile("clip.bin", 4 * 1024 * 1024);
        var offered = OfferAndAccept(s, source);
        ChatAssertions.Await<ChatProtocol.FileProgress>(s.B, Generous, p => p.Bytes > 0);
        s.Sessions["fc/b"].Tell(new SessionProtocol.CloseChannel(ChatSession.FileLabelPrefix + offered.Id));

        var resumed = ChatAssertions.Await<ChatProtocol.FileResumed>(s.A, Generous);
        Assert.True(resumed.Offset > 0);
        Assert.Equal(sha, ChatAssertions.Await<ChatProtocol.FileCompleted>(s.B, Generous).Sha256);
        Assert.Equal(sha, ChatAssertions.Await<ChatProtocol.FileCompleted>(s.A, Generous).Sha256);
    }
}
