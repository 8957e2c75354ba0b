using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using P2P.Actors.Dispatch;
using Xunit;

namespace P2P.Actors.Tests.Dispatch;

public sealed class CompactMailboxTests() : TestKit(ConfigurationFactory.ParseString(
    $"p2p.session-mailbox.mailbox-type = \"{typeof(CompactMailbox).AssemblyQualifiedName}\""))
{
    [Fact]
    public void The_queue_is_first_in_first_out_and_counts_what_it_holds()
    {
        var queue = new CompactMessageQueue();
        Assert.False(queue.HasMessages);
        for (int i = 0; i < 100; i++) queue.Enqueue(TestActor, new Envelope(i, TestActor));
        Assert.True(queue.HasMessages);
        Assert.Equal(100, queue.Count);
        for (int i = 0; i < 100; i++)
        {
            Assert.True(queue.TryDequeue(out var envelope));
            Assert.Equal(i, envelope.Message);
        }
        Assert.False(queue.TryDequeue(out _));
        Assert.Equal(0, queue.Count);
        queue.Enqueue(TestActor, new Envelope("after a drain", TestActor)); // the trimmed queue still works
        Assert.True(queue.TryDequeue(out var last));
        Assert.Equal("after a drain", last.Message);
    }

    [Fact]
    public void What_is_left_at_clean_up_goes_to_the_dead_letters_queue_in_order()
    {
        var queue = new CompactMessageQueue();
        var dead = new CompactMessageQueue();
        queue.Enqueue(TestActor, new Envelope("a", TestActor));
        queue.Enqueue(TestActor, new Envelope("b", TestActor));
        queue.CleanUp(TestActor, dead);
        Assert.False(queue.HasMessages);
        Assert.True(dead.TryDequeue(out var first));
        Assert.True(dead.TryDequeue(out var second));
        Assert.Equal(["a", "b"], new[] { first.Message, second.Message });
    }

    private sealed class Echo : ReceiveActor
    {
        public Echo() => ReceiveAny(m => Sender.Tell(m));
    }

    [Fact]
    public void Session_actors_get_the_compact_mailbox_only_where_the_config_defines_it()
    {
        var props = Props.Create<Echo>();
        Assert.Equal(CompactMailbox.Id, SessionMailbox.For(props, Sys).Mailbox);
        using var plain = ActorSystem.Create("plain", ConfigurationFactory.Empty);
        Assert.Same(props, SessionMailbox.For(props, plain));

        var echo = Sys.ActorOf(SessionMailbox.For(props, Sys));
        for (int i = 0; i < 1000; i++) echo.Tell(i);
        for (int i = 0; i < 1000; i++) ExpectMsg(i);
    }
}
