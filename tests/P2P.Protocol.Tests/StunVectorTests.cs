using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using P2P.Protocol.Stun;
using Xunit;

namespace P2P.Protocol.Tests;

/// <summary>RFC 5769 test vectors and the corrected RFC 8489 Appendix B.1 vector, both ways: parse+verify and encode+compare.</summary>
public class StunVectorTests
{
    private static readonly TransactionId LongTermTransactionId = TransactionId.Read(Convert.FromHexString("78ad3433c6ad72c029da412e"));

    private static StunIntegrityKey ShortTermKey()
    {
        Assert.True(StunCredentials.TryDeriveShortTermKey(StunVectors.Rfc5769ShortTermPassword, out var key, out _));
        return new StunIntegrityKey(key);
    }

    [Fact]
    public void Rfc5769_sample_request_parses_and_verifies()
    {
        Assert.True(StunMessage.TryParse(StunVectors.Rfc5769SampleRequest, out var msg, out var error), error.ToString());
        Assert.Equal(StunMethod.Binding, msg.Method);
        Assert.Equal(StunClass.Request, msg.Class);
        Assert.True(msg.HasFingerprint);
        Assert.True(msg.TryGetString(StunAttributeType.Username, out var username));
        Assert.Equal(StunVectors.Rfc5769ShortTermUsername, username);
        Assert.True(msg.TryGetString(StunAttributeType.Software, out var software));
        Assert.Equal(StunVectors.Rfc5769RequestSoftware, software);
        Assert.True(msg.TryGetUInt32(StunAttributeType.Priority, out var priority));
        Assert.Equal(StunVectors.Rfc5769Priority, priority);
        Assert.True(msg.TryGetUInt64(StunAttributeType.IceControlled, out var tieBreaker));
        Assert.Equal(StunVectors.Rfc5769IceControlledTieBreaker, tieBreaker);
        using var key = ShortTermKey();
        Assert.Equal(StunError.None, msg.VerifyIntegrity(key));
    }

    [Fact]
    public void Rfc5769_sample_request_encodes_byte_for_byte()
    {
        var id = TransactionId.Read(StunVectors.Rfc5769SampleRequest.AsSpan(8, 12));
        using var key = ShortTermKey();
        var buffer = new byte[256];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, id) { PaddingByte = 0x20 };
        w.AddString(StunAttributeType.Software, StunVectors.Rfc5769RequestSoftware);
        w.AddUInt32(StunAttributeType.Priority, StunVectors.Rfc5769Priority);
        w.AddUInt64(StunAttributeType.IceControlled, StunVectors.Rfc5769IceControlledTieBreaker);
        w.AddString(StunAttributeType.Username, StunVectors.Rfc5769ShortTermUsername);
        w.AddMessageIntegrity(key);
        w.AddFingerprint();
        Assert.Equal(Convert.ToHexString(StunVectors.Rfc5769SampleRequest), Convert.ToHexString(w.ToArray()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rfc5769_sample_responses_parse_verify_and_encode(bool ipv6)
    {
        byte[] vector = ipv6 ? StunVectors.Rfc5769SampleIPv6Response : StunVectors.Rfc5769SampleIPv4Response;
        var expected = new IPEndPoint(IPAddress.Parse(ipv6 ? StunVectors.Rfc5769MappedIPv6Address : StunVectors.Rfc5769MappedIPv4Address), StunVectors.Rfc5769MappedPort);
        using var key = ShortTermKey();

        Assert.True(StunMessage.TryParse(vector, out var msg, out var error), error.ToString());
        Assert.Equal(StunClass.SuccessResponse, msg.Class);
        Assert.Equal(StunMethod.Binding, msg.Method);
        Assert.True(msg.TryGetAddress(StunAttributeType.XorMappedAddress, out var mapped));
        Assert.Equal(expected, mapped.ToEndPoint());
        Assert.Equal(ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, mapped.Family);
        Assert.Equal(StunError.None, msg.VerifyIntegrity(key));

        var buffer = new byte[256];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.SuccessResponse, msg.TransactionId) { PaddingByte = 0x20 };
        w.AddString(StunAttributeType.Software, StunVectors.Rfc5769ResponseSoftware);
        w.AddAddress(StunAttributeType.XorMappedAddress, StunAddress.From(expected));
        w.AddMessageIntegrity(key);
        w.AddFingerprint();
        Assert.Equal(Convert.ToHexString(vector), Convert.ToHexString(w.ToArray()));
    }

    [Fact]
    public void Rfc5769_long_term_key_uses_saslprep_of_the_password()
    {
        Assert.True(StringPrep.TrySaslPrep(StunVectors.LongTermPasswordRaw, out var prepared, out _));
        Assert.Equal(StunVectors.LongTermPassword, prepared);
        Assert.True(StunCredentials.TryDeriveLongTermKey(PasswordAlgorithm.Md5, StunVectors.LongTermUsername, StunVectors.LongTermRealm,
            StunVectors.LongTermPasswordRaw, out var key, out _, PasswordPreparation.SaslPrep));
        Assert.Equal(StunVectors.Rfc5769LongTermKeyMd5, key);
        // independent computation of the same key
        var independent = MD5.HashData(Encoding.UTF8.GetBytes($"{StunVectors.LongTermUsername}:{StunVectors.LongTermRealm}:TheMatrIX"));
        Assert.Equal(independent, key);
    }

    [Fact]
    public void Rfc5769_long_term_request_parses_verifies_and_encodes()
    {
        Assert.True(StunCredentials.TryDeriveLongTermKey(PasswordAlgorithm.Md5, StunVectors.LongTermUsername, StunVectors.LongTermRealm,
            StunVectors.LongTermPasswordRaw, out var keyBytes, out _, PasswordPreparation.SaslPrep));
        using var key = new StunIntegrityKey(keyBytes);

        Assert.True(StunMessage.TryParse(StunVectors.Rfc5769SampleLongTermRequest, out var msg, out var error), error.ToString());
        Assert.False(msg.HasFingerprint);
        Assert.True(msg.TryGetString(StunAttributeType.Username, out var username));
        Assert.Equal(StunVectors.LongTermUsername, username);
        Assert.True(msg.TryGetString(StunAttributeType.Nonce, out var nonce));
        Assert.Equal(StunVectors.Rfc5769Nonce, nonce);
        Assert.True(msg.TryGetString(StunAttributeType.Realm, out var realm));
        Assert.Equal(StunVectors.LongTermRealm, realm);
        Assert.Equal(StunError.None, msg.VerifyIntegrity(key));

        var buffer = new byte[256];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, LongTermTransactionId);
        w.AddString(StunAttributeType.Username, StunVectors.LongTermUsername);
        w.AddString(StunAttributeType.Nonce, StunVectors.Rfc5769Nonce);
        w.AddString(StunAttributeType.Realm, StunVectors.LongTermRealm);
        w.AddMessageIntegrity(key);
        Assert.Equal(Convert.ToHexString(StunVectors.Rfc5769SampleLongTermRequest), Convert.ToHexString(w.ToArray()));
    }

