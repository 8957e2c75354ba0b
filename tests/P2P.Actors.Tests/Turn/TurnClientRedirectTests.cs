using System.Net;
using Akka.TestKit.Xunit2;
using P2P.Actors.Transport;
using P2P.Actors.Turn;
using P2P.Protocol.Stun;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;

namespace P2P.Actors.Tests.Turn;

/// <summary>RFC 8489 §10 at the client: a 300 Try Alternate to an authenticated Allocate is trusted only when signed, and then followed.</summary>
public sealed class TurnClientRedirectTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly IPEndPoint Alternate = IPEndPoint.Parse("127.0.0.2:3478");

    private static void TryAlternate(ref StunMessageWriter w)
    {
        w.AddErrorCode(300, "Try Alternate");
        w.AddAddress(StunAttributeType.AlternateServer, StunAddress.From(Alternate));
    }

    [Fact]
    public void An_unsigned_300_to_an_authenticated_allocate_is_discarded_and_a_signed_one_is_followed_without_the_old_nonce()
    {
        var socket = CreateTestProbe();
        var owner = CreateTestProbe();
        using var server = new FakeTurnServer(socket);
        var allocator = Sys.ActorOf(TurnClient.Props(TurnClientSettings.Default, FakeTurnServer.Server,
            new TurnCredentials(FakeTurnServer.Username, FakeTurnServer.Password), socket.Ref, owner.Ref));
        server.Allocator = allocator;
        var first = server.ExpectRequest(StunMethod.Allocate);
        server.Deliver(server.Challenge(first, 401, "nonce-1"));
        var authenticated = server.ExpectRequest(StunMethod.Allocate);

        server.Deliver(server.Response(authenticated, StunClass.ErrorResponse, TryAlternate)); // no MESSAGE-INTEGRITY: could send us anywhere
        allocator.Tell(GetStats.Instance, TestActor);
        Assert.Equal(1, ExpectMsg<Stats>().BadIntegrity);
        owner.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        server.Deliver(server.Response(authenticated, StunClass.ErrorResponse, TryAlternate, server.Md5Key));
        Assert.Equal(new AllocationRedirected(FakeTurnServer.Server, Alternate), owner.ExpectMsg<AllocationRedirected>());
        var toAlternate = socket.FishForMessage<UdpSocketProtocol.Send>(s => s.To.Equals(Alternate)); // (retransmissions to the first may come before)
        Assert.True(StunMessage.TryParse(toAlternate.Payload.Span, out var request, out _));
        Assert.Equal((StunMethod.Allocate, StunClass.Request), (request.Method, request.Class));
        Assert.False(request.HasMessageIntegrity); // the alternate's own challenge gives its realm and nonce
        Assert.True(request.TryGetRequestedTransport(out byte transport));
        Assert.Equal(17, transport);
    }
}
