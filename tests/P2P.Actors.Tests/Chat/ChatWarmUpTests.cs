using Akka.TestKit.Xunit2;
using P2P.Actors.Chat;
using P2P.Actors.Ice;
using P2P.Actors.Stun;
using P2P.Actors.Turn;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Chat;

/// <summary>The throw-away secure chat a `p2p` process runs so that its real session and first lines do not pay the JIT.</summary>
public sealed class ChatWarmUpTests : TestKit
{
    public ChatWarmUpTests(ITestOutputHelper output) : base(string.Empty, output) { }

    [Fact]
    public void The_warm_up_connects_a_secure_chat_in_the_process_carries_its_lines_and_stops_with_its_peers()
    {
        var warmUp = Sys.ActorOf(ChatWarmUp.Props(IceSettings.Default, StunSettings.Default, TurnClientSettings.Default,
            ChatSettings.Default with { DownloadFolder = Path.GetTempPath(), WarmUpLines = 12 }), "warm-up");
        Watch(warmUp);
        warmUp.Tell(new ChatWarmUpProtocol.Run(TellWhenOver: true), TestActor);
        // told after the first line, so that a --signal client joins its room while the other lines go on
        var done = ExpectMsg<ChatWarmUpProtocol.Done>(TimeSpan.FromSeconds(30));
        Assert.Null(done.Problem);
        Assert.Equal(1, done.Lines);
        var over = ExpectMsg<ChatWarmUpProtocol.Over>(TimeSpan.FromSeconds(30));
        Assert.Null(over.Problem);
        Assert.Equal(12, over.Lines); // paced, every line acknowledged by the other chat
        ExpectTerminated(warmUp, TimeSpan.FromSeconds(10)); // its host, peers and sockets with it: nothing of it stays in the process
    }
}
