using System.Buffers.Binary;
using System.Net;
using P2P.Protocol.Stun;
using Xunit;

namespace P2P.Protocol.Tests.Stun;

/// <summary>ALTERNATE-SERVER (RFC 8489 §14.15): a plain (not XOR-ed) address attribute, in a 300 Try Alternate.</summary>
public class AlternateServerTests
{
    [Theory]
    [InlineData("192.0.2.15:3478")]
    [InlineData("[2001:db8::7]:5349")]
    public void A_300_carries_the_alternate_server_unXORed_and_parses_back(string alternate)
    {
        var endpoint = IPEndPoint.Parse(alternate);
        var buffer = new byte[256];
        var id = TransactionId.NewRandom();
        var w = new StunMessageWriter(buffer, StunMethod.Allocate, StunClass.ErrorResponse, id);
        w.AddErrorCode(300, "Try Alternate");
        w.AddAddress(StunAttributeType.AlternateServer, StunAddress.From(endpoint));
        w.AddFingerprint();
        var packet = buffer.AsSpan(0, w.Length);

        Assert.True(StunMessage.TryParse(packet, out var message, out var error), error.ToString());
        Assert.True(message.TryGetErrorCode(out int code, out string reason));
        Assert.Equal((300, "Try Alternate"), (code, reason));
        Assert.True(message.TryGetAddress(StunAttributeType.AlternateServer, out var parsed));
        Assert.Equal(endpoint, parsed.ToEndPoint());
        // the wire holds the port as it is: MAPPED-ADDRESS's format, not XOR-MAPPED-ADDRESS's (§14.15 refers to §14.1)
        Assert.True(message.TryGetAttribute(StunAttributeType.AlternateServer, out var value));
        Assert.Equal(endpoint.Port, BinaryPrimitives.ReadUInt16BigEndian(value[2..]));
        Assert.Equal(endpoint.Address.GetAddressBytes(), value[4..].ToArray());
    }
}
