using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Chat;
using P2P.Actors.Sessions;
using P2P.Protocol.Chat;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Chat;

/// <summary>
/// How the receiver of chat lines acknowledges them (<see cref="ChatSettings.LineAckDelay"/>): lines shown in order
/// within the delay share one cumulative ack, a resend is answered at once. A probe stands in for the session, so the
/// frames the chat sends are seen as they leave.
/// </summary>
public sealed class ChatLineAckTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private const string PeerEpoch = "00000000000000aa";

    /// <summary>A chat whose session is <paramref name="session"/>, with "chat" open (this side is the controlled one).</summary>
    private IActorRef OpenChat(TestProbe session, TimeSpan lineAckDelay)
    {
        var settings = ChatSettings.Default with { DownloadFolder = Path.GetTempPath(), LineAckDelay = lineAckDelay };
        var chat = Sys.ActorOf(ChatSession.Props(settings, CreateTestProbe().Ref));
        var description = new IceDescription(new IceCredentials("ufrag", "pwd-pwd-pwd-pwd-pwd-pwd"), []) { Fingerprint = "AB:CD", FingerprintAlgorithm = "sha-256", Setup = "active" };
        chat.Tell(new SessionProtocol.Started("s", session.Ref, new IceCredentials("ufrag", "pwd-pwd-pwd-pwd-pwd-pwd")) { Description = description }, session.Ref);
        chat.Tell(new SessionProtocol.ChannelOpened("s", ChatSession.ChatLabel, true, null, null, RemoteInitiated: true), session.Ref);
        return chat;
    }

    private static void Line(IActorRef chat, TestProbe session, long n) =>
        chat.Tell(new SessionProtocol.ChannelMessage("s", ChatSession.ChatLabel, new ChatLine(PeerEpoch, n, $"line {n}").ToBytes(), Binary: false), session.Ref);

    /// <summary>The next frame the chat sends on "chat".</summary>
    private static ChatFrame NextFrame(TestProbe session)
    {
        var sent = session.FishForMessage<SessionProtocol.SendOnChannel>(m => m.Label == ChatSession.ChatLabel, Generous);
        Assert.True(ChatFrame.TryParse(sent.Data.Span, out var frame, out var error), error.Message);
        return frame;
    }

    [Fact]
    public void Lines_shown_within_the_delay_are_acknowledged_by_one_cumulative_ack()
    {
        var session = CreateTestProbe();
        var chat = OpenChat(session, TimeSpan.FromSeconds(2));
        for (long n = 1; n <= 3; n++) Line(chat, session, n);

        Assert.Equal(new ChatAck(PeerEpoch, 3), NextFrame(session));
        session.ExpectNoMsg(TimeSpan.FromMilliseconds(300));   // and no ack for each line besides
    }

    [Fact]
    public void A_duplicate_is_answered_at_once_with_every_line_shown_so_far()
    {
        var session = CreateTestProbe();
        var chat = OpenChat(session, TimeSpan.FromMinutes(5));   // a delayed ack would not come within the test
        Line(chat, session, 1);
        Line(chat, session, 2);
        Line(chat, session, 1);   // sent again: the sender is catching up and learns at once how far this side got

        Assert.Equal(new ChatAck(PeerEpoch, 2), NextFrame(session));
    }

    [Fact]
    public void With_no_delay_each_line_is_acknowledged_at_once()
    {
        var session = CreateTestProbe();
        var chat = OpenChat(session, TimeSpan.Zero);
        for (long n = 1; n <= 3; n++) Line(chat, session, n);

        for (long n = 1; n <= 3; n++) Assert.Equal(new ChatAck(PeerEpoch, n), NextFrame(session));
    }

    [Fact]
    public void The_delay_is_read_from_the_hocon_and_bounded()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(200), ChatSettings.From(Turn.TurnClientSettingsTests.RepoHocon()).LineAckDelay);
        Assert.Throws<Akka.Configuration.ConfigurationException>(() => (ChatSettings.Default with { LineAckDelay = TimeSpan.FromSeconds(2) }).Validate());
        Assert.Throws<Akka.Configuration.ConfigurationException>(() => (ChatSettings.Default with { LineAckDelay = TimeSpan.FromMilliseconds(-1) }).Validate());
    }
}
