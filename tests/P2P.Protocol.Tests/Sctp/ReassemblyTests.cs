using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Sctp;
using Xunit;

namespace P2P.Protocol.Tests.Sctp;

public class ReassemblyTests
{
    private static List<SctpMessage> Drain(ReassemblyQueue q)
    {
        var list = new List<SctpMessage>();
        while (q.TryDequeue(out var m)) list.Add(m);
        return list;
    }

    private static List<OutboundFragment> Cut(Fragmenter f, ushort stream, byte[] message, int max, bool unordered = false, uint ppid = 53)
    {
        var list = new List<OutboundFragment>();
        Assert.Equal(SctpError.None, f.Fragment(stream, ppid, message, unordered, max, list));
        return list;
    }

    private static SctpError Add(ReassemblyQueue q, OutboundFragment c) =>
        q.Add(c.Flags, c.Tsn, c.StreamId, c.StreamSequence, c.PayloadProtocolId, c.UserData.Span);

    [Fact]
    public void Fragmenter_sets_flags_tsns_and_ssn()
    {
        var f = new Fragmenter(0xFFFFFFFF);
        var chunks = Cut(f, 3, new byte[25], 10);
        Assert.Equal([DataChunkFlags.Beginning, DataChunkFlags.None, DataChunkFlags.Ending], chunks.Select(c => c.Flags));
        Assert.Equal([0xFFFFFFFFu, 0u, 1u], chunks.Select(c => c.Tsn));
        Assert.Equal([10, 10, 5], chunks.Select(c => c.UserData.Length));
        Assert.All(chunks, c => Assert.Equal(0, c.StreamSequence));
        Assert.Equal(1, f.NextStreamSequence(3));
        var single = Cut(f, 3, new byte[3], 10, unordered: true);
        Assert.Equal(DataChunkFlags.Complete | DataChunkFlags.Unordered, Assert.Single(single).Flags);
        Assert.Equal(1, f.NextStreamSequence(3));     // unordered does not consume an SSN
        Assert.Equal(SctpError.EmptyMessage, f.Fragment(3, 51, ReadOnlyMemory<byte>.Empty, false, 10, new()));
        Assert.Equal(1172, Fragmenter.MaxUserDataFor(1200));
    }

    [Fact]
    public void Ordered_messages_wait_for_earlier_sequence_numbers()
    {
        var f = new Fragmenter(1);
        var first = Cut(f, 0, [1, 2, 3], 2);
        var second = Cut(f, 0, [4], 2);
        var q = new ReassemblyQueue(1000);
        Add(q, second[0]);
        Add(q, first[1]);
        Assert.Equal(0, q.ReadyCount);
        Add(q, first[0]);
        var messages = Drain(q);
        Assert.Equal([new byte[] { 1, 2, 3 }, new byte[] { 4 }], messages.Select(m => m.Payload));
        Assert.Equal(0, q.BufferedBytes);
    }

    [Fact]
    public void Unordered_messages_are_released_when_complete()
    {
        var f = new Fragmenter(1);
        var a = Cut(f, 1, [1, 2, 3, 4], 2, unordered: true);
        var b = Cut(f, 1, [5], 2, unordered: true);
        var q = new ReassemblyQueue(1000);
        Add(q, a[1]);
        Add(q, b[0]);
        Assert.Equal([5], Assert.Single(Drain(q)).Payload);
        Add(q, a[0]);
        var m = Assert.Single(Drain(q));
        Assert.True(m.Unordered);
        Assert.Equal([1, 2, 3, 4], m.Payload);
    }

    [Fact]
    public void Byte_limit_refuses_the_overflowing_chunk()
    {
        var q = new ReassemblyQueue(10);
        Assert.Equal(SctpError.None, q.Add(DataChunkFlags.Beginning, 1, 0, 0, 53, new byte[8]));
        Assert.Equal(SctpError.ReassemblyLimitExceeded, q.Add(DataChunkFlags.Ending, 2, 0, 0, 53, new byte[3]));
        Assert.Equal(8, q.BufferedBytes);
        Assert.Equal(SctpError.None, q.Add(DataChunkFlags.Ending, 2, 0, 0, 53, new byte[2]));
        Assert.Equal(10, Assert.Single(Drain(q)).Payload.Length);
        Assert.Equal(0, q.BufferedBytes);
    }

