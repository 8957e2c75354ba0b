using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Chat;
using Xunit;

namespace P2P.Protocol.Tests.Chat;

/// <summary>Every kind of frame, with any values: it round-trips, and it is the JSON a p2p of commit db66a29 writes and reads.</summary>
public sealed class ChatFramePropertyTests
{
    [Property(Arbitrary = [typeof(ChatFrameArbitraries)], MaxTest = 2000)]
    public void Every_kind_parses_back_to_the_same_frame(ChatFrame frame)
    {
        Assert.True(ChatFrame.TryParse(frame.ToBytes(), out var parsed, out var error), error.Message);
        Assert.Equal(frame, parsed);
    }

    [Property(Arbitrary = [typeof(ChatFrameArbitraries)], MaxTest = 1000)]
    public void Every_kind_is_written_byte_for_byte_as_the_polymorphic_serializer_writes_it(ChatFrame frame, int? version)
    {
        frame = frame with { Version = version };
        Assert.Equal(
            Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(frame, ReferenceJson.Default.ChatFrame)),
            Encoding.UTF8.GetString(frame.ToBytes()));
    }

    [Property(Arbitrary = [typeof(ChatFrameArbitraries)], MaxTest = 2000)]
    public void Every_kind_is_byte_for_byte_the_frame_a_p2p_of_db66a29_writes(ChatFrame frame)
    {
        var before = AsOfDb66a29(frame);
        Assert.Equal(Encoding.UTF8.GetString(before.ToBytes()), Encoding.UTF8.GetString(frame.ToBytes()));
    }

    [Property(Arbitrary = [typeof(ChatFrameArbitraries)], MaxTest = 2000)]
    public void A_p2p_of_db66a29_and_one_of_today_read_each_others_frames(ChatFrame frame)
    {
        var before = AsOfDb66a29(frame);
        Assert.True(FrameOfDb66a29.TryParse(frame.ToBytes(), out var readThere, out var oldError), oldError);
        Assert.Equal(before, readThere);
        Assert.True(ChatFrame.TryParse(before.ToBytes(), out var readHere, out var error), error.Message);
        Assert.Equal(frame, readHere);
    }

    [Property(Arbitrary = [typeof(ChatFrameArbitraries)], MaxTest = 1000)]
    public void The_fields_may_come_in_any_order(ChatFrame frame, int seed)
    {
        var json = JsonNode.Parse(frame.ToBytes())!.AsObject();
        var shuffled = new JsonObject();
        var random = new Random(seed);
        foreach (var (name, value) in json.ToList().OrderBy(_ => random.Next()))
            shuffled[name] = value?.DeepClone();
        Assert.True(ChatFrame.TryParse(Encoding.UTF8.GetBytes(shuffled.ToJsonString()), out var parsed, out var error), error.Message);
        Assert.Equal(frame, parsed);
    }

    [Property(MaxTest = 3000)]
    public void Arbitrary_bytes_never_throw_and_say_why_they_are_refused(byte[] data)
    {
        if (!ChatFrame.TryParse(data, out _, out var error))
            Assert.True(error.Problem != ChatFrameProblem.None && error.Message.Length > 0);
    }

    [Property(Arbitrary = [typeof(ChatFrameArbitraries)], MaxTest = 3000)]
    public void A_frame_with_bytes_changed_never_throws(ChatFrame frame, byte value, int at)
    {
        var bytes = frame.ToBytes();
        bytes[(at & int.MaxValue) % bytes.Length] = value;
        if (!ChatFrame.TryParse(bytes, out _, out var error))
            Assert.True(error.Problem != ChatFrameProblem.None && error.Message.Length > 0);
    }

    [Property(Arbitrary = [typeof(ChatFrameArbitraries)], MaxTest = 2000)]
    public void A_frame_cut_short_is_refused_without_throwing(ChatFrame frame, int at)
    {
        var bytes = frame.ToBytes();
        Assert.False(ChatFrame.TryParse(bytes.AsSpan(0, (at & int.MaxValue) % bytes.Length), out _, out var error));
        Assert.Equal(ChatFrameProblem.NotJson, error.Problem);
    }

    /// <summary>The same frame as the one record of db66a29 holds it.</summary>
    private static FrameOfDb66a29 AsOfDb66a29(ChatFrame frame) => frame switch
    {
        ChatLine l => new("msg") { E = l.Epoch, N = l.Number, Text = l.Text },
        ChatAck a => new("ack") { E = a.Epoch, N = a.UpTo },
        ChatSync => new("sync"),
        FileOffer o => new("offer") { Id = o.Id, Name = o.Name, Size = o.Size, Sha256 = o.Sha256 },
        FileAccept a => new("accept") { Id = a.Id },
        FileReject r => new("reject") { Id = r.Id, Reason = r.Reason },
        FileReady r => new("ready") { Id = r.Id, Offset = r.Offset },
        FileDone d => new("done") { Id = d.Id, Ok = d.Ok, Sha256 = d.Sha256, Reason = d.Reason },
        FileCancel c => new("cancel") { Id = c.Id, Reason = c.Reason },
        _ => throw new ArgumentException($"no such kind in db66a29: {frame}"),
    };
}

/// <summary>System.Text.Json's own polymorphic writer for <see cref="ChatFrame"/>, with the options the codec has.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, MaxDepth = 4, AllowOutOfOrderMetadataProperties = true,
    RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ChatFrame))]
internal sealed partial class ReferenceJson : JsonSerializerContext;
