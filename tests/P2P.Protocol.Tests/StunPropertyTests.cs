using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;

namespace P2P.Protocol.Tests;

/// <summary>One message as a generator describes it: header fields, plain attributes and the trailers to add.</summary>
public sealed record MessageSpec(
    StunMethod Method, StunClass Class, ulong IdHigh, uint IdLow,
    (ushort Type, byte[] Value)[] Attributes, bool Integrity, bool IntegritySha256, bool Fingerprint, byte Padding)
{
    public TransactionId Id => new(IdHigh, IdLow);

    public byte[] Encode(StunIntegrityKey key)
    {
        var buffer = new byte[65_535];
        var w = new StunMessageWriter(buffer, Method, Class, Id) { PaddingByte = Padding };
        foreach (var (type, value) in Attributes) value.CopyTo(w.AddAttribute(type, value.Length));
        if (Integrity) w.AddMessageIntegrity(key);
        if (IntegritySha256) w.AddMessageIntegritySha256(key);
        if (Fingerprint) w.AddFingerprint();
        return w.ToArray();
    }

    public override string ToString() =>
        $"{Method}/{Class} {Id} [{string.Join(", ", Attributes.Select(a => $"0x{a.Type:x4}:{a.Value.Length}"))}] mi={Integrity} mi256={IntegritySha256} fp={Fingerprint}";
}

public static class StunArbitraries
{
    private static readonly ushort[] Trailers = [(ushort)StunAttributeType.MessageIntegrity, (ushort)StunAttributeType.MessageIntegritySha256, (ushort)StunAttributeType.Fingerprint];

    public static Arbitrary<MessageSpec> Messages()
    {
        var attribute =
            from type in Gen.Choose(0, 0xFFFF).Select(t => (ushort)t).Where(t => !Trailers.Contains(t))
            from length in Gen.Choose(0, 64)
            from value in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), length)
            select (type, value);
        var spec =
            from method in Gen.Choose(0, 0xFFF).Select(m => (StunMethod)m)
            from cls in Gen.Elements(StunClass.Request, StunClass.Indication, StunClass.SuccessResponse, StunClass.ErrorResponse)
            from high in ArbMap.Default.GeneratorFor<ulong>()
            from low in ArbMap.Default.GeneratorFor<uint>()
            from count in Gen.Choose(0, 12)
            from attributes in Gen.ArrayOf(attribute, count)
            from mi in ArbMap.Default.GeneratorFor<bool>()
            from mi256 in ArbMap.Default.GeneratorFor<bool>()
            from fp in ArbMap.Default.GeneratorFor<bool>()
            from pad in ArbMap.Default.GeneratorFor<byte>()
            select new MessageSpec(method, cls, high, low, attributes, mi, mi256, fp, pad);
        return spec.ToArbitrary();
    }
}

public class StunPropertyTests
{
    private static readonly byte[] Key = "property-test-key"u8.ToArray();

    [Property(Arbitrary = [typeof(StunArbitraries)], MaxTest = 500)]
    public bool Encoded_messages_parse_back_to_the_same_message(MessageSpec spec)
    {
        using var key = new StunIntegrityKey(Key);
        byte[] bytes = spec.Encode(key);
        if (!StunMessage.TryParse(bytes, out var msg, out var error)) throw new Exception($"parse failed: {error}");
        if (msg.Method != spec.Method || msg.Class != spec.Class || msg.TransactionId != spec.Id) return false;
        if (msg.HasMessageIntegrity != spec.Integrity || msg.HasMessageIntegritySha256 != spec.IntegritySha256 || msg.HasFingerprint != spec.Fingerprint) return false;
        if ((spec.Integrity || spec.IntegritySha256) && msg.VerifyIntegrity(key) != StunError.None) return false;
        if (spec.Integrity && msg.VerifyIntegritySha1(key) != StunError.None) return false;

        int i = 0;
        foreach (var attribute in msg.Attributes)
        {
            if (i < spec.Attributes.Length)
            {
                if (attribute.Type != spec.Attributes[i].Type || !attribute.Value.SequenceEqual(spec.Attributes[i].Value)) return false;
            }
            i++;
        }
        return i == spec.Attributes.Length + (spec.Integrity ? 1 : 0) + (spec.IntegritySha256 ? 1 : 0) + (spec.Fingerprint ? 1 : 0);
    }

    [Property(MaxTest = 2000)]
    public void Arbitrary_bytes_never_throw(byte[] bytes)
    {
        ExerciseEverything(bytes);
    }

    [Property(Arbitrary = [typeof(StunArbitraries)], MaxTest = 1000)]
    public void Corrupted_valid_messages_never_throw(MessageSpec spec, int position, byte value, int cut)
    {
        using var key = new StunIntegrityKey(Key);
        byte[] bytes = spec.Encode(key);
        bytes[(int)((uint)position % bytes.Length)] = value;
        int length = cut % 4 == 0 ? bytes.Length : (int)((uint)cut % (bytes.Length + 1));
        ExerciseEverything(bytes.AsSpan(0, length).ToArray());
    }

    [Property(Arbitrary = [typeof(StunArbitraries)], MaxTest = 2000)]
    public bool Any_flipped_bit_under_a_fingerprint_is_detected(MessageSpec spec, int bit)
    {
        using var key = new StunIntegrityKey(Key);
        byte[] bytes = (spec with { Fingerprint = true }).Encode(key);
        int b = (int)((uint)bit % ((bytes.Length - 8) * 8)); // any bit the CRC covers (header and attributes before FINGERPRINT)
        bytes[b / 8] ^= (byte)(1 << (b % 8));
        // A flip may break the framing first, or lengthen an attribute so that it swallows the
        // FINGERPRINT; what must never happen is a corrupted message accepted as fingerprint-checked.
        return !StunMessage.TryParse(bytes, out var msg, out _) || !msg.HasFingerprint;
    }

    private static void ExerciseEverything(byte[] bytes)
    {
        using var key = new StunIntegrityKey(Key);
        if (StunMessage.TryParse(bytes, out var msg, out _))
        {
            msg.VerifyIntegrity(key);
            msg.VerifyIntegritySha1(key);
            msg.VerifyIntegritySha256(key);
            foreach (var a in msg.Attributes) _ = a.Value.Length;
            foreach (StunAttributeType type in Enum.GetValues<StunAttributeType>())
            {
                msg.TryGetAddress(type, out var address);
                if (address.Port != 0) _ = address.ToEndPoint();
                msg.TryGetString(type, out _);
                msg.TryGetUInt32(type, out _);
                msg.TryGetUInt64(type, out _);
                msg.TryGetAddressFamily(type, out _);
            }
            msg.TryGetErrorCode(out _, out _);
            msg.TryGetChannelNumber(out _);
            msg.TryGetRequestedTransport(out _);
            msg.TryGetEvenPort(out _);
            msg.TryGetChangeRequest(out _, out _);
            msg.TryGetPasswordAlgorithm(out _);
            msg.TryGetPasswordAlgorithms(stackalloc PasswordAlgorithm[4], out _);
            msg.GetUnknownAttributesList(stackalloc ushort[8]);
            msg.GetUnknownComprehensionRequired(stackalloc ushort[8]);
        }
        ChannelData.TryParse(bytes, out _, out _, out _);
        StreamFraming.TryGetFrameLength(bytes, out _);
        StunMessage.LooksLikeStun(bytes);
    }
}
