using System.Buffers.Binary;
using P2P.Protocol.Sctp;
using Xunit;
using static P2P.Protocol.Tests.Sctp.SctpTestSupport;

namespace P2P.Protocol.Tests.Sctp;

public class SctpChecksumTests
{
    [Fact]
    public void Crc32c_of_123456789_is_the_check_value()
    {
        Assert.Equal(0xE3069283u, SctpChecksum.Compute("123456789"u8));
        Assert.Equal(0xE3069283u, ReferenceCrc32C("123456789"u8));
    }

    // RFC 3720 Appendix B.4 (iSCSI uses the same CRC-32C); the RFC lists the bytes as transmitted,
    // least significant first, e.g. "aa 36 91 8a" for 32 zero bytes.
    [Theory]
    [InlineData(0x00, 0x8A9136AAu)]
    [InlineData(0xFF, 0x62A8AB43u)]
    public void Crc32c_of_32_repeated_bytes_matches_RFC_3720(byte fill, uint expected)
    {
        var data = new byte[32];
        data.AsSpan().Fill(fill);
        Assert.Equal(expected, SctpChecksum.Compute(data));
        Assert.Equal(expected, ReferenceCrc32C(data));
    }

    [Fact]
    public void Crc32c_of_incrementing_bytes_matches_RFC_3720()
    {
        var data = new byte[32];
        for (int i = 0; i < 32; i++) data[i] = (byte)i;
        Assert.Equal(0x46DD794Eu, SctpChecksum.Compute(data));
    }

    [Fact]
    public void Init_packet_checksum_matches_the_reference_and_is_little_endian_on_the_wire()
    {
        var buffer = new byte[256];
        var w = new SctpPacketWriter(buffer, 5000, 5000, 0);
        w.BeginInit(false, 0xDEADBEEF, 131072, 1024, 1024, 0x12345678);
        w.AddForwardTsnSupported();
        w.AddSupportedExtensions([SctpChunkType.ForwardTsn, SctpChunkType.ReConfig]);
        byte[] packet = w.ToArray();

        uint expected = ReferencePacketChecksum(packet);
        Assert.Equal(expected, SctpChecksum.ComputeForPacket(packet));
        Assert.Equal((byte)expected, packet[8]);
        Assert.Equal((byte)(expected >> 24), packet[11]);
        Assert.True(SctpChecksum.Verify(packet));
    }

    [Fact]
    public void Hand_built_packet_is_accepted_with_a_checksum_from_the_reference()
    {
        // A COOKIE ACK packet built byte by byte: ports 5000/5000, tag 0xCAFEBABE, chunk 11 length 4.
        byte[] packet = [0x13, 0x88, 0x13, 0x88, 0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 0, 11, 0, 0, 4];
        BinaryPrimitives.WriteUInt32LittleEndian(packet.AsSpan(8), ReferencePacketChecksum(packet));
        Assert.True(SctpPacket.TryParse(packet, out var view, out var error), error.ToString());
        Assert.Equal(0xCAFEBABEu, view.VerificationTag);
        Assert.Equal(SctpChunkType.CookieAck, view.FirstChunk.Type);
    }

    [Fact]
    public void Odd_lengths_use_every_tail_path()
    {
        var data = new byte[23];
        new Random(7).NextBytes(data);
        for (int n = 0; n <= data.Length; n++)
            Assert.Equal(ReferenceCrc32C(data.AsSpan(0, n)), SctpChecksum.Compute(data.AsSpan(0, n)));
    }
}
