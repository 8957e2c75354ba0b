using System.Net;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Chat;
using P2P.Actors.Ice;
using P2P.Actors.Sessions;
using P2P.Actors.Tests.Support;
using P2P.Actors.Transport.Virtual;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Chat;

/// <summary>
/// G5 on the virtual network in real time (as in SecureSessionOnVirtualNetworkTests: the DTLS handshake runs on the
/// wall clock; no loss here, so its default retransmission timers do): the link is cut while lines are being sent, consent is lost, ICE restarts when the link returns, and
/// every line still arrives exactly once and in order.
/// </summary>
public sealed class ChatAcrossOutageTests(ITestOutputHelper output) : RealTimeVirtualNetworkTestBase("akka.loglevel = INFO", output, seed: 4761)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);
    // consent checked every 500 ms and lost after 3 s, so the outage and the restart take seconds, not half a minute
    private static readonly IceSettings QuickConsent = IceSettings.Default with { ConsentInterval = TimeSpan.FromMilliseconds(500), ConsentTimeout = TimeSpan.FromSeconds(3) };
    private readonly ITestOutputHelper _log = output;

    [Fact]
    public async Task Lines_sent_across_a_cut_link_and_an_ice_restart_arrive_exactly_once_in_order()
    {
        var alice = StartPeer("alice", "203.0.113.10", QuickConsent);
        var bob = StartPeer("bob", "203.0.113.20", QuickConsent);
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        var atA = CreateTestProbe();
        var atB = CreateTestProbe();
        var chatA = Sys.ActorOf(ChatSession.Props(ChatSettings.Default, Sys.ActorOf(ChatSide.Props(link, atA.Ref))));
        var chatB = Sys.ActorOf(ChatSession.Props(ChatSettings.Default, Sys.ActorOf(ChatSide.Props(link, atB.Ref))));
        alice.Tell(new LocalPeerProtocol.OpenSession("o/a", true, chatA, Secure: true));
        bob.Tell(new LocalPeerProtocol.OpenSession("o/b", false, chatB, Secure: true));
        SessionEvents.AwaitConnected(events, 2, Generous);

        int next = 0;
        void SayBatch(int count)
        {
            for (int i = 0; i < count; i++, next++)
            {
                chatA.Tell(new ChatProtocol.Say($"a{next}"));
                chatB.Tell(new ChatProtocol.Say($"b{next}"));
            }
        }

        SayBatch(50);
        // the chat flows before the cut: these arrive on the open channel
        var (firstAtA, firstFromA) = ChatAssertions.AwaitLines(atA, 50, Generous);
        var (firstAtB, firstFromB) = ChatAssertions.AwaitLines(atB, 50, Generous);
        SayBatch(50);
        Net.Cut("alice"); // lines of the batch above are still in flight
        SayBatch(50); // into the cut
        var disconnected = new HashSet<string>();
        ChatAssertions.AwaitSession(events, m => m is SessionProtocol.Disconnected d && disconnected.Add(d.SessionId), Generous);
        SayBatch(50); // while consent is lost and ICE restarts
        Net.Cut("alice", false);
        var restarted = new HashSet<string>();
        var connected = new HashSet<string>();
        ChatAssertions.AwaitSession(events, m =>
        {
            if (m is SessionProtocol.Restarted r) restarted.Add(r.SessionId);
            if (m is SessionProtocol.Connected c) connected.Add(c.SessionId);
            return connected.Count == 2;
        }, Generous);
        _log.WriteLine($"disconnected: {string.Join(", ", disconnected)}; restarted: {string.Join(", ", restarted)}");
        Assert.NotEmpty(restarted);
        SayBatch(50); // after the restart

        const int Lines = 250; // five batches of 50
        var (restAtA, restFromA) = ChatAssertions.AwaitLines(atA, Lines - 50, Generous);
        var (restAtB, restFromB) = ChatAssertions.AwaitLines(atB, Lines - 50, Generous);
        var receivedByA = firstAtA.Concat(restAtA).ToList();
        var receivedByB = firstAtB.Concat(restAtB).ToList();
        var deliveredFromA = firstFromA.Concat(restFromA).ToList();
        var deliveredFromB = firstFromB.Concat(restFromB).ToList();
        Assert.Equal(Enumerable.Range(0, Lines).Select(i => $"b{i}"), receivedByA);
        Assert.Equal(Enumerable.Range(0, Lines).Select(i => $"a{i}"), receivedByB);
        Assert.Equal(Enumerable.Range(1, Lines).Select(i => (long)i), deliveredFromA);
        Assert.Equal(Enumerable.Range(1, Lines).Select(i => (long)i), deliveredFromB);

        // nothing arrives twice later (resent lines that SCTP also delivered are dropped by id)
        foreach (var probe in new[] { atA, atB })
            while (probe.ReceiveOne(TimeSpan.FromSeconds(2)) is { } late)
                if (late is ChatProtocol.MessageReceived or ChatProtocol.MessageDelivered) throw new Xunit.Sdk.XunitException($"shown twice: {late}");
        _log.WriteLine((await chatA.Ask<ChatProtocol.Stats>(new ChatProtocol.GetStats(), Generous)).ToString());
        var stats = await chatB.Ask<ChatProtocol.Stats>(new ChatProtocol.GetStats(), Generous);
        _log.WriteLine(stats.ToString());
        Assert.Equal(Lines, stats.Received);
        Assert.Equal(0, stats.Unacknowledged);
    }
}
