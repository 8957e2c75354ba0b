using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace P2P.Protocol.Sctp;

/// <summary>DCEP message types (RFC 8832 §8.2.1), the first byte of a PPID 50 message.</summary>
public enum DcepMessageType : byte
{
    DataChannelAck = 0x02,
    DataChannelOpen = 0x03,
}

/// <summary>
/// Channel types of DATA_CHANNEL_OPEN (RFC 8832 §5.1): the low bits pick reliable, partially
/// reliable by retransmissions, or partially reliable by lifetime; 0x80 makes delivery unordered.
/// </summary>
public enum DataChannelType : byte
{
    Reliable = 0x00,
    ReliableUnordered = 0x80,
    /// <summary>Partially reliable: the reliability parameter is the number of retransmissions.</summary>
    PartialReliableRexmit = 0x01,
    PartialReliableRexmitUnordered = 0x81,
    /// <summary>Partially reliable: the reliability parameter is a lifetime in milliseconds.</summary>
    PartialReliableTimed = 0x02,
    PartialReliableTimedUnordered = 0x82,
}

/// <summary>Well-known DATA_CHANNEL_OPEN priorities (RFC 8832 §5.1, after RFC 8835's levels).</summary>
public static class DataChannelPriority
{
    public const ushort BelowNormal = 128;
    public const ushort Normal = 256;
    public const ushort High = 512;
    public const ushort ExtraHigh = 1024;
}

/// <summary>
/// A DATA_CHANNEL_OPEN message (RFC 8832 §5.1), sent with PPID 50 on the stream the opener chose:
/// channel type, priority, reliability parameter, then a UTF-8 label and a UTF-8 sub-protocol, with
/// no padding. Parsing checks that both strings are valid UTF-8.
/// </summary>
public readonly ref struct DataChannelOpen
{
    /// <summary>Type, channel type, priority, reliability, label length, protocol length.</summary>
    public const int FixedLength = 12;

    private DataChannelOpen(DataChannelType type, ushort priority, uint reliability, ReadOnlySpan<byte> label, ReadOnlySpan<byte> protocol)
    {
        ChannelType = type;
        Priority = priority;
        ReliabilityParameter = reliability;
        LabelBytes = label;
        ProtocolBytes = protocol;
    }

    public DataChannelType ChannelType { get; }
    public ushort Priority { get; }
    /// <summary>Retransmissions or lifetime (ms) for partially reliable channels; ignored for reliable ones.</summary>
    public uint ReliabilityParameter { get; }
    public ReadOnlySpan<byte> LabelBytes { get; }
    public ReadOnlySpan<byte> ProtocolBytes { get; }
    public bool Unordered => ((byte)ChannelType & 0x80) != 0;
    /// <summary>Decodes the label (allocates the string).</summary>
    public string Label => Encoding.UTF8.GetString(LabelBytes);
    /// <summary>Decodes the sub-protocol (allocates the string).</summary>
    public string Protocol => Encoding.UTF8.GetString(ProtocolBytes);

    /// <summary>Parses a DATA_CHANNEL_OPEN; the lengths must account for every byte.</summary>
    public static bool TryParse(ReadOnlySpan<byte> message, out DataChannelOpen open, out SctpError error)
    {
        open = default;
        if (message.Length < FixedLength || message[0] != (byte)DcepMessageType.DataChannelOpen) { error = SctpError.BadDcepMessage; return false; }
        var type = (DataChannelType)message[1];
        if (!Enum.IsDefined(type)) { error = SctpError.BadDcepMessage; return false; }
        int labelLength = BinaryPrimitives.ReadUInt16BigEndian(message[8..]);
        int protocolLength = BinaryPrimitives.ReadUInt16BigEndian(message[10..]);
        if (message.Length != FixedLength + labelLength + protocolLength) { error = SctpError.BadDcepMessage; return false; }
        var label = message.Slice(FixedLength, labelLength);
        var protocol = message.Slice(FixedLength + labelLength, protocolLength);
        if (!Utf8.IsValid(label) || !Utf8.IsValid(protocol)) { error = SctpError.BadUtf8; return false; }
        open = new DataChannelOpen(type, BinaryPrimitives.ReadUInt16BigEndian(message[2..]), BinaryPrimitives.ReadUInt32BigEndian(message[4..]), label, protocol);
        error = SctpError.None;
        return true;
    }

    /// <summary>The encoded size for a label and protocol.</summary>
    public static int GetLength(string label, string protocol) =>
        FixedLength + Encoding.UTF8.GetByteCount(label) + Encoding.UTF8.GetByteCount(protocol);

    /// <summary>
    /// Writes a DATA_CHANNEL_OPEN into <paramref name="destination"/> and returns its length. A label
    /// or protocol over 65535 UTF-8 bytes, or a destination too small, is a programming error and throws.
    /// </summary>
    public static int Write(Span<byte> destination, DataChannelType type, ushort priority, uint reliabilityParameter, string label, string protocol)
    {
        int labelLength = Encoding.UTF8.GetByteCount(label);
        int protocolLength = Encoding.UTF8.GetByteCount(protocol);
        if (labelLength > ushort.MaxValue || protocolLength > ushort.MaxValue) throw new ArgumentException("DCEP label or protocol longer than 65535 bytes");
        int length = FixedLength + labelLength + protocolLength;
        if (destination.Length < length) throw new InvalidOperationException($"DCEP buffer of {destination.Length} bytes too small for {length}");
        destination[0] = (byte)DcepMessageType.DataChannelOpen;
        destination[1] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], priority);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], reliabilityParameter);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], (ushort)labelLength);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], (ushort)protocolLength);
        Encoding.UTF8.GetBytes(label, destination.Slice(FixedLength, labelLength));
        Encoding.UTF8.GetBytes(protocol, destination.Slice(FixedLength + labelLength, protocolLength));
        return length;
    }

    /// <summary>Encodes to a new array.</summary>
    public static byte[] ToArray(DataChannelType type, ushort priority, uint reliabilityParameter, string label, string protocol)
    {
        var bytes = new byte[GetLength(label, protocol)];
        Write(bytes, type, priority, reliabilityParameter, label, protocol);
        return bytes;
    }
}

/// <summary>DATA_CHANNEL_ACK (RFC 8832 §5.2): one byte, 0x02, sent back on the same stream with PPID 50.</summary>
public static class DataChannelAck
{
    public const int Length = 1;

    /// <summary>True when <paramref name="message"/> is a DATA_CHANNEL_ACK (extra bytes are refused).</summary>
    public static bool TryParse(ReadOnlySpan<byte> message, out SctpError error)
    {
        error = message.Length == Length && message[0] == (byte)DcepMessageType.DataChannelAck ? SctpError.None : SctpError.BadDcepMessage;
        return error == SctpError.None;
    }

    public static int Write(Span<byte> destination)
    {
        destination[0] = (byte)DcepMessageType.DataChannelAck;
        return Length;
    }
}

/// <summary>Entry point for a PPID 50 message: which DCEP message it is (RFC 8832 §5).</summary>
public static class Dcep
{
    public static bool TryGetMessageType(ReadOnlySpan<byte> message, out DcepMessageType type)
    {
        type = message.IsEmpty ? default : (DcepMessageType)message[0];
        return !message.IsEmpty && type is DcepMessageType.DataChannelOpen or DcepMessageType.DataChannelAck;
    }
}
