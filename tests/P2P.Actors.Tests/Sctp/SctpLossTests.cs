using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Sctp;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sctp;

/// <summary>
/// Loss, duplication, reordering, partial reliability and timeouts, in virtual time: the test
/// scheduler only moves when the test advances it, in small steps, so retransmission timers fire
/// deterministically while the packets themselves flow between the actors in real time.
/// </summary>
public sealed class SctpLossTests(ITestOutputHelper output)
    : SctpVirtualTimeTestKit(output)
{
    private (SctpSide Client, SctpSide Server, IActorRef Pipe) Start(int seed, SctpPipe.Impair impair)
    {
        var pipe = Sys.ActorOf(SctpPipe.Props(seed));
        pipe.Tell(impair);
        var clientEvents = new ConcurrentQueue<object>();
        var serverEvents = new ConcurrentQueue<object>();
        var client = Sys.ActorOf(SctpAssociation.Props(SctpSettings.Default, pipe, Sys.ActorOf(EventSink.Props(clientEvents)), isDtlsClient: true));
        var server = Sys.ActorOf(SctpAssociation.Props(SctpSettings.Default, pipe, Sys.ActorOf(EventSink.Props(serverEvents)), isDtlsClient: false));
        pipe.Tell(new SctpPipe.Wire(client, server));
        client.Tell(SctpProtocol.Associate.Instance);
        return (new SctpSide(client, clientEvents), new SctpSide(server, serverEvents), pipe);
    }



    private ushort OpenChannel(SctpSide client, SctpSide server, SctpProtocol.OpenChannel open)
    {
        Pump(() => client.Of<SctpProtocol.AssociationEstablished>().Any() && server.Of<SctpProtocol.AssociationEstablished>().Any(), TimeSpan.FromSeconds(60), what: "association");
        client.Tell(open);
        Pump(() => client.Of<SctpProtocol.ChannelOpened>().Any(c => c.Label == open.Label) && server.Of<SctpProtocol.ChannelOpened>().Any(c => c.Label == open.Label), TimeSpan.FromSeconds(60), what: "channel");
        return client.Of<SctpProtocol.ChannelOpened>().Single(c => c.Label == open.Label).StreamId;
    }

    private static byte[] Numbered(int i, int size)
    {
        var bytes = new byte[Math.Max(size, 8)];
        Encoding.ASCII.GetBytes(i.ToString("D6")).CopyTo(bytes, 0);
        return bytes;
    }

    private static int NumberOf(SctpProtocol.MessageReceived m) => int.Parse(Encoding.ASCII.GetString(m.Data.Span[..6]));

    [Fact]
    public void Ten_percent_loss_with_duplicates_and_reordering_still_delivers_everything_in_order_exactly_once()
    {
        var (client, server, _) = Start(seed: 42, new SctpPipe.Impair(Loss: 0.10, Duplicate: 0.02, Reorder: 0.05));
        ushort stream = OpenChannel(client, server, new SctpProtocol.OpenChannel("lossy"));
        const int count = 300;
        var sizes = new Random(5);
        for (int i = 0; i < count; i++)
        {
            int size = sizes.Next(1, 5000);   // up to five fragments
            client.Tell(new SctpProtocol.SendMessage(stream, Numbered(i, size), Binary: true));
            server.Tell(new SctpProtocol.SendMessage(stream, Numbered(i, size), Binary: true));
        }
        Pump(() => client.Of<SctpProtocol.MessageReceived>().Count() >= count && server.Of<SctpProtocol.MessageReceived>().Count() >= count,
            TimeSpan.FromMinutes(5), what: "all messages");
        PumpFor(TimeSpan.FromSeconds(2));   // late duplicates would show up now
        Assert.Equal(Enumerable.Range(0, count), server.Of<SctpProtocol.MessageReceived>().Select(NumberOf));
        Assert.Equal(Enumerable.Range(0, count), client.Of<SctpProtocol.MessageReceived>().Select(NumberOf));
        var stats = StatsOf(client);
        Assert.True(stats.Retransmissions > 0);
        Output?.WriteLine($"client: {stats}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Zero_retransmit_channel_abandons_lost_messages_with_FORWARD_TSN_without_blocking_later_ones(bool ordered)
    {
        var (client, server, pipe) = Start(seed: 9, new SctpPipe.Impair(0));
        ushort stream = OpenChannel(client, server, new SctpProtocol.OpenChannel("rtx0", Ordered: ordered, MaxRetransmits: 0));
        Assert.Equal(0, server.Of<SctpProtocol.ChannelOpened>().Single().MaxRetransmits);
        pipe.Tell(new SctpPipe.Impair(Loss: 0.2));
        const int count = 200;
        for (int i = 0; i < count; i++) client.Tell(new SctpProtocol.SendMessage(stream, Numbered(i, 500), Binary: true));   // two per packet: ~100 DATA packets
        // every message sent once while the loss is on (a busy machine may take longer than the pumping below, and
        // the loss must not be lifted before the packets went through it), then time for SACKs and FORWARD-TSN
        Pump(() => StatsOf(client).DataChunksOut >= count + 1, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10), "the first transmission of every message");
        PumpFor(TimeSpan.FromSeconds(5));
        pipe.Tell(new SctpPipe.Impair(0));
        client.Tell(new SctpProtocol.SendMessage(stream, Numbered(count, 100), Binary: true));
        Pump(() => server.Of<SctpProtocol.MessageReceived>().Any(m => NumberOf(m) == count), TimeSpan.FromSeconds(30), what: "the message after the loss");

        var got = server.Of<SctpProtocol.MessageReceived>().Select(NumberOf).ToList();
        var stats = StatsOf(client);
        Output?.WriteLine($"received {got.Count}; client: {stats}");
        Assert.Equal(got.Count, got.Distinct().Count());
        Assert.InRange(got.Count, count / 2, count);   // some lost for good (plus the last one), most through
        if (ordered) Assert.Equal(got.OrderBy(n => n), got);
        Assert.True(stats.AbandonedMessages > 0, $"abandoned {stats.AbandonedMessages}");
        Assert.True(stats.ForwardTsnsSent > 0);
        // An abandoned message may still have arrived (only its SACK was lost), so this is a lower bound.
        Assert.True(got.Count >= count + 1 - stats.AbandonedMessages);
    }

    [Fact]
    public void Messages_past_their_max_lifetime_are_abandoned_and_later_ones_still_arrive()
    {
        var (client, server, pipe) = Start(seed: 11, new SctpPipe.Impair(0));
        ushort stream = OpenChannel(client, server, new SctpProtocol.OpenChannel("timed", MaxLifetime: TimeSpan.FromMilliseconds(300)));
        Assert.Equal(TimeSpan.FromMilliseconds(300), server.Of<SctpProtocol.ChannelOpened>().Single().MaxLifetime);
        pipe.Tell(new SctpPipe.Impair(Loss: 1.0));   // link cut
        for (int i = 0; i < 10; i++) client.Tell(new SctpProtocol.SendMessage(stream, Numbered(i, 2000), Binary: true));
        PumpFor(TimeSpan.FromSeconds(2));
        pipe.Tell(new SctpPipe.Impair(0));
        client.Tell(new SctpProtocol.SendMessage(stream, Numbered(99, 10), Binary: true));
        Pump(() => server.Of<SctpProtocol.MessageReceived>().Any(), TimeSpan.FromSeconds(30), what: "the message after the outage");
        PumpFor(TimeSpan.FromSeconds(1));
        Assert.Equal([99], server.Of<SctpProtocol.MessageReceived>().Select(NumberOf));
        Assert.Equal(10, StatsOf(client).AbandonedMessages);
    }

    [Fact]
    public void Setup_gives_up_after_the_configured_INIT_retransmissions()
    {
        var (client, _, _) = Start(seed: 1, new SctpPipe.Impair(Loss: 1.0));
        // The INIT and its 8 retransmissions take about 56 s of virtual time (RTO 0.5 s doubling to 10 s). A loaded
        // machine that is slow to hand a timer to the association lets the clock run on before it schedules the next
        // one, so the limit is far larger; what the test holds to is the number of attempts, not the time they took.
        Pump(() => client.Of<SctpProtocol.AssociationAborted>().Any(), TimeSpan.FromMinutes(30), TimeSpan.FromMilliseconds(500), "setup failure");
        var reason = client.Of<SctpProtocol.AssociationAborted>().Single().Reason;
        Assert.Contains("timed out", reason);
        Assert.Contains($"after {SctpSettings.Default.MaxInitRetransmits + 1} attempts", reason);
    }

    [Fact]
    public void A_dead_path_is_detected_by_missed_heartbeats()
    {
        var (client, server, pipe) = Start(seed: 2, new SctpPipe.Impair(0));
        Pump(() => client.Of<SctpProtocol.AssociationEstablished>().Any() && server.Of<SctpProtocol.AssociationEstablished>().Any(), TimeSpan.FromSeconds(10));
        PumpFor(TimeSpan.FromSeconds(70));   // heartbeats answered: still up
        Assert.Empty(client.Of<SctpProtocol.AssociationAborted>());
        pipe.Tell(new SctpPipe.Impair(Loss: 1.0));
        // 11 heartbeats unanswered, each 30 s + RTO apart: about 7.5 min of virtual time. A loaded machine that is slow to
        // hand a timer to the association lets the clock run on before it schedules the next one, so allow far more.
        Pump(() => client.Of<SctpProtocol.AssociationAborted>().Any(), TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(1), "path failure");
        Assert.Contains("path failed", client.Of<SctpProtocol.AssociationAborted>().First().Reason);
    }
    [Fact]
    public void T3_restarted_by_a_later_message_expires_one_RTO_after_that_message_not_at_the_timer_of_an_earlier_one()
    {
        var (client, server, pipe) = Start(seed: 3, new SctpPipe.Impair(0));
        ushort stream = OpenChannel(client, server, new SctpProtocol.OpenChannel("t3"));
        var rto = StatsOf(client).Rto;
        PumpFor(rto * 2, TimeSpan.FromMilliseconds(10));   // the timer of the channel's opening has fired
        // message 1 is acknowledged in real time, with the virtual clock standing: its T3 is stopped, its timer still pending
        client.Tell(new SctpProtocol.SendMessage(stream, Numbered(1, 8), Binary: true));
        AwaitCondition(() => server.Of<SctpProtocol.MessageReceived>().Count() == 1, TimeSpan.FromSeconds(15));
        Thread.Sleep(100);   // its SACK (asked for at once) handled
        var half = TimeSpan.FromTicks(rto.Ticks * 3 / 4);
        PumpFor(half, TimeSpan.FromMilliseconds(10));
        // message 2 is lost: T3 starts again now, so it expires an RTO from now, after the earlier timer was due
        long dataOut = StatsOf(client).DataChunksOut;
        pipe.Tell(new SctpPipe.Impair(Loss: 1.0));
        client.Tell(new SctpProtocol.SendMessage(stream, Numbered(2, 8), Binary: true));
        AwaitCondition(() => StatsOf(client).DataChunksOut > dataOut, TimeSpan.FromSeconds(15));
        Thread.Sleep(50);
        pipe.Tell(new SctpPipe.Impair(0));
        PumpFor(rto - half + TimeSpan.FromTicks(rto.Ticks / 2), TimeSpan.FromMilliseconds(10));   // past the earlier timer, before the new deadline
        Assert.Equal(0, StatsOf(client).T3Expirations);
        Assert.Single(server.Of<SctpProtocol.MessageReceived>());

        Pump(() => server.Of<SctpProtocol.MessageReceived>().Count() == 2, rto * 3, TimeSpan.FromMilliseconds(10), "the retransmission");
        Assert.Equal(1, StatsOf(client).T3Expirations);
    }

    /// <summary>
    /// A path that was dead long enough for T3-rtx to double to 8 s (1 + 2 + 4 s of expiries), then a new one (ICE selected a
    /// pair again after a restart): told <see cref="SctpProtocol.PathChanged"/>, the association sends what is outstanding
    /// at once with the initial RTO, instead of when the doubled timer fires. Before PathChanged existed the message came 8 s
    /// of virtual time later.
    /// </summary>
    [Fact]
    public void A_new_path_after_an_outage_carries_what_is_outstanding_at_once_not_when_the_backed_off_timer_fires()
    {
        var (client, server, pipe) = Start(seed: 4, new SctpPipe.Impair(0));
        ushort stream = OpenChannel(client, server, new SctpProtocol.OpenChannel("outage"));
        var initialRto = StatsOf(client).Rto;
        pipe.Tell(new SctpPipe.Impair(Loss: 1.0));
        long dataOut = StatsOf(client).DataChunksOut;
        client.Tell(new SctpProtocol.SendMessage(stream, Numbered(1, 8), Binary: true));
        AwaitCondition(() => StatsOf(client).DataChunksOut > dataOut, TimeSpan.FromSeconds(15));
        Pump(() => StatsOf(client).T3Expirations >= 3, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50), "three T3-rtx expiries");
        Assert.True(StatsOf(client).Rto >= initialRto * 8, $"RTO {StatsOf(client).Rto} after three expiries");
        Assert.Empty(server.Of<SctpProtocol.MessageReceived>());

        pipe.Tell(new SctpPipe.Impair(0));
        client.Tell(SctpProtocol.PathChanged.Instance);
        Pump(() => server.Of<SctpProtocol.MessageReceived>().Count() == 1, initialRto, TimeSpan.FromMilliseconds(10), "the message on the new path");
    }
}
