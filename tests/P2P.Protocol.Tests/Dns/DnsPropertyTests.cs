using System.Net;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Dns;

namespace P2P.Protocol.Tests.Dns;

public static class DnsArbitraries
{
    private static readonly Gen<string> Label =
        from length in Gen.Choose(1, 20)
        from chars in Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyz0123456789-ABC".ToCharArray()), length)
        select new string(chars);

    public static Arbitrary<(string Name, IPAddress Address)> Records() =>
        (from count in Gen.Choose(1, 4)
         from labels in Gen.ArrayOf(Label, count)
         from v6 in ArbMap.Default.GeneratorFor<bool>()
         from bytes in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), v6 ? 16 : 4)
         select (string.Join('.', labels) + ".local", new IPAddress(bytes))).ToArbitrary();
}

public class DnsPropertyTests
{
    private static byte[] Answer(string name, IPAddress address)
    {
        var buffer = new byte[512];
        int n = DnsWriter.WriteAnswer(buffer, 0, null, [new DnsAddressRecord(name, address)], 120);
        return buffer[..n];
    }

    [Property(Arbitrary = [typeof(DnsArbitraries)], MaxTest = 500)]
    public bool An_answer_reads_back_as_written((string Name, IPAddress Address) record)
    {
        var packet = Answer(record.Name, record.Address);
        return DnsMessage.TryParse(packet, out var m, out _)
               && m.Records.Count == 1 && m.Records[0].Name == record.Name && m.Records[0].Address!.Equals(record.Address);
    }

    [Property(Arbitrary = [typeof(DnsArbitraries)], MaxTest = 500)]
    public bool A_query_reads_back_as_written((string Name, IPAddress Address) record, bool unicast)
    {
        var buffer = new byte[512];
        int n = DnsWriter.WriteQuery(buffer, 7, record.Name, [DnsType.A, DnsType.Aaaa], unicast);
        return DnsMessage.TryParse(buffer.AsSpan(0, n), out var m, out _)
               && m.Questions.Count == 2 && m.Questions.All(q => q.Name == record.Name && q.UnicastResponse == unicast);
    }

    /// <summary>Any bytes at all: a value or an error, never an exception.</summary>
    [Property(MaxTest = 3000)]
    public bool Random_bytes_never_throw(byte[] bytes)
    {
        bool parsed = DnsMessage.TryParse(bytes, out var m, out var error);
        return parsed ? error == DnsError.None && m is not null : error != DnsError.None;
    }

    /// <summary>A valid packet with any byte changed, or cut anywhere: still never an exception, and a cut packet is never read as whole.</summary>
    [Property(Arbitrary = [typeof(DnsArbitraries)], MaxTest = 1000)]
    public bool Damaged_answers_never_throw((string Name, IPAddress Address) record, int position, byte value, int cut)
    {
        var packet = Answer(record.Name, record.Address);
        var changed = (byte[])packet.Clone();
        changed[Math.Abs(position % changed.Length)] = value;
        DnsMessage.TryParse(changed, out _, out _);
        int length = Math.Abs(cut % packet.Length);
        return !DnsMessage.TryParse(packet.AsSpan(0, length), out _, out var error) && error != DnsError.None;
    }
}
