using System.Net;
using P2P.Protocol.Dns;
using Xunit;

namespace P2P.Protocol.Tests.Dns;

public class DnsMessageTests
{
    private const string Name = "1a2b3c4d-0000-1111-2222-333344445555.local";

    private static DnsMessage Parse(ReadOnlySpan<byte> bytes)
    {
        Assert.True(DnsMessage.TryParse(bytes, out var m, out var error), error.ToString());
        return m;
    }

    private static DnsError Error(byte[] bytes)
    {
        Assert.False(DnsMessage.TryParse(bytes, out _, out var error));
        return error;
    }

    [Fact]
    public void A_one_shot_query_for_A_and_AAAA_reads_back()
    {
        var buffer = new byte[512];
        int n = DnsWriter.WriteQuery(buffer, 0x1234, Name, [DnsType.A, DnsType.Aaaa], unicastResponse: true);
        var m = Parse(buffer.AsSpan(0, n));
        Assert.False(m.IsResponse);
        Assert.Equal(0x1234, m.Id);
        Assert.Equal([new DnsQuestion(Name, DnsType.A, true), new DnsQuestion(Name, DnsType.Aaaa, true)], m.Questions);
        Assert.Empty(m.Records);
        // the wire form, byte for byte: header, then 36 octets of label, 5 of "local", the root, type and class with the QU bit
        Assert.Equal(new byte[] { 0x12, 0x34, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 36 }, buffer[..13]);
        Assert.Equal(new byte[] { 5, (byte)'l', (byte)'o', (byte)'c', (byte)'a', (byte)'l', 0, 0, 1, 0x80, 1 }, buffer[49..60]);
    }

    [Fact]
    public void A_multicast_answer_has_no_id_no_question_and_sets_cache_flush()
    {
        var buffer = new byte[512];
        int n = DnsWriter.WriteAnswer(buffer, 0x9999, null, [new DnsAddressRecord(Name, IPAddress.Parse("192.0.2.7")), new DnsAddressRecord(Name, IPAddress.Parse("2001:db8::7"))], 120);
        var m = Parse(buffer.AsSpan(0, n));
        Assert.True(m.IsResponse);
        Assert.Equal(DnsMessage.ResponseFlag | DnsMessage.AuthoritativeFlag, m.Flags);
        Assert.Equal(0, m.Id);
        Assert.Empty(m.Questions);
        Assert.Equal([new DnsRecord(Name, DnsType.A, 1, true, 120, IPAddress.Parse("192.0.2.7")), new DnsRecord(Name, DnsType.Aaaa, 1, true, 120, IPAddress.Parse("2001:db8::7"))], m.Records);
    }

    [Fact]
    public void A_legacy_unicast_answer_echoes_the_id_and_question_without_cache_flush()
    {
        var buffer = new byte[512];
        int n = DnsWriter.WriteAnswer(buffer, 0x4242, new DnsQuestion(Name, DnsType.A, false), [new DnsAddressRecord(Name, IPAddress.Parse("192.0.2.7"))], 10);
        var m = Parse(buffer.AsSpan(0, n));
        Assert.Equal(0x4242, m.Id);
        Assert.Equal([new DnsQuestion(Name, DnsType.A, false)], m.Questions);
        Assert.False(Assert.Single(m.Records).CacheFlush);
    }

    /// <summary>A response as other responders write it: the second record's name is a pointer to the first's (RFC 1035 §4.1.4), and an unknown type is skipped.</summary>
    [Fact]
    public void Compressed_names_and_unknown_types_are_read()
    {
        byte[] packet =
        [
            0, 0, 0x84, 0, 0, 0, 0, 3, 0, 0, 0, 0,
            3, (byte)'a', (byte)'b', (byte)'c', 5, (byte)'l', (byte)'o', (byte)'c', (byte)'a', (byte)'l', 0, // offset 12
            0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 0, 0, 1,
            0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 120, 0, 3, 2, (byte)'h', (byte)'i', // a TXT record: kept, no address
            1, (byte)'x', 0xC0, 16, 0, 28, 0, 1, 0, 0, 0, 5, 0, 16, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // x. + pointer to "local"
        ];
        var m = Parse(packet);
        Assert.Equal(["abc.local", "abc.local", "x.local"], m.Records.Select(r => r.Name));
        Assert.Equal(IPAddress.Parse("10.0.0.1"), m.Records[0].Address);
        Assert.Null(m.Records[1].Address);
        Assert.Equal(IPAddress.Parse("2001:db8::1"), m.Records[2].Address);
    }

