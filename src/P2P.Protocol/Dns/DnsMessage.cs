using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace P2P.Protocol.Dns;

/// <summary>Record types this code reads or writes (IANA DNS parameters); any other type is kept as its number.</summary>
public static class DnsType
{
    public const ushort A = 1;
    public const ushort Aaaa = 28;
    public const ushort Any = 255;
}

/// <summary>Why a datagram is not a DNS message this code can use.</summary>
public enum DnsError
{
    None,
    /// <summary>Shorter than its header, or a field runs past the end.</summary>
    Truncated,
    /// <summary>A label length byte with the reserved top bits 01 or 10 (RFC 6891 §5 retired extended labels).</summary>
    BadLabel,
    /// <summary>A name longer than 255 octets on the wire (RFC 1035 §2.3.4).</summary>
    NameTooLong,
    /// <summary>A compression pointer that does not point strictly backwards (a loop, or a forward jump).</summary>
    BadPointer,
    /// <summary>An A record whose data is not 4 octets, or an AAAA record whose data is not 16.</summary>
    BadAddress,
    /// <summary>RFC 6762 §18.3: an mDNS message with a non-zero OPCODE is silently ignored.</summary>
    NotStandardQuery,
}

/// <summary>A question: the name, the type, and RFC 6762 §5.4's QU bit (the top bit of QCLASS: "answer me by unicast").</summary>
public readonly record struct DnsQuestion(string Name, ushort Type, bool UnicastResponse);

/// <summary>
/// A resource record of any section. <see cref="CacheFlush"/> is the top bit of its CLASS (RFC 6762 §10.2); <see
/// cref="Address"/> is the data of an A or AAAA record, null for every other type (whose data is skipped).
/// </summary>
public sealed record DnsRecord(string Name, ushort Type, ushort Class, bool CacheFlush, uint Ttl, IPAddress? Address);

/// <summary>
/// A DNS message (RFC 1035 §4.1) as multicast DNS uses it (RFC 6762): the header, the questions, and the records of
/// the answer, authority and additional sections in one list (mDNS answers may put the address in any of them).
/// Names are read through compression pointers, each of which must point strictly backwards, so a hostile packet
/// cannot loop the reader; a label byte that is not printable ASCII (or is a dot or backslash) is written as \DDD
/// (RFC 4343 §2.1), so a name reads back without ambiguity. Parsing never throws: bad input gives a <see cref="DnsError"/>.
/// </summary>
public sealed record DnsMessage(ushort Id, ushort Flags, IReadOnlyList<DnsQuestion> Questions, IReadOnlyList<DnsRecord> Records)
{
    /// <summary>RFC 1035 §2.3.4: a name is at most 255 octets on the wire.</summary>
    public const int MaxNameOctets = 255;

    /// <summary>The header's QR bit: this is a response.</summary>
    public const ushort ResponseFlag = 0x8000;

    /// <summary>The header's AA bit, which RFC 6762 §18.4 sets in every mDNS response.</summary>
    public const ushort AuthoritativeFlag = 0x0400;

    private const int HeaderLength = 12;

    public bool IsResponse => (Flags & ResponseFlag) != 0;

    public static bool TryParse(ReadOnlySpan<byte> packet, out DnsMessage message, out DnsError error)
    {
        message = null!;
        if (packet.Length < HeaderLength) { error = DnsError.Truncated; return false; }
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(packet);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        if (((flags >> 11) & 0xF) != 0) { error = DnsError.NotStandardQuery; return false; }
        int questionCount = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        int recordCount = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) + BinaryPrimitives.ReadUInt16BigEndian(packet[8..]) + BinaryPrimitives.ReadUInt16BigEndian(packet[10..]);
        int offset = HeaderLength;

