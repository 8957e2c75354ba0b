using System.Net;
using BenchmarkDotNet.Attributes;
using P2P.Protocol.Stun;

namespace P2P.Benchmarks;

/// <summary>
/// STUN codec cost against its floor. (a) parse alone of the RFC 5769 sample request, (b) parse plus
/// MESSAGE-INTEGRITY and FINGERPRINT verification, (c) encode of a Binding success response with
/// XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT, (d) the bare HMAC-SHA1 of the same bytes
/// with the same reused keyed context: the crypto every integrity-protected message must pay.
/// </summary>
[MemoryDiagnoser]
public class StunCodecBenchmarks
{
    // RFC 5769 §2.1 sample request (short-term credential "VOkJxbRl1RmTxUk/WvJxBt").
    private static readonly byte[] SampleRequest = Convert.FromHexString(
        "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e20746573742063" +
        "6c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68" +
        "367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf");

    private readonly byte[] _output = new byte[128];
    private readonly byte[] _mac = new byte[20];
    private StunIntegrityKey _key = null!;
    private StunAddress _mapped;
    private TransactionId _id;
    private int _integrityOffset;

    [GlobalSetup]
    public void Setup()
    {
        _key = new StunIntegrityKey("VOkJxbRl1RmTxUk/WvJxBt"u8);
        _mapped = StunAddress.From(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853));
        _id = TransactionId.Read(SampleRequest.AsSpan(8, 12));
        _integrityOffset = SampleRequest.Length - 8 - 24; // MESSAGE-INTEGRITY sits before the 8-byte FINGERPRINT
        if (!StunMessage.TryParse(SampleRequest, out var msg, out _) || msg.VerifyIntegrity(_key) != StunError.None)
            throw new InvalidOperationException("sample request does not verify");
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark(Description = "(a) parse")]
    public bool Parse() => StunMessage.TryParse(SampleRequest, out _, out _);

    [Benchmark(Description = "(b) parse + verify MI + FP")]
    public bool ParseAndVerify() =>
        StunMessage.TryParse(SampleRequest, out var msg, out _) && msg.VerifyIntegrity(_key) == StunError.None;

    [Benchmark(Description = "(c) encode response + MI + FP")]
    public int EncodeResponse()
    {
        var w = new StunMessageWriter(_output, StunMethod.Binding, StunClass.SuccessResponse, _id);
        w.AddAddress(StunAttributeType.XorMappedAddress, _mapped);
        w.AddMessageIntegrity(_key);
        w.AddFingerprint();
        return w.Length;
    }

    [Benchmark(Baseline = true, Description = "(d) HMAC-SHA1 floor")]
    public byte HmacFloor()
    {
        _key.ComputeSha1(SampleRequest.AsSpan(0, _integrityOffset), (ushort)(_integrityOffset - 20 + 24), _mac);
        return _mac[0];
    }
}
