using FsCheck.Xunit;
using P2P.Protocol.Sctp;
using Xunit;

namespace P2P.Protocol.Tests.Sctp;

public class DcepTests
{
    [Theory]
    [InlineData(DataChannelType.Reliable, 0u, "chat", "")]
    [InlineData(DataChannelType.ReliableUnordered, 0u, "", "")]
    [InlineData(DataChannelType.PartialReliableRexmit, 3u, "files", "x-proto")]
    [InlineData(DataChannelType.PartialReliableRexmitUnordered, 0u, "ünïcødé ✓ 🚀", "proto/1")]
    [InlineData(DataChannelType.PartialReliableTimed, 1500u, "日本語", "")]
    [InlineData(DataChannelType.PartialReliableTimedUnordered, uint.MaxValue, "a", "b")]
    public void Open_round_trips(DataChannelType type, uint reliability, string label, string protocol)
    {
        byte[] bytes = DataChannelOpen.ToArray(type, DataChannelPriority.High, reliability, label, protocol);
        Assert.True(Dcep.TryGetMessageType(bytes, out var messageType));
        Assert.Equal(DcepMessageType.DataChannelOpen, messageType);
        Assert.True(DataChannelOpen.TryParse(bytes, out var open, out var error), error.ToString());
        Assert.Equal(type, open.ChannelType);
        Assert.Equal(DataChannelPriority.High, open.Priority);
        Assert.Equal(reliability, open.ReliabilityParameter);
        Assert.Equal(label, open.Label);
        Assert.Equal(protocol, open.Protocol);
        Assert.Equal(((byte)type & 0x80) != 0, open.Unordered);
    }

    [Fact]
    public void Open_matches_the_RFC_8832_layout()
    {
        byte[] bytes = DataChannelOpen.ToArray(DataChannelType.PartialReliableRexmit, 256, 5, "ab", "c");
        Assert.Equal(new byte[] { 0x03, 0x01, 0x01, 0x00, 0, 0, 0, 5, 0, 2, 0, 1, (byte)'a', (byte)'b', (byte)'c' }, bytes);
    }

    [Fact]
    public void Ack_round_trips()
    {
        var buffer = new byte[4];
        int n = DataChannelAck.Write(buffer);
        Assert.True(DataChannelAck.TryParse(buffer.AsSpan(0, n), out _));
        Assert.True(Dcep.TryGetMessageType(buffer.AsSpan(0, n), out var type));
        Assert.Equal(DcepMessageType.DataChannelAck, type);
        Assert.False(DataChannelAck.TryParse(buffer, out var error));
        Assert.Equal(SctpError.BadDcepMessage, error);
    }

    [Fact]
    public void Open_with_lengths_past_the_end_is_refused()
    {
        byte[] bytes = DataChannelOpen.ToArray(DataChannelType.Reliable, 256, 0, "label", "");
        Assert.False(DataChannelOpen.TryParse(bytes.AsSpan(0, bytes.Length - 1), out _, out var error));
        Assert.Equal(SctpError.BadDcepMessage, error);
    }

    [Fact]
    public void Open_with_invalid_utf8_label_is_refused()
    {
        byte[] bytes = DataChannelOpen.ToArray(DataChannelType.Reliable, 256, 0, "ab", "");
        bytes[12] = 0xC3; // a lead byte followed by an ASCII byte
        Assert.False(DataChannelOpen.TryParse(bytes, out _, out var error));
        Assert.Equal(SctpError.BadUtf8, error);
    }

    [Fact]
    public void Open_with_unknown_channel_type_is_refused()
    {
        byte[] bytes = DataChannelOpen.ToArray(DataChannelType.Reliable, 256, 0, "", "");
        bytes[1] = 0x03;
        Assert.False(DataChannelOpen.TryParse(bytes, out _, out _));
    }

    [Property(MaxTest = 300)]
    public bool Any_label_and_protocol_round_trip(string? label, string? protocol, ushort priority, uint reliability)
    {
        // Lone surrogates are not encodable as UTF-8; the encoder replaces them, so compare against that.
        string l = System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(label ?? ""));
        string p = System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(protocol ?? ""));
        byte[] bytes = DataChannelOpen.ToArray(DataChannelType.PartialReliableTimed, priority, reliability, l, p);
        return DataChannelOpen.TryParse(bytes, out var open, out _) && open.Label == l && open.Protocol == p
            && open.Priority == priority && open.ReliabilityParameter == reliability;
    }

    [Property(MaxTest = 1000)]
    public void Arbitrary_bytes_never_throw(byte[] bytes)
    {
        if (DataChannelOpen.TryParse(bytes, out var open, out _)) _ = (open.Label, open.Protocol);
        DataChannelAck.TryParse(bytes, out _);
        Dcep.TryGetMessageType(bytes, out _);
    }
}
