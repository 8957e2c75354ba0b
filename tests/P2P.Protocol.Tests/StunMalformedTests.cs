using System.Buffers.Binary;
using P2P.Protocol.Stun;
using Xunit;

namespace P2P.Protocol.Tests;

/// <summary>Every malformed input gets its own error value, never an exception.</summary>
public class StunMalformedTests
{
    private static byte[] Sample() => (byte[])StunVectors.Rfc5769SampleRequest.Clone();

    private static StunError Parse(byte[] bytes)
    {
        Assert.False(StunMessage.TryParse(bytes, out _, out var error));
        return error;
    }

    [Fact]
    public void Truncated_header_is_too_short() => Assert.Equal(StunError.TooShort, Parse(Sample()[..19]));

    [Fact]
    public void Top_bits_set_is_not_stun()
    {
        var b = Sample();
        b[0] |= 0x80;
        Assert.Equal(StunError.NotStun, Parse(b));
    }

    [Fact]
    public void Length_not_multiple_of_four_is_bad_length()
    {
        var b = Sample();
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), 0x57);
        Assert.Equal(StunError.BadLength, Parse(b));
    }

    [Fact]
    public void Length_disagreeing_with_packet_is_bad_length()
    {
        Assert.Equal(StunError.BadLength, Parse(Sample()[..^4]));
        Assert.Equal(StunError.BadLength, Parse([.. Sample(), 0, 0, 0, 0]));
    }

    [Fact]
    public void Wrong_cookie_is_bad_cookie()
    {
        var b = Sample();
        b[4] = 0x22;
        Assert.Equal(StunError.BadCookie, Parse(b));
    }

    [Fact]
    public void Attribute_running_past_the_end_is_an_overrun()
    {
        var b = Sample();
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(22), 0x00F0); // SOFTWARE claims 240 bytes
        Assert.Equal(StunError.AttributeOverrun, Parse(b));
    }

    [Fact]
    public void Attribute_header_cut_in_half_is_an_overrun()
    {
        var buffer = new byte[64];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        var b = w.ToArray();
        b = [.. b, 0x00, 0x24, 0x00, 0x00, 0x80, 0x22, 0x00, 0x08]; // second header claims 8 bytes that are not there
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)(b.Length - 20));
        Assert.Equal(StunError.AttributeOverrun, Parse(b));
    }

    [Fact]
    public void Integrity_with_wrong_length_is_rejected()
    {
        var buffer = new byte[64];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        w.AddAttribute(StunAttributeType.MessageIntegrity, 16);
        Assert.Equal(StunError.BadAttributeLength, Parse(w.ToArray()));
    }

    [Fact]
    public void Attribute_after_fingerprint_is_rejected()
    {
        var buffer = new byte[64];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        w.AddFingerprint();
        w.AddUInt32(StunAttributeType.Priority, 1);
        Assert.Equal(StunError.FingerprintNotLast, Parse(w.ToArray()));
    }

    [Fact]
    public void Bad_fingerprint_is_detected()
    {
        var b = Sample();
        b[^1] ^= 1;
        Assert.Equal(StunError.BadFingerprint, Parse(b));
    }

    [Fact]
    public void Missing_integrity_is_reported_when_verifying()
    {
        var buffer = new byte[64];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        w.AddFingerprint();
        var bytes = w.ToArray();
        Assert.True(StunMessage.TryParse(bytes, out var msg, out _));
        using var key = new StunIntegrityKey("k"u8);
        Assert.Equal(StunError.MissingIntegrity, msg.VerifyIntegrity(key));
    }

    [Fact]
    public void Attributes_after_message_integrity_are_ignored_except_trailers()
    {
        using var key = new StunIntegrityKey("k"u8);
        var buffer = new byte[128];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        w.AddMessageIntegrity(key);
        w.AddUInt32(StunAttributeType.Priority, 7); // RFC 8489 §14.5: must be ignored
        w.AddFingerprint();
        var bytes = w.ToArray();
        Assert.True(StunMessage.TryParse(bytes, out var msg, out var error), error.ToString());
        Assert.False(msg.Has(StunAttributeType.Priority));
        Assert.True(msg.HasFingerprint);
    }

    [Fact]
    public void Unknown_comprehension_required_attributes_are_listed()
    {
        var buffer = new byte[128];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        w.AddAttribute(0x7F01, 4);
        w.AddAttribute(0xC001, 4); // comprehension-optional: never reported
        w.AddUInt32(StunAttributeType.Priority, 1);
        w.AddAttribute(0x0002, 0); // RESPONSE-ADDRESS, reserved by RFC 8489: unknown to us
        var bytes = w.ToArray();
        Assert.True(StunMessage.TryParse(bytes, out var msg, out _));
        Span<ushort> unknown = stackalloc ushort[4];
        int n = msg.GetUnknownComprehensionRequired(unknown);
        Assert.Equal(2, n);
        Assert.Equal(0x7F01, unknown[0]);
        Assert.Equal(0x0002, unknown[1]);

        var reply = new StunMessageWriter(new byte[64], StunMethod.Binding, StunClass.ErrorResponse, msg.TransactionId);
        reply.AddErrorCode(420, "Unknown Attribute");
        reply.AddUnknownAttributes(unknown[..n]);
        Assert.True(StunMessage.TryParse(reply.ToArray(), out var parsed, out _));
        Assert.True(parsed.TryGetErrorCode(out int code, out string reason));
        Assert.Equal(420, code);
        Assert.Equal("Unknown Attribute", reason);
        Span<ushort> listed = stackalloc ushort[4];
        Assert.Equal(2, parsed.GetUnknownAttributesList(listed));
        Assert.Equal(0x7F01, listed[0]);
    }

    [Fact]
    public void Bad_attribute_values_fail_their_typed_getters()
    {
        var buffer = new byte[128];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.SuccessResponse, TransactionId.NewRandom());
        w.AddAttribute(StunAttributeType.XorMappedAddress, 7)[1] = 0x01;   // IPv4 needs 8 bytes
        w.AddAttribute(StunAttributeType.ErrorCode, 4)[2] = 7;             // class 7 does not exist
        w.AddBytes(StunAttributeType.Username, [0xFF, 0xFE]);             // not UTF-8
        w.AddAttribute(StunAttributeType.Priority, 3);
        Assert.True(StunMessage.TryParse(w.ToArray(), out var msg, out _));
        Assert.False(msg.TryGetAddress(StunAttributeType.XorMappedAddress, out _));
        Assert.False(msg.TryGetErrorCode(out _, out _));
        Assert.False(msg.TryGetString(StunAttributeType.Username, out _));
        Assert.False(msg.TryGetUInt32(StunAttributeType.Priority, out _));
    }

    [Theory]
    [InlineData(StunMethod.Binding, StunClass.Request, 0x0001)]
    [InlineData(StunMethod.Binding, StunClass.SuccessResponse, 0x0101)]
    [InlineData(StunMethod.Binding, StunClass.ErrorResponse, 0x0111)]
    [InlineData(StunMethod.Allocate, StunClass.Request, 0x0003)]
    [InlineData(StunMethod.Send, StunClass.Indication, 0x0016)]
    [InlineData(StunMethod.Data, StunClass.Indication, 0x0017)]
    [InlineData(StunMethod.ChannelBind, StunClass.SuccessResponse, 0x0109)]
    [InlineData(StunMethod.ConnectionAttempt, StunClass.Indication, 0x001C)]
    public void Message_types_encode_as_rfc_8489_figure_3(StunMethod method, StunClass cls, int type)
    {
        Assert.Equal(type, StunMessageType.Encode(method, cls));
        Assert.Equal(method, StunMessageType.DecodeMethod((ushort)type));
        Assert.Equal(cls, StunMessageType.DecodeClass((ushort)type));
    }
}