    [Fact]
    public void Label_bytes_that_are_not_plain_ascii_are_escaped()
    {
        byte[] packet = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, (byte)'a', (byte)' ', (byte)'.', 0xC3, (byte)'\\', 0, 0, 1, 0, 1];
        Assert.Equal(@"a\032\046\195\092", Assert.Single(Parse(packet).Questions).Name);
    }

    public static TheoryData<byte[], DnsError> BadPackets => new()
    {
        { new byte[11], DnsError.Truncated },
        // a pointer to itself, and one pointing forwards
        { [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1], DnsError.BadPointer },
        { [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 14, 0, 1, 0, 1, 0], DnsError.BadPointer },
        // two names pointing at each other: the second jump is not strictly backwards
        { [0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, (byte)'a', 0xC0, 18, 0, 1, 0, 1, 1, (byte)'b', 0xC0, 12, 0, 1, 0, 1], DnsError.BadPointer },
        { [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 1, 0, 0, 1, 0, 1], DnsError.BadLabel },
        { [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, (byte)'a', (byte)'b'], DnsError.Truncated },
        { [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, (byte)'a', 0, 0, 1], DnsError.Truncated },
        { [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 9, 0, 5, 1, 2, 3, 4, 5], DnsError.BadAddress },
        { [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 1, 2], DnsError.Truncated },
        { [0, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0], DnsError.NotStandardQuery }, // OPCODE 5 (UPDATE)
        { [0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0], DnsError.Truncated }, // counts more questions than the packet holds
    };

    [Theory]
    [MemberData(nameof(BadPackets))]
    public void Bad_packets_give_their_error(byte[] packet, DnsError expected)
    {
        Assert.Equal(expected, Error(packet));
        Assert.False(string.IsNullOrEmpty(DnsMessage.Describe(expected)));
    }

    [Fact]
    public void A_name_over_255_octets_is_refused()
    {
        var packet = new List<byte> { 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
        for (int i = 0; i < 5; i++)
        {
            packet.Add(63);
            packet.AddRange(Enumerable.Repeat((byte)'a', 63));
        }
        packet.AddRange([0, 0, 1, 0, 1]);
        Assert.Equal(DnsError.NameTooLong, Error(packet.ToArray()));
    }

    [Theory]
    [InlineData("a..local")]
    [InlineData("")]
    [InlineData("sp ace.local")]
    public void Names_that_cannot_be_written_write_nothing(string name)
    {
        Assert.Equal(0, DnsWriter.WriteQuery(new byte[512], 0, name, [DnsType.A], false));
    }

    [Fact]
    public void A_buffer_too_small_writes_nothing()
    {
        Assert.Equal(0, DnsWriter.WriteQuery(new byte[20], 0, Name, [DnsType.A], false));
        Assert.Equal(0, DnsWriter.WriteAnswer(new byte[60], 0, null, [new DnsAddressRecord(Name, IPAddress.Parse("2001:db8::1"))], 120));
    }

    [Theory]
    [InlineData("7a2f61b5-2e4a-4c1c-9b5d-0f1e2d3c4b5a.local", true)]
    [InlineData("HOST.LOCAL.", true)]
    [InlineData("a.b.local", true)]
    [InlineData("local", false)]
    [InlineData(".local", false)]
    [InlineData("a..local", false)]
    [InlineData("example.com", false)]
    [InlineData("a_b.local", false)]
    [InlineData("192.168.1.1", false)]
    public void Local_names_are_recognised(string text, bool local)
    {
        Assert.Equal(local, MdnsNames.IsLocalName(text));
    }

    [Fact]
    public void New_names_are_random_version_4_uuids_under_local()
    {
        string a = MdnsNames.NewName(), b = MdnsNames.NewName();
        Assert.NotEqual(a, b);
        Assert.True(MdnsNames.IsLocalName(a));
        Assert.True(Guid.TryParse(a[..^".local".Length], out var uuid));
        Assert.Equal(4, uuid.Version);
    }
}
