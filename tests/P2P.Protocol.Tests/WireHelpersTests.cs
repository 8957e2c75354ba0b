using System.Net;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using Xunit;

namespace P2P.Protocol.Tests;

public class ChannelDataTests
{
    [Fact]
    public void Round_trip_without_and_with_stream_padding()
    {
        byte[] data = [1, 2, 3, 4, 5];
        var buffer = new byte[16];
        int n = ChannelData.Write(buffer, 0x4001, data, padForStream: false);
        Assert.Equal(9, n);
        Assert.True(ChannelData.TryParse(buffer.AsSpan(0, n), out var channel, out var payload, out _));
        Assert.Equal(0x4001, channel);
        Assert.Equal(data, payload.ToArray());

        Array.Fill(buffer, (byte)0xEE);
        n = ChannelData.Write(buffer, 0x4FFF, data, padForStream: true);
        Assert.Equal(12, n);
        Assert.Equal(new byte[3], buffer[9..12]);
        Assert.Equal(StreamFraming.Result.Complete, StreamFraming.TryGetFrameLength(buffer.AsSpan(0, n), out int frame));
        Assert.Equal(12, frame);
    }

    [Fact]
    public void Bad_channel_numbers_and_lengths_are_errors()
    {
        Assert.False(ChannelData.TryParse([0x40, 0x00, 0x00], out _, out _, out var e1));
        Assert.Equal(ChannelDataError.TooShort, e1);
        Assert.False(ChannelData.TryParse([0x50, 0x00, 0x00, 0x00], out _, out _, out var e2));
        Assert.Equal(ChannelDataError.BadChannelNumber, e2);
        Assert.False(ChannelData.TryParse([0x40, 0x00, 0x00, 0x05, 1, 2], out _, out _, out var e3));
        Assert.Equal(ChannelDataError.BadLength, e3);
    }

    [Fact]
    public void Stream_framing_splits_stun_and_channel_data()
    {
        var stun = StunVectors.Rfc5769SampleRequest;
        Assert.Equal(StreamFraming.Result.NeedMore, StreamFraming.TryGetFrameLength(stun.AsSpan(0, 30), out _));
        Assert.Equal(StreamFraming.Result.Complete, StreamFraming.TryGetFrameLength([.. stun, 0x40, 0x00], out int length));
        Assert.Equal(stun.Length, length);
        Assert.Equal(StreamFraming.Result.Invalid, StreamFraming.TryGetFrameLength([0x80, 0, 0, 0], out _));
        Assert.Equal(StreamFraming.Result.NeedMore, StreamFraming.TryGetFrameLength([0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5], out length));
        Assert.Equal(12, length);
    }
}

public class RetransmissionScheduleTests
{
    [Fact]
    public void Udp_schedule_matches_rfc_8489_example()
    {
        var s = RetransmissionSchedule.Default;
        var sendTimes = new List<double>();
        double t = 0;
        for (int i = 1; ; i++)
        {
            sendTimes.Add(t);
            var wait = s.WaitAfterSend(i, reliable: false, out bool final);
            t += wait.TotalMilliseconds;
            if (final) break;
        }
        Assert.Equal(new double[] { 0, 500, 1500, 3500, 7500, 15500, 31500 }, sendTimes);
        Assert.Equal(39_500, t);
        Assert.Equal(TimeSpan.FromMilliseconds(39_500), s.TotalTimeout(reliable: false));
    }

    [Fact]
    public void Tcp_sends_once_and_waits_ti()
    {
        var s = RetransmissionSchedule.Default;
        Assert.Equal(TimeSpan.FromMilliseconds(39_500), s.WaitAfterSend(1, reliable: true, out bool final));
        Assert.True(final);
    }

    [Fact]
    public void Schedule_follows_its_settings()
    {
        var s = new RetransmissionSchedule(TimeSpan.FromMilliseconds(100), 3, 4, TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromMilliseconds(100 + 200 + 400), s.TotalTimeout(false));
    }
}

