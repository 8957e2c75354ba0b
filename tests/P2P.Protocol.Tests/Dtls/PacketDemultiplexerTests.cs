using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using Xunit;

namespace P2P.Protocol.Tests.Dtls;

public class PacketDemultiplexerTests
{
    [Fact]
    public void Every_first_byte_falls_in_the_range_of_rfc7983()
    {
        for (int b = 0; b <= 255; b++)
        {
            var expected = b switch
            {
                <= 3 => PacketKind.Stun,
                >= 16 and <= 19 => PacketKind.Zrtp,
                >= 20 and <= 63 => PacketKind.Dtls,
                >= 64 and <= 79 => PacketKind.TurnChannelData,
                >= 128 and <= 191 => PacketKind.RtpRtcp,
                _ => PacketKind.Unknown,
            };
            Assert.Equal(expected, PacketDemultiplexer.Classify((byte)b));
        }
    }

    [Theory]
    [InlineData(0, PacketKind.Stun)]
    [InlineData(3, PacketKind.Stun)]
    [InlineData(4, PacketKind.Unknown)]
    [InlineData(15, PacketKind.Unknown)]
    [InlineData(16, PacketKind.Zrtp)]
    [InlineData(19, PacketKind.Zrtp)]
    [InlineData(20, PacketKind.Dtls)] // change_cipher_spec
    [InlineData(22, PacketKind.Dtls)] // handshake
    [InlineData(23, PacketKind.Dtls)] // application_data
    [InlineData(63, PacketKind.Dtls)]
    [InlineData(64, PacketKind.TurnChannelData)]
    [InlineData(79, PacketKind.TurnChannelData)]
    [InlineData(80, PacketKind.Unknown)]
    [InlineData(127, PacketKind.Unknown)]
    [InlineData(128, PacketKind.RtpRtcp)]
    [InlineData(191, PacketKind.RtpRtcp)]
    [InlineData(192, PacketKind.Unknown)]
    [InlineData(255, PacketKind.Unknown)]
    public void Range_edges(byte first, PacketKind expected) => Assert.Equal(expected, PacketDemultiplexer.Classify(first));

    [Fact]
    public void A_TURN_server_takes_ChannelData_by_first_byte_exactly_for_the_channels_it_accepts_and_never_STUN()
    {
        // the server side's wider range (RFC 5766 §11 channels, which coturn's clients bind) must agree with the
        // channel numbers the server accepts, byte for byte, and must not swallow STUN or anything RFC 7983 calls DTLS
        for (int channel = 0; channel <= 0xFFFF; channel++)
            Assert.Equal(ChannelData.IsAcceptedByServer((ushort)channel), ChannelData.StartsServerChannelData((byte)(channel >> 8)));
        for (int b = 0; b <= 255; b++)
        {
            if (ChannelData.StartsServerChannelData((byte)b))
                Assert.True(PacketDemultiplexer.Classify((byte)b) is PacketKind.TurnChannelData or PacketKind.Unknown, $"first byte {b}");
            if (PacketDemultiplexer.Classify((byte)b) == PacketKind.TurnChannelData) Assert.True(ChannelData.StartsServerChannelData((byte)b));
        }
        Assert.True(ChannelData.IsAcceptedByServer(0x7FFF));
        Assert.False(ChannelData.IsAcceptedByServer(0x8000));
        Assert.False(ChannelData.IsValidChannel(0x5000));
    }

    [Fact]
    public void Empty_datagram_is_unknown_and_the_codecs_agree_with_the_classifier()
    {
        Assert.Equal(PacketKind.Unknown, PacketDemultiplexer.Classify(ReadOnlySpan<byte>.Empty));
        Assert.True(ChannelData.LooksLikeChannelData([0x40, 0x00, 0x00, 0x00]));
        Assert.False(ChannelData.LooksLikeChannelData([0x50, 0x00, 0x00, 0x00]));
        Assert.False(ChannelData.LooksLikeChannelData([22]));

        var stun = new byte[20];
        stun[1] = 0x01; // Binding request
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(stun.AsSpan(4), StunMessage.MagicCookie);
        Assert.True(StunMessage.LooksLikeStun(stun));
        stun[0] = 22;
        Assert.False(StunMessage.LooksLikeStun(stun));
    }
}
