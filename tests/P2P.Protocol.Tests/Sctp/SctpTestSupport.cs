using System.Buffers.Binary;
using P2P.Protocol.Sctp;

namespace P2P.Protocol.Tests.Sctp;

/// <summary>Test-only helpers, including an independent bitwise CRC-32C used as the reference.</summary>
public static class SctpTestSupport
{
    /// <summary>CRC-32C bit by bit, reflected polynomial 0x82F63B78 (RFC 9260 Appendix B, RFC 3720 B.4).</summary>
    public static uint ReferenceCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int i = 0; i < 8; i++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>The reference checksum of a packet, computed over a copy with bytes 8..11 zeroed.</summary>
    public static uint ReferencePacketChecksum(ReadOnlySpan<byte> packet)
    {
        var copy = packet.ToArray();
        copy.AsSpan(8, 4).Clear();
        return ReferenceCrc32C(copy);
    }

    public static SctpPacketWriter Writer(byte[] buffer, uint tag = 0x01020304) => new(buffer, 5000, 5000, tag);

    /// <summary>Parses a packet and returns its only chunk's raw bytes copy (for re-parsing outside ref-struct scopes).</summary>
    public static SctpPacketView Parse(byte[] packet)
    {
        if (!SctpPacket.TryParse(packet, out var view, out var error)) throw new Xunit.Sdk.XunitException($"parse failed: {error}");
        return view;
    }

    public static void FixChecksum(byte[] packet) =>
        BinaryPrimitives.WriteUInt32LittleEndian(packet.AsSpan(8), ReferencePacketChecksum(packet));
}