    [Fact]
    public void Forward_tsn_drops_partial_messages_and_moves_the_stream_on()
    {
        var q = new ReassemblyQueue(1000);
        q.Add(DataChunkFlags.Beginning, 10, 2, 0, 53, [1]);                          // SSN 0: lost its end
        q.Add(DataChunkFlags.Complete, 13, 2, 1, 53, [2]);                           // SSN 1: whole, waits behind 0
        q.Add(DataChunkFlags.Complete, 14, 2, 3, 53, [4]);                           // SSN 3: waits behind 2
        q.Add(DataChunkFlags.Beginning | DataChunkFlags.Unordered, 11, 5, 0, 51, [9]); // unordered partial
        Assert.Equal(0, q.ReadyCount);
        q.OnForwardTsn(12, [new ForwardTsnStream(2, 0)]);
        var messages = Drain(q);
        Assert.Equal([new byte[] { 2 }], messages.Select(m => m.Payload));
        Assert.Equal(2, q.ExpectedStreamSequence(2));
        Assert.Equal(1, q.BufferedBytes);                                            // SSN 3 still waits
        q.OnForwardTsn(15, [new ForwardTsnStream(2, 2)]);
        Assert.Equal([4], Assert.Single(Drain(q)).Payload);
        Assert.Equal(0, q.BufferedBytes);
    }

    [Fact]
    public void Stream_reset_restarts_at_zero()
    {
        var f = new Fragmenter(1);
        var q = new ReassemblyQueue(1000);
        foreach (var c in Cut(f, 4, [1], 10)) Add(q, c);
        f.ResetStreams([4]);
        q.ResetStreams([4]);
        foreach (var c in Cut(f, 4, [2], 10)) Add(q, c);
        Assert.Equal(2, Drain(q).Count);
    }

    public sealed record Scenario(int Seed, byte[][] Messages, int[] Streams, bool[] Unordered, int MaxChunk);

    public static Arbitrary<Scenario> Scenarios() =>
        (from seed in ArbMap.Default.GeneratorFor<int>()
         from count in Gen.Choose(1, 12)
         from sizes in Gen.ArrayOf(Gen.Choose(1, 60), count)
         from streams in Gen.ArrayOf(Gen.Choose(0, 2), count)
         from unordered in Gen.ArrayOf(Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true))), count)
         from max in Gen.Choose(1, 16)
         select new Scenario(seed, sizes.Select((s, i) => Enumerable.Range(0, s).Select(b => (byte)(b * 7 + i)).ToArray()).ToArray(), streams, unordered, max))
        .ToArbitrary();

    [Property(Arbitrary = [typeof(ReassemblyTests)], MaxTest = 300)]
    public bool Fragmenter_then_shuffled_reassembly_gives_each_stream_its_messages_in_order(Scenario s)
    {
        var f = new Fragmenter((uint)s.Seed);
        var chunks = new List<OutboundFragment>();
        for (int i = 0; i < s.Messages.Length; i++)
            f.Fragment((ushort)s.Streams[i], (uint)i, s.Messages[i], s.Unordered[i], s.MaxChunk, chunks);
        var random = new Random(s.Seed);
        var order = chunks.OrderBy(_ => random.Next()).ToList();

        var tracker = new ReceiveTracker((uint)s.Seed);
        var q = new ReassemblyQueue(1 << 20);
        foreach (var c in order.Concat(order.Take(3)))                 // a few duplicates too
            if (tracker.OnDataReceived(c.Tsn) == TsnReceiveResult.New && Add(q, c) != SctpError.None) return false;
        var got = Drain(q);
        if (got.Count != s.Messages.Length || q.BufferedBytes != 0) return false;
        if (tracker.CumulativeTsnAck != f.LastAssignedTsn) return false;
        foreach (var stream in s.Streams.Distinct())
        {
            var sent = Enumerable.Range(0, s.Messages.Length).Where(i => s.Streams[i] == stream && !s.Unordered[i]).Select(i => s.Messages[i]).ToList();
            var received = got.Where(m => m.StreamId == stream && !m.Unordered).Select(m => m.Payload).ToList();
            if (sent.Count != received.Count || !sent.Zip(received).All(p => p.First.AsSpan().SequenceEqual(p.Second))) return false;
        }
        // Every message (ordered or not) arrives exactly once with its PPID.
        return got.All(m => s.Messages[m.PayloadProtocolId].AsSpan().SequenceEqual(m.Payload) && s.Unordered[m.PayloadProtocolId] == m.Unordered)
            && got.Select(m => m.PayloadProtocolId).Distinct().Count() == s.Messages.Length;
    }
}