    [Fact]
    public void Rfc8489_B1_userhash_and_sha256_key_match_independent_computation()
    {
        Assert.True(StunCredentials.TryComputeUserHash(StunVectors.LongTermUsername, StunVectors.LongTermRealm, out var userHash, out _));
        Assert.Equal(StunVectors.Rfc8489B1UserHash, userHash);
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes($"{StunVectors.LongTermUsername}:{StunVectors.LongTermRealm}")), userHash);

        Assert.True(StunCredentials.TryDeriveLongTermKey(PasswordAlgorithm.Sha256, StunVectors.LongTermUsername, StunVectors.LongTermRealm,
            StunVectors.LongTermPassword, out var key, out _));
        Assert.Equal(StunVectors.Rfc8489B1KeySha256, key);
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes($"{StunVectors.LongTermUsername}:{StunVectors.LongTermRealm}:{StunVectors.LongTermPassword}")), key);
    }

    [Fact]
    public void Rfc8489_B1_request_parses_verifies_and_encodes()
    {
        using var key = new StunIntegrityKey(StunVectors.Rfc8489B1KeySha256);
        Assert.True(StunMessage.TryParse(StunVectors.Rfc8489B1Request, out var msg, out var error), error.ToString());
        Assert.True(msg.HasMessageIntegritySha256);
        Assert.False(msg.HasMessageIntegrity);
        Assert.True(msg.TryGetAttribute(StunAttributeType.UserHash, out var userHash));
        Assert.Equal(StunVectors.Rfc8489B1UserHash, userHash.ToArray());
        Assert.True(msg.TryGetPasswordAlgorithm(out var algorithm));
        Assert.Equal(PasswordAlgorithm.Sha256, algorithm);
        Assert.True(msg.TryGetString(StunAttributeType.Nonce, out var nonce));
        Assert.True(NonceCookie.TryParse(nonce, out _));
        Assert.Equal(StunError.None, msg.VerifyIntegrity(key));

        var buffer = new byte[256];
        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, LongTermTransactionId);
        w.AddBytes(StunAttributeType.UserHash, StunVectors.Rfc8489B1UserHash);
        w.AddString(StunAttributeType.Nonce, StunVectors.Rfc8489Nonce);
        w.AddString(StunAttributeType.Realm, StunVectors.LongTermRealm);
        w.AddPasswordAlgorithm(PasswordAlgorithm.Sha256);
        w.AddMessageIntegritySha256(key);
        Assert.Equal(Convert.ToHexString(StunVectors.Rfc8489B1Request), Convert.ToHexString(w.ToArray()));
    }

    [Fact]
    public void Wrong_key_is_reported_as_bad_integrity()
    {
        using var key = new StunIntegrityKey("not the password"u8);
        Assert.True(StunMessage.TryParse(StunVectors.Rfc5769SampleRequest, out var msg, out _));
        Assert.Equal(StunError.BadIntegrity, msg.VerifyIntegrity(key));
        using var sha = new StunIntegrityKey(new byte[32]);
        Assert.True(StunMessage.TryParse(StunVectors.Rfc8489B1Request, out var b1, out _));
        Assert.Equal(StunError.BadIntegrity, b1.VerifyIntegrity(sha));
    }

    [Fact]
    public void Parsing_a_plain_binding_request_allocates_nothing()
    {
        byte[] packet = StunVectors.Rfc5769SampleRequest;
        using var key = ShortTermKey();
        for (int i = 0; i < 100; i++) ParseAndVerify(packet, key); // warm up (JIT, lazy HMAC context)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) ParseAndVerify(packet, key);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);

        static void ParseAndVerify(byte[] packet, StunIntegrityKey key)
        {
            if (!StunMessage.TryParse(packet, out var msg, out _)) throw new InvalidOperationException("parse failed");
            if (!msg.TryGetUInt32(StunAttributeType.Priority, out _)) throw new InvalidOperationException("no priority");
            if (msg.VerifyIntegrity(key) != StunError.None) throw new InvalidOperationException("integrity");
        }
    }
}
