using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Sctp;
using P2P.Actors.Transport;
using P2P.Protocol.Sctp;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sctp;

/// <summary>
/// Fast retransmit (RFC 9260 §7.2.4) between two associations: one DATA packet is lost once, and the chunk it
/// carried must be sent again because the SACKs for the packets after it report it missing three times, not
/// because T3-rtx expired. Virtual time makes that strict: once the channel is open the test scheduler is never
/// advanced again, so no retransmission timer can fire at all and only fast retransmit can recover the loss.
/// </summary>
public sealed class SctpFastRetransmitTests(ITestOutputHelper output)
    : SctpVirtualTimeTestKit(output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Joins two associations and drops, once, the first packet from the client with a DATA chunk whose user data
    /// begins with the armed marker. Counts the DATA chunks with that marker it saw from the client.
    /// </summary>
    private sealed class DropOnce : ReceiveActor
    {
        public sealed record Wire(IActorRef Client, IActorRef Server);

        public sealed record Arm(string Marker);

        public sealed record GetCounts;

        public sealed record Counts(int Dropped, int MarkedChunksSeen);

        public DropOnce()
        {
            IActorRef client = ActorRefs.Nobody, server = ActorRefs.Nobody;
            byte[]? marker = null;
            int dropped = 0, seen = 0;
            Receive<Wire>(m => (client, server) = (m.Client, m.Server));
            Receive<Arm>(m => marker = Encoding.ASCII.GetBytes(m.Marker));
            Receive<GetCounts>(_ => Sender.Tell(new Counts(dropped, seen)));
            Receive<DatagramProtocol.Send>(m =>
            {
                bool fromClient = Sender.Equals(client);
                if (fromClient && marker is not null && Carries(m.Datagram.Span, marker))
                {
                    seen++;
                    if (dropped == 0)
                    {
                        dropped++;
                        return;
                    }
                }
                (fromClient ? server : client).Tell(new DatagramProtocol.Received(m.Datagram));
            });
        }

        private static bool Carries(ReadOnlySpan<byte> packet, ReadOnlySpan<byte> marker)
        {
            if (!SctpPacket.TryParse(packet, out var view, out _)) return false;
            foreach (var chunk in view.Chunks)
                if (chunk.Type == SctpChunkType.Data && DataChunk.TryParse(chunk, out var data, out _) && data.UserData.StartsWith(marker)) return true;
            return false;
        }
    }


    private static string Message(int i) => $"msg-{i:D3}-" + new string((char)('a' + i % 26), 900);

    [Fact]
    public void One_lost_DATA_packet_is_recovered_by_fast_retransmit_before_any_timeout_and_delivered_once_in_order()
    {
        var relay = Sys.ActorOf(Akka.Actor.Props.Create(() => new DropOnce()));
        var clientEvents = new ConcurrentQueue<object>();
        var serverEvents = new ConcurrentQueue<object>();
        var client = new SctpSide(Sys.ActorOf(SctpAssociation.Props(SctpSettings.Default, relay, Sys.ActorOf(EventSink.Props(clientEvents)), isDtlsClient: true)), clientEvents);
        var server = new SctpSide(Sys.ActorOf(SctpAssociation.Props(SctpSettings.Default, relay, Sys.ActorOf(EventSink.Props(serverEvents)), isDtlsClient: false)), serverEvents);
        relay.Tell(new DropOnce.Wire(client.Association, server.Association));
        client.Tell(SctpProtocol.Associate.Instance);
        client.Tell(new SctpProtocol.OpenChannel("fast"));
        Pump(() => client.Of<SctpProtocol.ChannelOpened>().Any() && server.Of<SctpProtocol.ChannelOpened>().Any(), TimeSpan.FromSeconds(30), what: "the channel");
        ushort stream = client.Of<SctpProtocol.ChannelOpened>().Single().StreamId;
        var before = StatsOf(client);

        // From here on virtual time stands still: T3-rtx (and every other timer) cannot fire.
        relay.Tell(new DropOnce.Arm("msg-002-"));
        const int count = 12;   // one ~900-byte message per packet: nine packets after the lost one to report it missing
        for (int i = 0; i < count; i++) client.Tell(new SctpProtocol.SendMessage(stream, Encoding.ASCII.GetBytes(Message(i)), Binary: false));

        AwaitCondition(() => server.Of<SctpProtocol.MessageReceived>().Count() >= count, Generous, TimeSpan.FromMilliseconds(5),
            "every message, with virtual time stopped (only a fast retransmission can bring the lost one)");
        var got = server.Of<SctpProtocol.MessageReceived>().Select(m => Encoding.ASCII.GetString(m.Data.Span)).ToList();
        Assert.Equal(Enumerable.Range(0, count).Select(Message), got);

        var stats = StatsOf(client);
        var counts = AskFor<DropOnce.Counts>(relay, new DropOnce.GetCounts());
        Output?.WriteLine($"relay: {counts}; client before: {before}; after: {stats}; server: {StatsOf(server)}");
        Assert.Equal(1, counts.Dropped);
        Assert.Equal(2, counts.MarkedChunksSeen);   // the lost transmission and exactly one retransmission
        Assert.Equal(before.T3Expirations, stats.T3Expirations);
        Assert.Equal(1, stats.FastRetransmits - before.FastRetransmits);
        Assert.Equal(1, stats.Retransmissions - before.Retransmissions);
        Assert.Equal(0, StatsOf(server).DuplicateChunksIn);

        // Still nothing more after a while: the message arrived once.
        Thread.Sleep(100);
        Assert.Equal(count, server.Of<SctpProtocol.MessageReceived>().Count());
    }

    private T AskFor<T>(IActorRef target, object question)
    {
        var probe = CreateTestProbe();
        target.Tell(question, probe.Ref);
        return probe.ExpectMsg<T>(Generous);
    }
}
