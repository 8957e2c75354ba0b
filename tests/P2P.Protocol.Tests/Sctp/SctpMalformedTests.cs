using System.Buffers.Binary;
using P2P.Protocol.Sctp;
using Xunit;
using static P2P.Protocol.Tests.Sctp.SctpTestSupport;

namespace P2P.Protocol.Tests.Sctp;

public class SctpMalformedTests
{
    private static byte[] Packet(params byte[] chunks)
    {
        var packet = new byte[12 + chunks.Length];
        BinaryPrimitives.WriteUInt16BigEndian(packet, 5000);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), 5000);
        chunks.CopyTo(packet, 12);
        FixChecksum(packet);
        return packet;
    }

    private static SctpError ErrorOf(byte[] packet)
    {
        Assert.False(SctpPacket.TryParse(packet, out _, out var error));
        return error;
    }

    [Fact]
    public void Shorter_than_the_header_is_too_short() => Assert.Equal(SctpError.TooShort, ErrorOf(new byte[11]));

    [Fact]
    public void Header_without_chunks_is_refused() => Assert.Equal(SctpError.NoChunks, ErrorOf(Packet()));

    [Fact]
    public void Any_flipped_bit_fails_the_checksum()
    {
        byte[] good = Packet(11, 0, 0, 4);
        for (int bit = 0; bit < good.Length * 8; bit++)
        {
            var bad = (byte[])good.Clone();
            bad[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Equal(SctpError.BadChecksum, ErrorOf(bad));
        }
    }

    [Fact]
    public void Checksum_in_big_endian_order_is_refused()
    {
        byte[] packet = Packet(11, 0, 0, 4);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), ReferencePacketChecksum(packet));
        Assert.Equal(SctpError.BadChecksum, ErrorOf(packet));
    }

    [Fact]
    public void Zero_length_chunk_is_refused() => Assert.Equal(SctpError.BadChunkLength, ErrorOf(Packet(11, 0, 0, 0)));

    [Fact]
    public void Truncated_chunk_header_is_refused() => Assert.Equal(SctpError.BadChunkLength, ErrorOf(Packet(11, 0, 0, 4, 11, 0)));

    [Fact]
    public void Chunk_length_past_the_end_is_an_overrun() => Assert.Equal(SctpError.ChunkOverrun, ErrorOf(Packet(10, 0, 0, 9, 1, 2, 3, 4)));

    [Fact]
    public void Missing_padding_after_the_last_chunk_is_refused() => Assert.Equal(SctpError.PaddingOverrun, ErrorOf(Packet(10, 0, 0, 5, 1)));

    [Fact]
    public void Verification_can_be_skipped_explicitly()
    {
        byte[] packet = Packet(11, 0, 0, 4);
        packet[8] ^= 1;
        Assert.True(SctpPacket.TryParse(packet, verifyChecksum: false, out _, out _));
    }

    [Fact]
    public void Data_without_user_data_is_no_user_data()
    {
        var view = Parse(Packet(0, 3, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 51));
        Assert.False(DataChunk.TryParse(view.FirstChunk, out _, out var error));
        Assert.Equal(SctpError.NoUserData, error);
    }

    [Fact]
    public void Data_shorter_than_its_fixed_fields_is_bad()
    {
        var view = Parse(Packet(0, 3, 0, 8, 0, 0, 0, 1));
        Assert.False(DataChunk.TryParse(view.FirstChunk, out _, out var error));
        Assert.Equal(SctpError.BadChunkValue, error);
    }

    [Fact]
    public void Sack_counts_disagreeing_with_length_are_bad()
    {
        // cum 1, a_rwnd 0, 1 gap block claimed but none present
        var view = Parse(Packet(3, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0));
        Assert.False(SackChunk.TryParse(view.FirstChunk, out _, out var error));
        Assert.Equal(SctpError.BadChunkValue, error);
    }

    [Fact]
    public void Init_parameter_overrun_is_reported()
    {
        byte[] chunk = new byte[4 + 16 + 4];
        chunk[0] = 1;
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(2), (ushort)chunk.Length);
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(20), 7);
        BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(22), 12); // claims 8 value bytes, has 0
        var view = Parse(Packet(chunk));
        Assert.False(InitChunk.TryParse(view.FirstChunk, out _, out var error));
        Assert.Equal(SctpError.ParameterOverrun, error);
    }

    [Fact]
    public void Zero_length_parameter_is_reported()
    {
        byte[] chunk = [4, 0, 0, 8, 0, 1, 0, 0];
        var view = Parse(Packet(chunk));
        Assert.False(HeartbeatChunk.TryParse(view.FirstChunk, out _, out var error));
        Assert.Equal(SctpError.BadParameterLength, error);
    }

    [Fact]
    public void Heartbeat_without_info_is_bad()
    {
        var view = Parse(Packet(4, 0, 0, 4));
        Assert.False(HeartbeatChunk.TryParse(view.FirstChunk, out _, out var error));
        Assert.Equal(SctpError.BadChunkValue, error);
    }

    [Fact]
    public void Forward_tsn_with_a_partial_stream_entry_is_bad()
    {
        var view = Parse(Packet(192, 0, 0, 10, 0, 0, 0, 1, 0, 1, 0, 0));
        Assert.False(ForwardTsnChunk.TryParse(view.FirstChunk, out _, out var error));
        Assert.Equal(SctpError.BadChunkValue, error);
    }
}
