using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace P2P.Protocol.Dns;

/// <summary>An A or AAAA record to answer with: the name and its address (the type follows the address's family).</summary>
public readonly record struct DnsAddressRecord(string Name, IPAddress Address);

/// <summary>
/// Writes the two mDNS messages this engine sends, into the caller's buffer, without name compression (our names are
/// short): a query (RFC 6762 §5.1, one question per type) and an answer (§6). Each returns the length written, or 0
/// when the buffer is too small or a name cannot be written (a label empty or over 63 octets, the name over 255).
/// </summary>
public static class DnsWriter
{
    /// <summary>Class IN (RFC 1035 §3.2.4).</summary>
    public const ushort ClassIn = 1;

    /// <summary>
    /// A query for <paramref name="name"/>, one question per type in <paramref name="types"/>, with the QU bit when
    /// <paramref name="unicastResponse"/> (RFC 6762 §5.4). <paramref name="id"/> is 0 for a multicast query from port
    /// 5353 (§18.1); a one-shot query from another port may set one, which the responder echoes (§6.7).
    /// </summary>
    public static int WriteQuery(Span<byte> buffer, ushort id, string name, ReadOnlySpan<ushort> types, bool unicastResponse)
    {
        if (buffer.Length < 12) return 0;
        WriteHeader(buffer, id, flags: 0, questions: types.Length, answers: 0);
        int offset = 12;
        foreach (ushort type in types)
        {
            if (!TryWriteName(buffer, ref offset, name) || buffer.Length - offset < 4) return 0;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[offset..], type);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(offset + 2)..], (ushort)(ClassIn | (unicastResponse ? 0x8000 : 0)));
            offset += 4;
        }
        return offset;
    }

    /// <summary>
    /// An authoritative answer (RFC 6762 §6) carrying <paramref name="answers"/>. For a multicast answer (or one sent by
    /// unicast to port 5353) <paramref name="legacyQuestion"/> is null: the id is 0, no question is repeated and the
    /// cache-flush bit is set, since each name is ours alone (§10.2). A legacy unicast answer (§6.7, to a one-shot query
    /// from another port) echoes the query's id and question, and has no cache-flush bit.
    /// </summary>
    public static int WriteAnswer(Span<byte> buffer, ushort id, DnsQuestion? legacyQuestion, IReadOnlyList<DnsAddressRecord> answers, uint ttlSeconds)
    {
        if (buffer.Length < 12) return 0;
        bool legacy = legacyQuestion is not null;
        WriteHeader(buffer, legacy ? id : (ushort)0, DnsMessage.ResponseFlag | DnsMessage.AuthoritativeFlag, legacy ? 1 : 0, answers.Count);
        int offset = 12;
        if (legacyQuestion is { } q)
        {
            if (!TryWriteName(buffer, ref offset, q.Name) || buffer.Length - offset < 4) return 0;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[offset..], q.Type);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(offset + 2)..], ClassIn);
            offset += 4;
        }
        foreach (var answer in answers)
        {
            bool v4 = answer.Address.AddressFamily == AddressFamily.InterNetwork;
            int length = v4 ? 4 : 16;
            if (!TryWriteName(buffer, ref offset, answer.Name) || buffer.Length - offset < 10 + length) return 0;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[offset..], v4 ? DnsType.A : DnsType.Aaaa);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(offset + 2)..], (ushort)(ClassIn | (legacy ? 0 : 0x8000)));
            BinaryPrimitives.WriteUInt32BigEndian(buffer[(offset + 4)..], ttlSeconds);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(offset + 8)..], (ushort)length);
            offset += 10;
            if (!answer.Address.TryWriteBytes(buffer[offset..], out int written) || written != length) return 0;
            offset += length;
        }
        return offset;
    }

    private static void WriteHeader(Span<byte> buffer, ushort id, int flags, int questions, int answers)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer, id);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], (ushort)questions);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], (ushort)answers);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[8..], 0); // no authority, no additional records
    }

    /// <summary>Plain labels of ASCII characters (the names this engine makes and asks for); no escapes, no compression.</summary>
    private static bool TryWriteName(Span<byte> buffer, ref int offset, string name)
    {
        string trimmed = name.EndsWith('.') ? name[..^1] : name;
        if (trimmed.Length == 0 || trimmed.Length + 2 > DnsMessage.MaxNameOctets || buffer.Length - offset < trimmed.Length + 2) return false;
        int position = offset;
        foreach (var label in trimmed.Split('.'))
        {
            if (label.Length is 0 or > 63) return false;
            buffer[position++] = (byte)label.Length;
            foreach (char c in label)
            {
                if (c is <= ' ' or >= (char)0x7F or '\\') return false;
                buffer[position++] = (byte)c;
            }
        }
        buffer[position++] = 0;
        offset = position;
        return true;
    }
}
