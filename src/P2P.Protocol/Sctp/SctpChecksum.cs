using System.Buffers.Binary;
using System.Numerics;

namespace P2P.Protocol.Sctp;

/// <summary>
/// The SCTP packet checksum: CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected, initial value
/// and final XOR all ones) over the whole packet with the checksum field taken as zero (RFC 9260
/// §6.8, Appendix B). The result is placed in the header in little-endian byte order, which is the
/// order the reflected CRC's bytes come out of the shift register (Appendix B). The per-step work
/// is <see cref="BitOperations.Crc32C(uint, ulong)"/>, hardware-accelerated where the CPU has it.
/// </summary>
public static class SctpChecksum
{
    /// <summary>Offset of the checksum field in the common header.</summary>
    public const int Offset = 8;

    /// <summary>CRC-32C of <paramref name="data"/> (for "123456789": 0xE3069283).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFFu, data);

    /// <summary>CRC-32C of a packet as if its checksum field (bytes 8..11) were zero.</summary>
    public static uint ComputeForPacket(ReadOnlySpan<byte> packet)
    {
        uint crc = Update(0xFFFFFFFFu, packet[..Offset]);
        crc = BitOperations.Crc32C(crc, 0u);
        return ~Update(crc, packet[(Offset + 4)..]);
    }

    /// <summary>Writes the checksum of <paramref name="packet"/> into its header (little-endian, RFC 9260 Appendix B).</summary>
    public static void Write(Span<byte> packet) =>
        BinaryPrimitives.WriteUInt32LittleEndian(packet[Offset..], ComputeForPacket(packet));

    /// <summary>True when the checksum in the header matches the packet.</summary>
    public static bool Verify(ReadOnlySpan<byte> packet) =>
        packet.Length >= SctpPacket.CommonHeaderLength
        && BinaryPrimitives.ReadUInt32LittleEndian(packet[Offset..]) == ComputeForPacket(packet);

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        if (data.Length >= 4)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt32LittleEndian(data));
            data = data[4..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}
