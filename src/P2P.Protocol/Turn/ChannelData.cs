using System.Buffers.Binary;

namespace P2P.Protocol.Turn;

/// <summary>Why a packet is not a valid ChannelData message.</summary>
public enum ChannelDataError
{
    None = 0,
    TooShort,
    BadChannelNumber,
    BadLength,
}

/// <summary>
/// ChannelData framing (RFC 8656 §12.4): channel number (0x4000-0x4FFF), length, application data.
/// Over UDP the datagram may carry trailing padding; over TCP/TLS the message is padded to a multiple
/// of four bytes, and the padding is not counted in the length field.
/// </summary>
public static class ChannelData
{
    public const int HeaderLength = 4;
    public const ushort MinChannel = 0x4000;
    public const ushort MaxChannel = 0x4FFF;

    /// <summary>The top of RFC 5766 §11's channel range (0x4000-0x7FFF), which coturn's clients still pick from.</summary>
    public const ushort MaxLegacyChannel = 0x7FFF;

    public static bool IsValidChannel(ushort channel) => channel is >= MinChannel and <= MaxChannel;

    /// <summary>
    /// A channel a TURN server accepts: RFC 8656 §12's 0x4000-0x4FFF, and RFC 5766 §11's wider range up to 0x7FFF,
    /// since coturn's clients still bind channels there.
    /// </summary>
    public static bool IsAcceptedByServer(ushort channel) => channel is >= MinChannel and <= MaxLegacyChannel;

    /// <summary>
    /// True when a packet that reached a TURN server from a client starts like ChannelData in a channel the server
    /// accepts (<see cref="IsAcceptedByServer"/>): first byte 0x40-0x7F, wider than RFC 7983's 64-79. There the only
    /// other traffic is STUN, so the wider range is unambiguous.
    /// </summary>
    public static bool StartsServerChannelData(byte first) => first is >= MinChannel >> 8 and <= MaxLegacyChannel >> 8;

    /// <summary>True when the first byte is in the ChannelData range of RFC 7983 (64-79).</summary>
    public static bool LooksLikeChannelData(ReadOnlySpan<byte> packet) => PacketDemultiplexer.Classify(packet) == PacketKind.TurnChannelData;

    public static bool TryParse(ReadOnlySpan<byte> packet, out ushort channel, out ReadOnlySpan<byte> data, out ChannelDataError error)
    {
        channel = 0;
        data = default;
        if (packet.Length < HeaderLength) { error = ChannelDataError.TooShort; return false; }
        channel = BinaryPrimitives.ReadUInt16BigEndian(packet);
        if (!IsValidChannel(channel)) { error = ChannelDataError.BadChannelNumber; return false; }
        int length = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        if (length > packet.Length - HeaderLength) { error = ChannelDataError.BadLength; return false; }
        data = packet.Slice(HeaderLength, length);
        error = ChannelDataError.None;
        return true;
    }

    /// <summary>Size of the encoded message; with <paramref name="padForStream"/> rounded up to 4 (TCP).</summary>
    public static int EncodedLength(int dataLength, bool padForStream) =>
        padForStream ? HeaderLength + ((dataLength + 3) & ~3) : HeaderLength + dataLength;

    /// <summary>A new ChannelData message of <paramref name="data"/> on <paramref name="channel"/>.</summary>
    public static byte[] Encode(ushort channel, ReadOnlySpan<byte> data, bool padForStream)
    {
        var message = new byte[EncodedLength(data.Length, padForStream)];
        Write(message, channel, data, padForStream);
        return message;
    }

    public static int Write(Span<byte> destination, ushort channel, ReadOnlySpan<byte> data, bool padForStream)
    {
        int total = EncodedLength(data.Length, padForStream);
        BinaryPrimitives.WriteUInt16BigEndian(destination, channel);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)data.Length);
        data.CopyTo(destination[HeaderLength..]);
        destination.Slice(HeaderLength + data.Length, total - HeaderLength - data.Length).Clear();
        return total;
    }
}

/// <summary>
/// Splits a TCP byte stream to a STUN/TURN server into messages (RFC 8656 §3.1, §12.4): STUN messages
/// carry their length in the header; ChannelData messages are padded to 4 bytes.
/// </summary>
public static class StreamFraming
{
    public enum FrameStatus { Complete, NeedMore, Invalid }

    /// <summary>Length of the next whole frame at the start of <paramref name="buffered"/>, when known.</summary>
    public static FrameStatus TryGetFrameLength(ReadOnlySpan<byte> buffered, out int frameLength)
    {
        frameLength = 0;
        if (buffered.Length < 4) return FrameStatus.NeedMore;
        byte first = buffered[0];
        int length = BinaryPrimitives.ReadUInt16BigEndian(buffered[2..]);
        if (first < 0x40)
        {
            if ((first & 0xC0) != 0 || (length & 3) != 0) return FrameStatus.Invalid;
            frameLength = 20 + length;
        }
        else if (first <= 0x4F)
        {
            frameLength = ChannelData.HeaderLength + ((length + 3) & ~3);
        }
        else
        {
            return FrameStatus.Invalid;
        }
        return buffered.Length >= frameLength ? FrameStatus.Complete : FrameStatus.NeedMore;
    }
}
