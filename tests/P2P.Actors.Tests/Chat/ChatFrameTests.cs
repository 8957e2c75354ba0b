using System.Text;
using P2P.Actors.Chat;
using Xunit;

namespace P2P.Actors.Tests.Chat;

/// <summary>The "chat" channel's JSON is shared with other stacks: its exact shape is part of the wire format.</summary>
public sealed class ChatFrameTests
{
    [Fact]
    public void A_line_is_camel_case_json_without_the_fields_it_does_not_use()
    {
        var json = Encoding.UTF8.GetString(new ChatFrame("msg") { E = "ep0ch", N = 7, Text = "héllo" }.ToBytes());
        Assert.Equal("{\"t\":\"msg\",\"e\":\"ep0ch\",\"n\":7,\"text\":\"h\\u00E9llo\"}", json);
    }

    [Fact]
    public void A_frame_from_another_stack_with_fields_we_do_not_know_parses_and_a_wrong_kind_is_named()
    {
        Assert.True(ChatFrame.TryParse(Offer("r.pdf"), out var offer, out var error), error);
        Assert.Equal(("offer", "a1", "r.pdf", 3L), (offer.T, offer.Id, offer.Name, offer.Size!.Value));

        Assert.False(ChatFrame.TryParse("{\"t\":\"shout\"}"u8, out _, out var unknown));
        Assert.Equal("unknown frame kind 'shout'", unknown);
        Assert.False(ChatFrame.TryParse("{\"t\":\"msg\",\"e\":\"x\",\"n\":0,\"text\":\"a\"}"u8, out _, out var badLine));
        Assert.Equal("msg without e, n or text", badLine);
    }

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
    public async Task The_codec_warm_up_sends_a_line_and_an_ack_through_it_once_per_process()
    {
        ChatFrame.StartWarmUp();
        ChatFrame.StartWarmUp();
        Assert.True(await ChatFrame.WarmedUp.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    private static byte[] Offer(string name) =>
        Encoding.UTF8.GetBytes($"{{\"t\":\"offer\",\"id\":\"a1\",\"name\":\"{name}\",\"size\":3,\"sha256\":\"{new string('0', 64)}\",\"mime\":\"application/pdf\"}}");
}
