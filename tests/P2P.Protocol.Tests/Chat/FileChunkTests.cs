using P2P.Protocol.Chat;
using Xunit;

namespace P2P.Protocol.Tests.Chat;

/// <summary>The binary messages of a "file-&lt;id&gt;" channel (docs/CHAT-WIRE.md).</summary>
public sealed class FileChunkTests
{
    [Fact]
    public void A_chunk_read_into_its_frame_decodes_to_its_offset_and_bytes()
    {
        var bytes = new byte[] { 1, 2, 3, 250 };
        var frame = FileChunk.NewFrame(0x0102030405L, bytes.Length);
        bytes.CopyTo(frame.AsSpan(FileChunk.HeaderLength));   // as the sender's read fills it
        Assert.Equal(new byte[] { 0, 0, 0, 1, 2, 3, 4, 5, 1, 2, 3, 250 }, frame);
        Assert.True(FileChunk.TryDecode(frame, out long offset, out var data));
        Assert.Equal(0x0102030405L, offset);
        Assert.Equal(bytes, data.ToArray());
    }

    [Fact]
    public void A_message_shorter_than_the_offset_or_with_a_negative_offset_is_not_a_chunk()
    {
        Assert.False(FileChunk.TryDecode(new byte[7], out _, out _));
        Assert.False(FileChunk.TryDecode(new byte[] { 0x80, 0, 0, 0, 0, 0, 0, 0, 1 }, out _, out _));
        Assert.True(FileChunk.TryDecode(new byte[8], out long offset, out var data));
        Assert.Equal((0L, 0), (offset, data.Length));
    }

    [Fact]
    public void An_acknowledgement_is_eight_bytes_of_the_count_written()
    {
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 1, 0, 0 }, FileChunk.EncodeAck(65536));
        Assert.True(FileChunk.TryDecodeAck(FileChunk.EncodeAck(65536), out long written));
        Assert.Equal(65536, written);
        Assert.False(FileChunk.TryDecodeAck(new byte[9], out _));
        Assert.False(FileChunk.TryDecodeAck(new byte[] { 0xFF, 0, 0, 0, 0, 0, 0, 0 }, out _));
    }
}
