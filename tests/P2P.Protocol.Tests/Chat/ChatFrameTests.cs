using System.Text;
using P2P.Protocol.Chat;
using Xunit;

namespace P2P.Protocol.Tests.Chat;

/// <summary>The "chat" channel's JSON is shared with other stacks (docs/CHAT-WIRE.md): its exact shape is part of the wire format.</summary>
public sealed class ChatFrameTests
{
    private static readonly string Sha = new('0', 64);

    [Fact]
    public void A_line_is_the_json_of_its_kind_and_fields_without_those_it_does_not_use()
    {
        Assert.Equal("{\"t\":\"msg\",\"e\":\"ep0ch\",\"n\":7,\"text\":\"h\\u00E9llo\"}", Json(new ChatLine("ep0ch", 7, "héllo")));
        Assert.Equal("{\"t\":\"sync\"}", Json(new ChatSync()));
        Assert.Equal("{\"t\":\"reject\",\"id\":\"a1\"}", Json(new FileReject("a1")));
        Assert.Equal("{\"t\":\"done\",\"id\":\"a1\",\"sha256\":\"ab\",\"ok\":true}", Json(FileDone.Completed("a1", "ab")));
        Assert.Equal("{\"t\":\"done\",\"id\":\"a1\",\"ok\":false,\"reason\":\"disk full\"}", Json(FileDone.Failed("a1", "disk full")));
    }

    [Theory]
    [InlineData("{\"t\":\"msg\",\"e\":\"ep0ch\",\"n\":7,\"text\":\"hi\"}", "msg")]
    [InlineData("{\"t\":\"ack\",\"e\":\"ep0ch\",\"n\":0}", "ack")]
    [InlineData("{\"t\":\"sync\"}", "sync")]
    [InlineData("{\"t\":\"accept\",\"id\":\"a1\"}", "accept")]
    [InlineData("{\"t\":\"reject\",\"id\":\"a1\",\"reason\":\"no\"}", "reject")]
    [InlineData("{\"t\":\"ready\",\"id\":\"a1\",\"offset\":16320}", "ready")]
    [InlineData("{\"t\":\"done\",\"id\":\"a1\",\"ok\":false,\"reason\":\"disk full\"}", "done")]
    [InlineData("{\"t\":\"cancel\",\"id\":\"a1\",\"reason\":\"gone\"}", "cancel")]
    [InlineData("{\"text\":\"hi\",\"n\":7,\"e\":\"ep0ch\",\"t\":\"msg\"}", "msg")]
    [InlineData("{\"t\":\"msg\",\"v\":1,\"e\":\"ep0ch\",\"n\":7,\"text\":\"hi\"}", "msg")]
    [InlineData("{\"t\":\"ack\",\"e\":\"ep0ch\",\"n\":3,\"v\":null}", "ack")]
    [InlineData("{\"t\":\"sync\",\"x\":{\"a\":{\"b\":[1]}}}", "sync")]
    public void Frames_as_p2p_of_db66a29_and_a_browser_page_write_them_parse_to_their_kind(string json, string kind)
    {
        Assert.True(ChatFrame.TryParse(Encoding.UTF8.GetBytes(json), out var frame, out var error), error.Message);
        Assert.Equal(kind, frame.Kind);
    }

    [Fact]
    public void A_frame_with_fields_this_side_does_not_know_parses_to_its_record()
    {
        var json = $"{{\"t\":\"offer\",\"id\":\"a1\",\"name\":\"r.pdf\",\"size\":3,\"sha256\":\"{Sha}\",\"mime\":\"application/pdf\",\"thumb\":{{\"w\":1}}}}";
        Assert.True(ChatFrame.TryParse(Encoding.UTF8.GetBytes(json), out var frame, out var error), error.Message);
        Assert.Equal(new FileOffer("a1", "r.pdf", 3, Sha), frame);
    }