public class CredentialTests
{
    [Fact]
    public void Nonce_cookie_round_trips_feature_bits()
    {
        string nonce = NonceCookie.Create(SecurityFeatures.PasswordAlgorithms | SecurityFeatures.UsernameAnonymity, "abcdef");
        Assert.StartsWith("obMatJos2", nonce);
        Assert.True(NonceCookie.TryParse(nonce, out var features));
        Assert.Equal(SecurityFeatures.PasswordAlgorithms | SecurityFeatures.UsernameAnonymity, features);
        Assert.False(NonceCookie.TryParse("f//499k954d6OL34oL9FSTvy64sA", out _));
        Assert.False(NonceCookie.TryParse("obMatJos2!!!!", out _));
    }

    [Fact]
    public void OpaqueString_maps_spaces_keeps_case_and_refuses_controls()
    {
        Assert.True(StringPrep.TryOpaqueString("Pass\u00A0Word", out var p, out _));
        Assert.Equal("Pass Word", p);
        Assert.True(StringPrep.TryOpaqueString("e\u0301", out var nfc, out _));
        Assert.Equal("\u00E9", nfc);
        Assert.False(StringPrep.TryOpaqueString("bad\u0007", out _, out var error));
        Assert.Contains("U+0007", error);
        Assert.False(StringPrep.TryOpaqueString("", out _, out _));
    }

    [Fact]
    public void Saslprep_refuses_prohibited_characters()
    {
        Assert.False(StringPrep.TrySaslPrep("a\u0007b", out _, out _));
        Assert.True(StringPrep.TrySaslPrep("I\u00ADX", out var p, out _));
        Assert.Equal("IX", p);
    }

    [Fact]
    public void Password_algorithms_attribute_round_trips()
    {
        var w = new StunMessageWriter(new byte[128], StunMethod.Allocate, StunClass.ErrorResponse, TransactionId.NewRandom());
        w.AddPasswordAlgorithms([PasswordAlgorithm.Md5, PasswordAlgorithm.Sha256]);
        Assert.True(StunMessage.TryParse(w.ToArray(), out var msg, out _));
        Span<PasswordAlgorithm> algorithms = stackalloc PasswordAlgorithm[4];
        Assert.True(msg.TryGetPasswordAlgorithms(algorithms, out int n));
        Assert.Equal(2, n);
        Assert.Equal(PasswordAlgorithm.Sha256, algorithms[1]);
    }
}

public class StunAddressTests
{
    [Theory]
    [InlineData("203.0.113.7", 40000)]
    [InlineData("2001:db8::1", 3478)]
    [InlineData("::ffff:10.1.2.3", 1)]
    public void Xor_and_plain_addresses_round_trip(string ip, int port)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(ip), port);
        var expected = endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), port) : endPoint;
        var w = new StunMessageWriter(new byte[128], StunMethod.Allocate, StunClass.SuccessResponse, TransactionId.NewRandom());
        w.AddAddress(StunAttributeType.XorRelayedAddress, StunAddress.From(endPoint));
        w.AddAddress(StunAttributeType.MappedAddress, StunAddress.From(endPoint));
        Assert.True(StunMessage.TryParse(w.ToArray(), out var msg, out _));
        Assert.True(msg.TryGetAddress(StunAttributeType.XorRelayedAddress, out var relayed));
        Assert.True(msg.TryGetAddress(StunAttributeType.MappedAddress, out var plain));
        Assert.Equal(expected, relayed.ToEndPoint());
        Assert.Equal(expected, plain.ToEndPoint());
        Assert.True(msg.TryGetAttribute(StunAttributeType.XorRelayedAddress, out var raw));
        Assert.False(raw.SequenceEqual(msg.TryGetAttribute(StunAttributeType.MappedAddress, out var rawPlain) ? rawPlain : default)); // really XOR-ed
    }
}
