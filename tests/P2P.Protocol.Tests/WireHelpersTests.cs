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
        Assert.Equal(StreamFraming.FrameStatus.Complete, StreamFraming.TryGetFrameLength(buffer.AsSpan(0, n), out int frame));
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
        Assert.Equal(StreamFraming.FrameStatus.NeedMore, StreamFraming.TryGetFrameLength(stun.AsSpan(0, 30), out _));
        Assert.Equal(StreamFraming.FrameStatus.Complete, StreamFraming.TryGetFrameLength([.. stun, 0x40, 0x00], out int length));
        Assert.Equal(stun.Length, length);
        Assert.Equal(StreamFraming.FrameStatus.Invalid, StreamFraming.TryGetFrameLength([0x80, 0, 0, 0], out _));
        Assert.Equal(StreamFraming.FrameStatus.NeedMore, StreamFraming.TryGetFrameLength([0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5], out length));
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

/// <summary>Every attribute the foundation issue names, written with the typed writer and read back with the typed reader.</summary>
public class AttributeCatalogueTests
{
    [Fact]
    public void Every_named_attribute_round_trips()
    {
        var id = TransactionId.NewRandom();
        var v4 = new IPEndPoint(IPAddress.Parse("203.0.113.5"), 4000);
        var v6 = new IPEndPoint(IPAddress.Parse("2001:db8::9"), 5000);
        var buffer = new byte[1024];
        var w = new StunMessageWriter(buffer, StunMethod.Allocate, StunClass.SuccessResponse, id);
        w.AddAddress(StunAttributeType.MappedAddress, StunAddress.From(v4));
        w.AddAddress(StunAttributeType.XorMappedAddress, StunAddress.From(v6));
        w.AddString(StunAttributeType.Username, "user");
        w.AddBytes(StunAttributeType.UserHash, new byte[32]);
        w.AddErrorCode(401, "Unauthorized");
        w.AddString(StunAttributeType.Realm, "realm");
        w.AddString(StunAttributeType.Nonce, "nonce");
        w.AddPasswordAlgorithms([PasswordAlgorithm.Sha256]);
        w.AddPasswordAlgorithm(PasswordAlgorithm.Sha256);
        w.AddUnknownAttributes([0x7777]);
        w.AddString(StunAttributeType.Software, "P2P");
        w.AddAddress(StunAttributeType.AlternateServer, StunAddress.From(v4));
        w.AddUInt32(StunAttributeType.Priority, 0x6E7F00FF);
        w.AddFlag(StunAttributeType.UseCandidate);
        w.AddUInt64(StunAttributeType.IceControlled, 1);
        w.AddUInt64(StunAttributeType.IceControlling, 2);
        w.AddChannelNumber(0x4123);
        w.AddUInt32(StunAttributeType.Lifetime, 600);
        w.AddAddress(StunAttributeType.XorPeerAddress, StunAddress.From(v4));
        w.AddBytes(StunAttributeType.Data, [9, 8, 7]);
        w.AddAddress(StunAttributeType.XorRelayedAddress, StunAddress.From(v6));
        w.AddAddressFamily(StunAttributeType.RequestedAddressFamily, StunAddress.FamilyIPv6);
        w.AddEvenPort(reserveNext: true);
        w.AddRequestedTransport(17);
        w.AddFlag(StunAttributeType.DontFragment);
        w.AddUInt64(StunAttributeType.ReservationToken, 0x0102030405060708);
        w.AddAddressFamily(StunAttributeType.AdditionalAddressFamily, StunAddress.FamilyIPv6);
        w.AddAddressErrorCode(StunAddress.FamilyIPv6, 440, "Address Family not Supported");
        w.AddUInt32(StunAttributeType.ConnectionId, 0xC0FFEE);
        w.AddChangeRequest(changeIp: true, changePort: false);
        w.AddAddress(StunAttributeType.ResponseOrigin, StunAddress.From(v4));
        w.AddAddress(StunAttributeType.OtherAddress, StunAddress.From(v6));
        w.AddFingerprint();

        Assert.True(StunMessage.TryParse(w.ToArray(), out var m, out var error), error.ToString());
        Address(m, StunAttributeType.MappedAddress, v4);
        Address(m, StunAttributeType.XorMappedAddress, v6);
        Assert.True(m.TryGetString(StunAttributeType.Username, out var user) && user == "user");
        Assert.True(m.TryGetAttribute(StunAttributeType.UserHash, out var hash) && hash.Length == 32);
        Assert.True(m.TryGetErrorCode(out int code, out string reason) && code == 401 && reason == "Unauthorized");
        Assert.True(m.TryGetString(StunAttributeType.Realm, out var realm) && realm == "realm");
        Assert.True(m.TryGetString(StunAttributeType.Nonce, out var nonce) && nonce == "nonce");
        Span<PasswordAlgorithm> algorithms = stackalloc PasswordAlgorithm[2];
        Assert.True(m.TryGetPasswordAlgorithms(algorithms, out int count) && count == 1 && algorithms[0] == PasswordAlgorithm.Sha256);
        Assert.True(m.TryGetPasswordAlgorithm(out var algorithm) && algorithm == PasswordAlgorithm.Sha256);
        Span<ushort> unknown = stackalloc ushort[2];
        Assert.Equal(1, m.GetUnknownAttributesList(unknown));
        Assert.Equal(0x7777, unknown[0]);
        Assert.True(m.TryGetString(StunAttributeType.Software, out var software) && software == "P2P");
        Address(m, StunAttributeType.AlternateServer, v4);
        Assert.True(m.TryGetUInt32(StunAttributeType.Priority, out var priority) && priority == 0x6E7F00FF);
        Assert.True(m.TryGetAttribute(StunAttributeType.UseCandidate, out var useCandidate) && useCandidate.IsEmpty);
        Assert.True(m.TryGetUInt64(StunAttributeType.IceControlled, out var controlled) && controlled == 1);
        Assert.True(m.TryGetUInt64(StunAttributeType.IceControlling, out var controlling) && controlling == 2);
        Assert.True(m.TryGetChannelNumber(out var channel) && channel == 0x4123);
        Assert.True(m.TryGetUInt32(StunAttributeType.Lifetime, out var lifetime) && lifetime == 600);
        Address(m, StunAttributeType.XorPeerAddress, v4);
        Assert.True(m.TryGetAttribute(StunAttributeType.Data, out var data) && data.SequenceEqual(new byte[] { 9, 8, 7 }));
        Address(m, StunAttributeType.XorRelayedAddress, v6);
        Assert.True(m.TryGetAddressFamily(StunAttributeType.RequestedAddressFamily, out var family) && family == StunAddress.FamilyIPv6);
        Assert.True(m.TryGetEvenPort(out var reserve) && reserve);
        Assert.True(m.TryGetRequestedTransport(out var transport) && transport == 17);
        Assert.True(m.Has(StunAttributeType.DontFragment));
        Assert.True(m.TryGetUInt64(StunAttributeType.ReservationToken, out var token) && token == 0x0102030405060708);
        Assert.True(m.TryGetAddressFamily(StunAttributeType.AdditionalAddressFamily, out var additional) && additional == StunAddress.FamilyIPv6);
        Assert.True(m.TryGetAddressErrorCode(out var errorFamily, out int addressCode, out var addressReason));
        Assert.Equal((StunAddress.FamilyIPv6, 440, "Address Family not Supported"), (errorFamily, addressCode, addressReason));
        Assert.True(m.TryGetUInt32(StunAttributeType.ConnectionId, out var connection) && connection == 0xC0FFEE);
        Assert.True(m.TryGetChangeRequest(out bool changeIp, out bool changePort) && changeIp && !changePort);
        Address(m, StunAttributeType.ResponseOrigin, v4);
        Address(m, StunAttributeType.OtherAddress, v6);
        Assert.Equal(0, m.GetUnknownComprehensionRequired(stackalloc ushort[4]));
    }

    private static void Address(in StunMessage m, StunAttributeType type, IPEndPoint expected)
    {
        Assert.True(m.TryGetAddress(type, out var address), type.ToString());
        Assert.Equal(expected, address.ToEndPoint());
    }
}
