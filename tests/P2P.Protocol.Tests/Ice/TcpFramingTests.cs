using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Ice;
using Xunit;

namespace P2P.Protocol.Tests.Ice;

/// <summary>RFC 4571 framing of ICE-TCP (RFC 6544 §3): what goes in framed comes out whole, however the stream is cut.</summary>
public class TcpFramingTests
{
    [Fact]
    public void A_frame_is_a_big_endian_length_and_the_payload()
    {
        var framed = TcpFraming.Frame(new byte[258]);
        Assert.Equal(260, framed.Length);
        Assert.Equal(0x01, framed[0]);
        Assert.Equal(0x02, framed[1]);
        Assert.Equal(new byte[] { 0, 0 }, TcpFraming.Frame([]));
    }

    [Fact]
    public void A_payload_longer_than_65535_bytes_cannot_be_framed()
    {
        var error = Assert.Throws<ArgumentException>(() => TcpFraming.Frame(new byte[65536]));
        Assert.Contains("at most 65535 bytes", error.Message);
    }

    [Fact]
    public void A_partial_frame_waits_for_the_rest()
    {
        var reader = new TcpFrameReader();
        Feed(reader, [0x00, 0x03, 0x41]);
        Assert.False(reader.TryRead(out _));
        Assert.Equal(3, reader.Buffered);
        Feed(reader, [0x42, 0x43, 0x00]);
        Assert.True(reader.TryRead(out var payload));
        Assert.Equal("ABC"u8.ToArray(), payload.ToArray());
        Assert.False(reader.TryRead(out _));
        Assert.Equal(1, reader.Buffered);
    }

    [Fact]
    public void The_largest_frame_fits_after_a_partial_one_left_at_the_end_of_the_buffer()
    {
        var reader = new TcpFrameReader();
        var small = TcpFraming.Frame(new byte[40000]);
        var large = TcpFraming.Frame(Enumerable.Range(0, 65535).Select(i => (byte)i).ToArray());
        var stream = small.Concat(large).ToArray();
        var got = ReadAll(reader, stream, [small.Length + 100, stream.Length]);
        Assert.Equal(2, got.Count);
        Assert.Equal(large.AsSpan(2).ToArray(), got[1]);
    }

    [Property(MaxTest = 300)]
    public Property Frames_come_out_whole_and_in_order_whatever_the_reads() =>
        Prop.ForAll(
            Gen.ListOf(Gen.Choose(0, 1500).SelectMany(n => Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), n))).ToArbitrary(),
            Gen.ListOf(Gen.Choose(1, 4000)).ToArbitrary(),
            (payloads, cuts) =>
            {
                var stream = payloads.SelectMany(p => TcpFraming.Frame(p)).ToArray();
                var got = ReadAll(new TcpFrameReader(), stream, Cumulative(cuts, stream.Length));
                return got.Count == payloads.Count && got.Zip(payloads).All(x => x.First.AsSpan().SequenceEqual(x.Second));
            });

    /// <summary>Read boundaries from a list of read sizes (the last read takes the rest).</summary>
    private static List<int> Cumulative(IEnumerable<int> sizes, int total)
    {
        var ends = new List<int>();
        int at = 0;
        foreach (int size in sizes)
        {
            at += size;
            if (at >= total) break;
            ends.Add(at);
        }
        ends.Add(total);
        return ends;
    }

    /// <summary>Feeds <paramref name="stream"/> as reads ending at <paramref name="ends"/>, each no larger than the reader's free space, and takes every whole frame after each.</summary>
    private static List<byte[]> ReadAll(TcpFrameReader reader, byte[] stream, IEnumerable<int> ends)
    {
        var frames = new List<byte[]>();
        int at = 0;
        foreach (int end in ends)
        {
            while (at < end)
            {
                var space = reader.FreeSpace;
                int n = Math.Min(space.Length, end - at);
                stream.AsSpan(at, n).CopyTo(space.Span);
                reader.Advance(n);
                at += n;
                while (reader.TryRead(out var payload)) frames.Add(payload.ToArray());
            }
        }
        return frames;
    }

    private static void Feed(TcpFrameReader reader, byte[] bytes)
    {
        bytes.CopyTo(reader.FreeSpace.Span);
        reader.Advance(bytes.Length);
    }
}
