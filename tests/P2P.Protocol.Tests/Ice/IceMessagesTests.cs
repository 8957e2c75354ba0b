using System.Net;
using P2P.Protocol.Ice;
using P2P.Protocol.Stun;
using Xunit;

namespace P2P.Protocol.Tests.Ice;

public class IceMessagesTests
{
    private static readonly IceCredentials Alice = new("alice", "alicepassword0123456789");
    private static readonly IceCredentials Bob = new("bob1", "bobpassword01234567890123");

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public void Binding_request_round_trips_and_verifies_with_the_receivers_password(bool controlling, bool useCandidate)
    {
        // Alice checks Bob: USERNAME "bob1:alice", signed with Bob's password.
        using var bobKey = IceMessages.CreateKey(Bob.Pwd);
        using var aliceKey = IceMessages.CreateKey(Alice.Pwd);
        var id = TransactionId.NewRandom();
        var buffer = new byte[1500];
        int n = IceMessages.WriteBindingRequest(buffer, id, Alice.UsernameForCheckTo(Bob), 1862270975, controlling, 0x0123456789ABCDEF, useCandidate, bobKey);

        Assert.True(StunMessage.TryParse(buffer.AsSpan(0, n), out var msg, out var error), error.ToString());
        Assert.True(msg.HasFingerprint);
        Assert.Equal(id, msg.TransactionId);
        Assert.Equal(StunError.None, msg.VerifyIntegrity(bobKey));
        Assert.Equal(StunError.BadIntegrity, msg.VerifyIntegrity(aliceKey));

        Assert.True(IceMessages.TryReadCheck(msg, out var check));
        Assert.Equal("bob1:alice", check.Username);
        Assert.Equal(1862270975u, check.Priority);
        Assert.Equal(controlling, check.Controlling);
        Assert.Equal(0x0123456789ABCDEFUL, check.TieBreaker);
        Assert.Equal(useCandidate, check.UseCandidate);

        Assert.True(IceMessages.TryGetUsernameFragments(check.Username, out var local, out var remote));
        Assert.Equal("bob1", local);   // as Bob, the receiver, sees it
        Assert.Equal("alice", remote);
    }

    [Fact]
    public void Binding_success_carries_the_mapped_address_and_verifies()
    {
        using var key = IceMessages.CreateKey(Bob.Pwd);
        using var wrong = IceMessages.CreateKey(Alice.Pwd);
        foreach (var mapped in new[] { IceTestData.Ep("198.51.100.7", 61000), IceTestData.Ep("2001:db8::7", 61000) })
        {
            var id = TransactionId.NewRandom();
            var buffer = new byte[1500];
            int n = IceMessages.WriteBindingSuccess(buffer, id, mapped, key);
            Assert.True(StunMessage.TryParse(buffer.AsSpan(0, n), out var msg, out _));
            Assert.Equal(StunClass.SuccessResponse, msg.Class);
            Assert.Equal(StunMethod.Binding, msg.Method);
            Assert.True(msg.TryGetAddress(StunAttributeType.XorMappedAddress, out var address));
            Assert.Equal(mapped, address.ToEndPoint());
            Assert.Equal(StunError.None, msg.VerifyIntegrity(key));
            Assert.Equal(StunError.BadIntegrity, msg.VerifyIntegrity(wrong));
            Assert.False(IceMessages.TryReadCheck(msg, out _));
        }
    }

    [Fact]
    public void Binding_errors_carry_the_code_with_or_without_integrity()
    {
        using var key = IceMessages.CreateKey(Bob.Pwd);
        var buffer = new byte[1500];
        int n = IceMessages.WriteBindingError(buffer, TransactionId.NewRandom(), IceMessages.RoleConflict, "Role Conflict", key);
        Assert.True(StunMessage.TryParse(buffer.AsSpan(0, n), out var msg, out _));
        Assert.Equal(StunClass.ErrorResponse, msg.Class);
        Assert.True(msg.TryGetErrorCode(out int code, out string reason));
        Assert.Equal(487, code);
        Assert.Equal("Role Conflict", reason);
        Assert.Equal(StunError.None, msg.VerifyIntegrity(key));

        n = IceMessages.WriteBindingError(buffer, TransactionId.NewRandom(), IceMessages.Unauthorized, "Unauthorized", null);
        Assert.True(StunMessage.TryParse(buffer.AsSpan(0, n), out msg, out _));
        Assert.True(msg.TryGetErrorCode(out code, out _));
        Assert.Equal(401, code);
        Assert.False(msg.HasMessageIntegrity);
        Assert.True(msg.HasFingerprint);
    }

    [Fact]
    public void Requests_without_username_or_priority_or_with_both_roles_are_not_checks()
    {
        using var key = IceMessages.CreateKey(Bob.Pwd);
        var buffer = new byte[1500];

        var w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        w.AddUInt32(StunAttributeType.Priority, 1);
        w.AddMessageIntegrity(key);
        Assert.False(ReadCheck(w.ToArray()));

        w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        w.AddString(StunAttributeType.Username, "a:b");
        Assert.False(ReadCheck(w.ToArray()));

        w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        w.AddString(StunAttributeType.Username, "a:b");
        w.AddUInt32(StunAttributeType.Priority, 1);
        w.AddUInt64(StunAttributeType.IceControlling, 1);
        w.AddUInt64(StunAttributeType.IceControlled, 2);
        Assert.False(ReadCheck(w.ToArray()));

        w = new StunMessageWriter(buffer, StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        w.AddString(StunAttributeType.Username, "a:b");
        w.AddUInt32(StunAttributeType.Priority, 1);
        Assert.True(StunMessage.TryParse(w.ToArray(), out var msg, out _));
        Assert.True(IceMessages.TryReadCheck(msg, out var check));
        Assert.Null(check.Controlling);
        Assert.False(check.UseCandidate);
    }

    private static bool ReadCheck(byte[] bytes) => StunMessage.TryParse(bytes, out var msg, out _) && IceMessages.TryReadCheck(msg, out _);

    [Theory]
    [InlineData("bob1:alice", true, "bob1", "alice")]
    [InlineData("a:b", true, "a", "b")]
    [InlineData(":alice", false, "", "")]
    [InlineData("bob1:", false, "", "")]
    [InlineData("bob1alice", false, "", "")]
    [InlineData("", false, "", "")]
    public void Username_fragments_split_at_the_colon(string username, bool ok, string local, string remote)
    {
        Assert.Equal(ok, IceMessages.TryGetUsernameFragments(username, out var l, out var r));
        Assert.Equal(local, l);
        Assert.Equal(remote, r);
    }
}