        var questions = new List<DnsQuestion>(Math.Min(questionCount, 16));
        for (int i = 0; i < questionCount; i++)
        {
            if (!TryReadName(packet, ref offset, out string name, out error)) return false;
            if (packet.Length - offset < 4) { error = DnsError.Truncated; return false; }
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(packet[offset..]);
            ushort qclass = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]);
            offset += 4;
            questions.Add(new DnsQuestion(name, type, (qclass & 0x8000) != 0));
        }

        var records = new List<DnsRecord>(Math.Min(recordCount, 16));
        for (int i = 0; i < recordCount; i++)
        {
            if (!TryReadName(packet, ref offset, out string name, out error)) return false;
            if (packet.Length - offset < 10) { error = DnsError.Truncated; return false; }
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(packet[offset..]);
            ushort rclass = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]);
            uint ttl = BinaryPrimitives.ReadUInt32BigEndian(packet[(offset + 4)..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 8)..]);
            offset += 10;
            if (packet.Length - offset < length) { error = DnsError.Truncated; return false; }
            IPAddress? address = null;
            if (type is DnsType.A or DnsType.Aaaa)
            {
                if (length != (type == DnsType.A ? 4 : 16)) { error = DnsError.BadAddress; return false; }
                address = new IPAddress(packet.Slice(offset, length));
            }
            offset += length;
            records.Add(new DnsRecord(name, type, (ushort)(rclass & 0x7FFF), (rclass & 0x8000) != 0, ttl, address));
        }
        message = new DnsMessage(id, flags, questions, records);
        error = DnsError.None;
        return true;
    }

    /// <summary>A sentence for the log.</summary>
    public static string Describe(DnsError error) => error switch
    {
        DnsError.None => "no error",
        DnsError.Truncated => "truncated (a field runs past the end of the datagram)",
        DnsError.BadLabel => "a label type other than a plain label or a compression pointer",
        DnsError.NameTooLong => "a name longer than 255 octets",
        DnsError.BadPointer => "a compression pointer that does not point backwards",
        DnsError.BadAddress => "an A or AAAA record with data of the wrong length",
        DnsError.NotStandardQuery => "an OPCODE other than 0 (RFC 6762 §18.3)",
        _ => error.ToString(),
    };

    /// <summary>RFC 1035 §4.1.4: labels, each a length octet and its bytes, ended by a zero octet or a pointer to an earlier name.</summary>
    private static bool TryReadName(ReadOnlySpan<byte> packet, ref int offset, out string name, out DnsError error)
    {
        name = string.Empty;
        var text = new StringBuilder(48);
        int position = offset, octets = 1, lowestJump = offset;
        bool jumped = false;
        while (true)
        {
            if (position >= packet.Length) { error = DnsError.Truncated; return false; }
            byte length = packet[position];
            if (length == 0)
            {
                if (!jumped) offset = position + 1;
                break;
            }
            switch (length & 0xC0)
            {
                case 0xC0:
                    if (position + 1 >= packet.Length) { error = DnsError.Truncated; return false; }
                    int target = ((length & 0x3F) << 8) | packet[position + 1];
                    if (target >= lowestJump) { error = DnsError.BadPointer; return false; } // strictly backwards: no loop can form
                    if (!jumped) offset = position + 2;
                    jumped = true;
                    lowestJump = target;
                    position = target;
                    continue;
                case 0x00:
                    octets += length + 1;
                    if (octets > MaxNameOctets) { error = DnsError.NameTooLong; return false; }
                    if (position + 1 + length > packet.Length) { error = DnsError.Truncated; return false; }
                    if (text.Length > 0) text.Append('.');
                    foreach (byte b in packet.Slice(position + 1, length))
                    {
                        if (b is > 0x20 and < 0x7F and not (byte)'.' and not (byte)'\\') text.Append((char)b);
                        else text.Append('\\').Append((b / 100).ToString(System.Globalization.CultureInfo.InvariantCulture)).Append((b / 10 % 10).ToString(System.Globalization.CultureInfo.InvariantCulture)).Append((b % 10).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    }
                    position += 1 + length;
                    continue;
                default:
                    error = DnsError.BadLabel;
                    return false;
            }
        }
        name = text.ToString();
        error = DnsError.None;
        return true;
    }
}