    [Theory]
    [InlineData("{not json", ChatFrameProblem.NotJson, "not a chat frame")]
    [InlineData("", ChatFrameProblem.NotJson, "not a chat frame")]
    [InlineData("null", ChatFrameProblem.NotJson, "not a chat frame")]
    [InlineData("[\"msg\"]", ChatFrameProblem.NotJson, "not a chat frame (a JSON object)")]
    [InlineData("\"msg\"", ChatFrameProblem.NotJson, "not a chat frame (a JSON object)")]
    [InlineData("{\"t\":\"sync\"} {", ChatFrameProblem.NotJson, "not a chat frame")]
    [InlineData("{\"t\":\"shout\"}", ChatFrameProblem.UnknownKind, "unknown frame kind 'shout'")]
    [InlineData("{\"e\":\"x\",\"n\":1,\"text\":\"a\"}", ChatFrameProblem.UnknownKind, "a frame without its kind 't'")]
    [InlineData("{\"t\":7}", ChatFrameProblem.UnknownKind, "a frame whose kind 't' is not a string")]
    [InlineData("{\"t\":\"msg\"}", ChatFrameProblem.BadFields, "bad 'msg' frame: ")]
    [InlineData("{\"t\":\"msg\",\"e\":\"x\",\"text\":\"a\"}", ChatFrameProblem.BadFields, "'n'")]
    [InlineData("{\"t\":\"msg\",\"e\":\"x\",\"n\":0,\"text\":\"a\"}", ChatFrameProblem.BadFields, "bad 'msg' frame: its number 'n' is 0; lines count from 1")]
    [InlineData("{\"t\":\"msg\",\"e\":null,\"n\":1,\"text\":\"a\"}", ChatFrameProblem.BadFields, "$.e")]
    [InlineData("{\"t\":\"msg\",\"e\":\"x\",\"n\":\"1\",\"text\":\"a\"}", ChatFrameProblem.BadFields, "$.n")]
    [InlineData("{\"t\":\"ack\",\"e\":\"x\"}", ChatFrameProblem.BadFields, "'n'")]
    [InlineData("{\"t\":\"offer\",\"id\":\"a1\",\"name\":\"r.pdf\",\"size\":3}", ChatFrameProblem.BadFields, "'sha256'")]
    [InlineData("{\"t\":\"offer\",\"id\":\"a1\",\"name\":\"r.pdf\",\"size\":3,\"sha256\":\"abc\"}", ChatFrameProblem.BadFields, "its sha256 has 3 characters, not 64")]
    [InlineData("{\"t\":\"ready\",\"id\":\"a1\",\"offset\":-1}", ChatFrameProblem.BadFields, "its offset is -1")]
    [InlineData("{\"t\":\"done\",\"id\":\"a1\"}", ChatFrameProblem.BadFields, "'ok'")]
    [InlineData("{\"t\":\"accept\"}", ChatFrameProblem.BadFields, "'id'")]
    [InlineData("{\"t\":\"msg\",\"t\":\"ack\",\"e\":\"x\",\"n\":1,\"text\":\"a\"}", ChatFrameProblem.BadFields, "duplicate")]
    [InlineData("{\"t\":\"msg\",\"e\":\"x\",\"n\":1,\"text\":\"a\",\"more\":{\"a\":{\"b\":{\"c\":{\"d\":1}}}}}", ChatFrameProblem.BadFields, "depth")]
    [InlineData("{\"t\":\"msg\",\"v\":2,\"e\":\"x\",\"n\":1,\"text\":\"a\"}", ChatFrameProblem.NewerVersion, "a frame of version 2; this side speaks version 1")]
    [InlineData("{\"t\":\"msg\",\"v\":2,\"line\":{\"n\":1}}", ChatFrameProblem.NewerVersion, "a frame of version 2")]
    [InlineData("{\"t\":\"react\",\"v\":3,\"emoji\":\"+1\"}", ChatFrameProblem.NewerVersion, "a frame of version 3")]
    [InlineData("{\"t\":\"sync\",\"v\":0}", ChatFrameProblem.BadFields, "version 0 does not exist")]
    [InlineData("{\"t\":\"sync\",\"v\":\"1\"}", ChatFrameProblem.BadFields, "its version 'v' is not a whole number")]
    [InlineData("{\"t\":\"sync\",\"v\":1.5}", ChatFrameProblem.BadFields, "its version 'v' is not a whole number")]
    public void Bad_frames_are_refused_with_the_reason(string json, ChatFrameProblem problem, string reason)
    {
        Assert.False(ChatFrame.TryParse(Encoding.UTF8.GetBytes(json), out var frame, out var error));
        Assert.Null(frame);
        Assert.Equal(problem, error.Problem);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void A_frame_larger_than_64_KiB_is_refused_unread()
    {
        var json = Encoding.UTF8.GetBytes($"{{\"t\":\"msg\",\"e\":\"x\",\"n\":1,\"text\":\"{new string('a', ChatFrame.MaxLength)}\"}}");
        Assert.False(ChatFrame.TryParse(json, out _, out var error));
        Assert.Equal(ChatFrameProblem.TooLarge, error.Problem);
        Assert.Equal($"frame of {json.Length} bytes is larger than 65536", error.Message);
    }

    [Fact]
    public void A_kind_that_is_not_UTF_8_is_refused_without_throwing()
    {
        byte[] json = [.. "{\"t\":\""u8, 0xC3, 0x28, .. "\"}"u8];
        Assert.False(ChatFrame.TryParse(json, out _, out var error));
        Assert.Equal(ChatFrameProblem.NotJson, error.Problem);
    }

    [Fact]
    public void An_unknown_kind_is_named_in_at_most_40_characters()
    {
        Assert.False(ChatFrame.TryParse(Encoding.UTF8.GetBytes($"{{\"t\":\"{new string('k', 5000)}\"}}"), out _, out var error));
        Assert.Equal($"unknown frame kind '{new string('k', 40)}...'", error.Message);
    }

    [Fact]
    public async Task The_codec_warm_up_sends_a_line_and_an_ack_through_it_once_per_process()
    {
        ChatFrame.StartWarmUp();
        ChatFrame.StartWarmUp();
        Assert.True(await ChatFrame.WarmedUp.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    private static string Json(ChatFrame frame) => Encoding.UTF8.GetString(frame.ToBytes());
}
