using Akka.Actor;
using P2P.Actors.Sctp;
using P2P.Actors.Sessions;
using P2P.Actors.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sessions;

/// <summary>
/// A session the remote closes cleanly ends on this side too: its owner hears Closed with how the
/// peer closed it, its actors stop and the LocalPeer routes nothing to it any more; no consent loss, no ICE restart, no
/// Failed. Consent runs out only after ten minutes here, so only the close itself can end the session in time.
/// </summary>
public sealed class RemoteCloseTests(ITestOutputHelper output) : RealTimeVirtualNetworkTestBase(Config, output, seed: 7675)
{
    private const string Config = """
        akka.loglevel = INFO
        p2p.ice.consent-timeout = 600s
        """;

    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private (IActorRef Alice, IActorRef Bob, IActorRef A, IActorRef B, Akka.TestKit.TestProbe Events) Connect()
    {
        var alice = StartPeer("alice", "203.0.113.10");
        var bob = StartPeer("bob", "203.0.113.20");
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        alice.Tell(new LocalPeerProtocol.OpenSession("v/a", true, link, Secure: true));
        bob.Tell(new LocalPeerProtocol.OpenSession("v/b", false, link, Secure: true));
        var (sessions, _) = SessionEvents.AwaitConnected(events, 2, Generous);
        return (alice, bob, sessions["v/a"], sessions["v/b"], events);
    }

    /// <summary>Waits for the remote side's Closed; a Failed or Disconnected on the way fails the test.</summary>
    private static SessionProtocol.Closed AwaitClosedByPeer(Akka.TestKit.TestProbe events, string sessionId)
    {
        SessionProtocol.Closed? closed = null;
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.Failed f && f.SessionId == sessionId || m is SessionProtocol.Disconnected d && d.SessionId == sessionId)
                throw new Xunit.Sdk.XunitException($"not a clean close: {m}");
            if (m is SessionProtocol.Closed c && c.SessionId == sessionId) closed = c;
            return closed is not null;
        }, Generous);
        return closed!;
    }

    private int SessionsOf(IActorRef peer)
    {
        peer.Tell(new LocalPeerProtocol.GetStats(), TestActor);
        return ExpectMsg<LocalPeerProtocol.Stats>(Generous).Sessions;
    }

    [Fact]
    public void A_session_whose_remote_closed_it_ends_here_and_its_actors_are_gone()
    {
        var (alice, bob, a, b, events) = Connect();
        Watch(a);
        b.Tell(new SessionProtocol.Close());
        var closed = AwaitClosedByPeer(events, "v/a");
        Assert.Equal("the peer closed the DTLS association", closed.PeerReason);
        ExpectTerminated(a, Generous);
        AwaitCondition(() => SessionsOf(alice) == 0 && SessionsOf(bob) == 0, Generous);
    }

    [Fact]
    public void A_user_initiated_SCTP_ABORT_from_the_remote_is_a_normal_close_not_a_failure()
    {
        // what a WebRTC stack's close() sends (aiortc: an ABORT; browsers: a User-Initiated Abort)
        var (alice, _, a, b, events) = Connect();
        Watch(a);
        // the association is up once a channel opened on both sides
        a.Tell(new SessionProtocol.OpenChannel("up"));
        var opened = new HashSet<string>();
        events.FishForMessage(m => m is SessionProtocol.ChannelOpened o && opened.Add(o.SessionId) && opened.Count == 2, Generous);
        Sys.ActorSelection(b.Path / "sctp").Tell(new SctpProtocol.Abort("the user closed the page"));
        var closed = AwaitClosedByPeer(events, "v/a");
        Assert.StartsWith("the peer closed the session (peer sent ABORT", closed.PeerReason);
        Assert.Contains("the user closed the page", closed.PeerReason);
        ExpectTerminated(a, Generous);
        AwaitCondition(() => SessionsOf(alice) == 0, Generous);
    }
}
