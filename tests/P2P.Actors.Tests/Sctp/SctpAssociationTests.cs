using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Sctp;
using P2P.Actors.Transport;
using P2P.Protocol.Sctp;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sctp;

/// <summary>Two <see cref="SctpAssociation"/>s back to back through <see cref="SctpPipe"/>, in real time.</summary>
public sealed class SctpAssociationTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(15);

    private (SctpSide Client, SctpSide Server, IActorRef Pipe) Start(bool bothInit = false, SctpSettings? settings = null)
    {
        settings ??= SctpSettings.Default;
        var pipe = Sys.ActorOf(SctpPipe.Props(1));
        var clientEvents = new ConcurrentQueue<object>();
        var serverEvents = new ConcurrentQueue<object>();
        var client = Sys.ActorOf(SctpAssociation.Props(settings, pipe, Sys.ActorOf(EventSink.Props(clientEvents)), isDtlsClient: true));
        var server = Sys.ActorOf(SctpAssociation.Props(settings, pipe, Sys.ActorOf(EventSink.Props(serverEvents)), isDtlsClient: false));
        pipe.Tell(new SctpPipe.Wire(client, server));
        client.Tell(SctpProtocol.Associate.Instance);
        if (bothInit) server.Tell(SctpProtocol.Associate.Instance);
        return (new SctpSide(client, clientEvents), new SctpSide(server, serverEvents), pipe);
    }

    private void WaitFor(Func<bool> condition, TimeSpan? timeout = null, string? what = null) =>
        AwaitCondition(condition, timeout ?? Generous, TimeSpan.FromMilliseconds(5), what);

    private (SctpSide Client, SctpSide Server, IActorRef Pipe, ushort Stream) StartWithChannel(bool ordered = true)
    {
        var (client, server, pipe) = Start();
        WaitFor(() => client.Of<SctpProtocol.AssociationEstablished>().Any() && server.Of<SctpProtocol.AssociationEstablished>().Any());
        client.Tell(new SctpProtocol.OpenChannel("chat", Ordered: ordered));
        WaitFor(() => client.Of<SctpProtocol.ChannelOpened>().Any() && server.Of<SctpProtocol.ChannelOpened>().Any());
        return (client, server, pipe, client.Of<SctpProtocol.ChannelOpened>().Single().StreamId);
    }

    private T AskFor<T>(IActorRef target, object question)
    {
        var probe = CreateTestProbe();
        target.Tell(question, probe.Ref);
        return probe.ExpectMsg<T>(Generous);
    }

    private SctpProtocol.Stats StatsOf(SctpSide side) => AskFor<SctpProtocol.Stats>(side.Association, SctpProtocol.GetStats.Instance);

    [Fact]
    public void Association_comes_up_when_one_side_initiates()
    {
        var (client, server, _) = Start();
        WaitFor(() => client.Of<SctpProtocol.AssociationEstablished>().Any() && server.Of<SctpProtocol.AssociationEstablished>().Any());
        Assert.Equal(256 * 1024, client.Of<SctpProtocol.AssociationEstablished>().Single().MaxMessageSize);
    }

    [Fact]
    public void Association_comes_up_when_both_sides_send_INIT()
    {
        var (client, server, _) = Start(bothInit: true);
        WaitFor(() => client.Of<SctpProtocol.AssociationEstablished>().Any() && server.Of<SctpProtocol.AssociationEstablished>().Any());
        client.Tell(new SctpProtocol.OpenChannel("after-collision"));
        WaitFor(() => server.Of<SctpProtocol.ChannelOpened>().Any(c => c.Label == "after-collision"));
        Assert.Single(client.Of<SctpProtocol.AssociationEstablished>());
        Assert.Single(server.Of<SctpProtocol.AssociationEstablished>());
    }

    [Fact]
    public void Channels_open_by_label_from_either_side_with_even_and_odd_stream_ids()
    {
        var (client, server, _) = Start();
        client.Tell(new SctpProtocol.OpenChannel("from-client", "proto-a"));   // queued before the association is up
        server.Tell(new SctpProtocol.OpenChannel("from-server", Ordered: false, MaxRetransmits: 3, Priority: DataChannelPriority.High));
        WaitFor(() => client.Of<SctpProtocol.ChannelOpened>().Count() == 2 && server.Of<SctpProtocol.ChannelOpened>().Count() == 2);

        var mine = client.Of<SctpProtocol.ChannelOpened>().Single(c => c.Label == "from-client");
        var theirs = server.Of<SctpProtocol.ChannelOpened>().Single(c => c.Label == "from-client");
        Assert.False(mine.RemoteInitiated);
        Assert.True(theirs.RemoteInitiated);
        Assert.Equal(0, mine.StreamId % 2);
        Assert.Equal(mine.StreamId, theirs.StreamId);
        Assert.Equal("proto-a", theirs.Protocol);

        var fromServer = client.Of<SctpProtocol.ChannelOpened>().Single(c => c.Label == "from-server");
        Assert.Equal(1, fromServer.StreamId % 2);
        Assert.True(fromServer.RemoteInitiated);
        Assert.False(fromServer.Ordered);
        Assert.Equal(3, fromServer.MaxRetransmits);
        Assert.Equal(DataChannelPriority.High, fromServer.Priority);
    }

    [Fact]
    public void The_opener_may_send_on_a_channel_as_soon_as_its_DATA_CHANNEL_OPEN_is_sent_without_waiting_for_the_ACK()
    {
        var (client, server, pipe) = Start();
        WaitFor(() => client.Of<SctpProtocol.AssociationEstablished>().Any() && server.Of<SctpProtocol.AssociationEstablished>().Any());
        var wire = CreateTestProbe();
        pipe.Tell(new SctpPipe.Wire(client.Association, wire.Ref));   // from now on nothing reaches the server: no ACK can come back

        client.Tell(new SctpProtocol.OpenChannel("chat"));
        WaitFor(() => client.Of<SctpProtocol.ChannelOpened>().Any(), what: "ChannelOpened on the opener with no DATA_CHANNEL_ACK");
        var opened = client.Of<SctpProtocol.ChannelOpened>().Single();
        Assert.Equal("chat", opened.Label);
        Assert.False(opened.RemoteInitiated);

        client.Tell(new SctpProtocol.SendMessage(opened.StreamId, "first line"u8.ToArray(), Binary: false));
        wire.FishForMessage(m => m is DatagramProtocol.Received i && i.Datagram.Span.IndexOf("first line"u8) >= 0, Generous, "the line on the wire, after the OPEN");
        Assert.Empty(client.Of<SctpProtocol.SendFailed>());
    }

    [Fact]
    public void A_thousand_messages_each_way_arrive_in_order_exactly_once()
    {
        var (client, server, _, stream) = StartWithChannel();
        const int count = 1000;
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            client.Tell(new SctpProtocol.SendMessage(stream, Encoding.UTF8.GetBytes($"c{i}"), Binary: false));
            server.Tell(new SctpProtocol.SendMessage(stream, Encoding.UTF8.GetBytes($"s{i}"), Binary: false));
        }
        WaitFor(() => client.Of<SctpProtocol.MessageReceived>().Count() >= count && server.Of<SctpProtocol.MessageReceived>().Count() >= count);
        watch.Stop();
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"c{i}"), server.Of<SctpProtocol.MessageReceived>().Select(m => Encoding.UTF8.GetString(m.Data.Span)));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"s{i}"), client.Of<SctpProtocol.MessageReceived>().Select(m => Encoding.UTF8.GetString(m.Data.Span)));
        Assert.All(server.Of<SctpProtocol.MessageReceived>(), m => Assert.False(m.Binary));
        Output?.WriteLine($"{2 * count} small messages in {watch.ElapsedMilliseconds} ms: {2 * count / watch.Elapsed.TotalSeconds:F0} messages/s");
    }

    [Fact]
    public void Ten_MiB_of_binary_messages_arrive_with_a_matching_SHA256()
    {
        var (client, server, _, stream) = StartWithChannel();
        const int count = 160, size = 64 * 1024;
        var random = new Random(7);
        using var sent = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            var message = new byte[size];
            random.NextBytes(message);
            sent.AppendData(message);
            client.Tell(new SctpProtocol.SendMessage(stream, message, Binary: true));
        }
        WaitFor(() => server.Of<SctpProtocol.MessageReceived>().Count() >= count, TimeSpan.FromSeconds(30));
        watch.Stop();
        using var received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var m in server.Of<SctpProtocol.MessageReceived>())
        {
            Assert.True(m.Binary);
            Assert.Equal(size, m.Data.Length);
            received.AppendData(m.Data.Span);
        }
        Assert.Equal(Convert.ToHexString(sent.GetHashAndReset()), Convert.ToHexString(received.GetHashAndReset()));
        var stats = StatsOf(client);
        double mb = count * (double)size / 1e6;
        Output?.WriteLine($"10 MiB in {watch.ElapsedMilliseconds} ms: {mb / watch.Elapsed.TotalSeconds:F1} MB/s, {count / watch.Elapsed.TotalSeconds:F0} messages/s; " +
            $"packets out {stats.PacketsOut}, retransmissions {stats.Retransmissions}, cwnd {stats.Cwnd}, rto {stats.Rto.TotalMilliseconds} ms");
    }

    [Fact]
    public void Empty_and_text_messages_keep_their_kind()
    {
        var (client, server, _, stream) = StartWithChannel();
        client.Tell(new SctpProtocol.SendMessage(stream, ReadOnlyMemory<byte>.Empty, Binary: true));
        client.Tell(new SctpProtocol.SendMessage(stream, ReadOnlyMemory<byte>.Empty, Binary: false));
        client.Tell(new SctpProtocol.SendMessage(stream, "héllo"u8.ToArray(), Binary: false));
        WaitFor(() => server.Of<SctpProtocol.MessageReceived>().Count() == 3);
        var got = server.Of<SctpProtocol.MessageReceived>().ToArray();
        Assert.True(got[0].Binary && got[0].Data.IsEmpty);
        Assert.True(!got[1].Binary && got[1].Data.IsEmpty);
        Assert.Equal("héllo", Encoding.UTF8.GetString(got[2].Data.Span));
    }

    [Fact]
    public void A_message_over_the_maximum_size_is_refused_with_a_clear_event()
    {
        var (client, _, _, stream) = StartWithChannel();
        client.Tell(new SctpProtocol.SendMessage(stream, new byte[256 * 1024 + 1], Binary: true));
        WaitFor(() => client.Of<SctpProtocol.SendFailed>().Any());
        Assert.Contains("maximum message size", client.Of<SctpProtocol.SendFailed>().Single().Reason);
        client.Tell(new SctpProtocol.SendMessage(999, new byte[1], Binary: true));
        WaitFor(() => client.Of<SctpProtocol.SendFailed>().Count() == 2);
    }

    [Fact]
    public void Closing_a_channel_resets_its_stream_and_both_sides_see_it_closed()
    {
        var (client, server, _, stream) = StartWithChannel();
        client.Tell(new SctpProtocol.SendMessage(stream, new byte[5000], Binary: true));
        client.Tell(new SctpProtocol.CloseChannel(stream));
        WaitFor(() => client.Of<SctpProtocol.ChannelClosed>().Any() && server.Of<SctpProtocol.ChannelClosed>().Any());
        Assert.Single(server.Of<SctpProtocol.MessageReceived>());   // data sent before the close still arrives
        Assert.Equal(stream, server.Of<SctpProtocol.ChannelClosed>().Single().StreamId);

        // The stream id is free again and its sequence numbers restart at 0 on both sides.
        server.Tell(new SctpProtocol.SendMessage(stream, new byte[1], Binary: true));
        WaitFor(() => server.Of<SctpProtocol.SendFailed>().Any());
        client.Tell(new SctpProtocol.OpenChannel("second"));
        WaitFor(() => client.Of<SctpProtocol.ChannelOpened>().Any(c => c.Label == "second") && server.Of<SctpProtocol.ChannelOpened>().Any(c => c.Label == "second"));
        var second = client.Of<SctpProtocol.ChannelOpened>().Single(c => c.Label == "second").StreamId;
        server.Tell(new SctpProtocol.SendMessage(second, "again"u8.ToArray(), Binary: false));
        WaitFor(() => client.Of<SctpProtocol.MessageReceived>().Any(m => m.StreamId == second));
    }

    [Fact]
    public void Graceful_shutdown_delivers_queued_data_then_closes_both_sides()
    {
        var (client, server, _, stream) = StartWithChannel();
        Watch(client.Association);
        for (int i = 0; i < 20; i++) client.Tell(new SctpProtocol.SendMessage(stream, new byte[3000], Binary: true));
        client.Tell(SctpProtocol.Shutdown.Instance);
        WaitFor(() => client.Of<SctpProtocol.AssociationClosed>().Any() && server.Of<SctpProtocol.AssociationClosed>().Any());
        Assert.Equal(20, server.Of<SctpProtocol.MessageReceived>().Count());
        ExpectTerminated(client.Association, Generous);
        Assert.Empty(client.Of<SctpProtocol.AssociationAborted>());
    }

    /// <summary>An established association (a message crossed), then one packet written by <paramref name="write"/> with the server's tag, given to the server.</summary>
    private (SctpSide Client, SctpSide Server) InjectIntoServer(SctpPacketWriterAction write)
    {
        var (client, server, pipe, stream) = StartWithChannel();
        client.Tell(new SctpProtocol.SendMessage(stream, new byte[10], Binary: true));
        WaitFor(() => server.Of<SctpProtocol.MessageReceived>().Any());
        var last = AskFor<byte[]>(pipe, new SctpPipe.GetLast(FromA: true));   // carries the server's tag
        uint serverTag = BinaryPrimitives.ReadUInt32BigEndian(last.AsSpan(4));
        var buffer = new byte[64];
        var w = new SctpPacketWriter(buffer, 5000, 5000, serverTag);
        write(ref w);
        server.Tell(new DatagramProtocol.Received(w.ToArray()));
        return (client, server);
    }

    /// <summary>Adds chunks to a packet under construction (a ref struct, so not a plain Action).</summary>
    private delegate void SctpPacketWriterAction(ref SctpPacketWriter writer);

    [Fact]
    public void A_DATA_chunk_without_user_data_makes_the_receiver_abort()
    {
        var (client, server) = InjectIntoServer((ref SctpPacketWriter w) => w.AddChunk(SctpChunkType.Data, 0x03, DataChunk.FixedLength)); // header fields only, no user data

        WaitFor(() => server.Of<SctpProtocol.AssociationAborted>().Any() && client.Of<SctpProtocol.AssociationAborted>().Any());
        Assert.False(server.Of<SctpProtocol.AssociationAborted>().Single().ByPeer);
        var atClient = client.Of<SctpProtocol.AssociationAborted>().Single();
        Assert.True(atClient.ByPeer);
        Assert.Contains("NoUserData", atClient.Reason);
        Assert.False(atClient.UserInitiated); // a protocol error is not a normal end
    }

    [Fact]
    public void A_SACK_the_delayed_SACK_timer_holds_rides_with_the_next_DATA_the_receiver_sends()
    {
        var (client, server, pipe, stream) = StartWithChannel();
        client.Tell(new SctpProtocol.SendMessage(stream, new byte[10], Binary: true));   // the last one queued: SACKed at once (RFC 7053)
        WaitFor(() => server.Of<SctpProtocol.MessageReceived>().Any());
        var last = AskFor<byte[]>(pipe, new SctpPipe.GetLast(FromA: true));
        Assert.True(SctpPacket.TryParse(last, out var view, out _));
        var first = view.FirstChunk;
        Assert.True(DataChunk.TryParse(first, out var sent, out _), "the client's last packet carries its message");
        pipe.Tell(new SctpPipe.Impair(Loss: 1));   // what the server sends from now is looked at, not delivered

        // one more DATA packet from the client, without the I bit: the server holds its SACK for the delayed-SACK timer (200 ms)
        var buffer = new byte[64];
        var w = new SctpPacketWriter(buffer, 5000, 5000, view.VerificationTag);
        w.AddData(DataChunkFlags.Beginning | DataChunkFlags.Ending, sent.Tsn + 1, sent.StreamId, (ushort)(sent.StreamSequence + 1), sent.PayloadProtocolId, [1, 2, 3]);
        server.Tell(new DatagramProtocol.Received(w.ToArray()));
        server.Tell(new SctpProtocol.SendMessage(stream, "reply"u8.ToArray(), Binary: false));

        List<SctpChunkType> chunks = [];
        WaitFor(() =>
        {
            var reply = AskFor<byte[]>(pipe, new SctpPipe.GetLast(FromA: false));
            chunks = [];
            if (SctpPacket.TryParse(reply, out var v, out _))
                foreach (var c in v.Chunks) chunks.Add(c.Type);
            return chunks.Contains(SctpChunkType.Data);
        }, TimeSpan.FromSeconds(5), "the server's reply");
        Assert.Contains(SctpChunkType.Sack, chunks);
    }

    [Fact]
    public void An_abort_command_reaches_the_peer_with_its_reason()
    {
        var (client, server, _, _) = StartWithChannel();
        client.Tell(new SctpProtocol.Abort("user left"));
        WaitFor(() => server.Of<SctpProtocol.AssociationAborted>().Any());
        var aborted = server.Of<SctpProtocol.AssociationAborted>().Single();
        Assert.Contains("user left", aborted.Reason);
        Assert.True(aborted.UserInitiated); // the peer's user ended it: a normal end
    }

    [Fact]
    public void An_ABORT_without_a_cause_as_aiortc_sends_on_close_is_user_initiated()
    {
        var (_, server) = InjectIntoServer((ref SctpPacketWriter w) => w.BeginAbort(tagReflected: false)); // no error cause at all

        WaitFor(() => server.Of<SctpProtocol.AssociationAborted>().Any());
        var aborted = server.Of<SctpProtocol.AssociationAborted>().Single();
        Assert.True(aborted.ByPeer);
        Assert.True(aborted.UserInitiated);
    }

    [Fact]
    public void Garbage_inbound_is_counted_and_ignored()
    {
        var (client, server, _, stream) = StartWithChannel();
        var random = new Random(3);
        for (int i = 0; i < 50; i++)
        {
            var junk = new byte[random.Next(0, 200)];
            random.NextBytes(junk);
            server.Tell(new DatagramProtocol.Received(junk));
        }
        var buffer = new byte[64];
        var w = new SctpPacketWriter(buffer, 5000, 5000, 0x12345678);   // well formed, wrong verification tag
        w.AddHeartbeat(false, [1, 2, 3, 4]);
        server.Tell(new DatagramProtocol.Received(w.ToArray()));

        client.Tell(new SctpProtocol.SendMessage(stream, "still fine"u8.ToArray(), Binary: false));
        WaitFor(() => server.Of<SctpProtocol.MessageReceived>().Any());
        var stats = StatsOf(server);
        Assert.Equal(50, stats.BadPackets);
        Assert.Equal(1, stats.OutOfTheBlue);
        Assert.Equal("Established", stats.State);
    }
}
