using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Ice;
using P2P.Actors.Stun;
using P2P.Actors.Tests.Support;
using P2P.Actors.Tests.Turn;
using P2P.Actors.Transport;
using P2P.Protocol.Stun;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Stun.StunProberProtocol;

namespace P2P.Actors.Tests.Ice;

/// <summary>StunProber against a real coturn, and against a scripted server in virtual time.</summary>
public sealed class StunProberTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Gets_the_mapped_address_from_coturn()
    {
        await using var coturn = await CoturnServer.StartAsync();
        var owner = CreateTestProbe();
        var settings = StunSettings.From(TurnClientSettingsTests.RepoHocon());
        Sys.ActorOf(UdpSocketHost.Props(new IPEndPoint(IPAddress.Loopback, 0), coturn.EndPoint,
            socket => StunProber.Props(settings, coturn.EndPoint, socket, owner.Ref), owner.Ref));
        var local = owner.ExpectMsg<UdpSocketProtocol.Bound>(Generous).LocalEndPoint;

        var found = owner.ExpectMsg<MappedAddressDiscovered>(Generous);
        Assert.Equal(local, found.Mapped);
        Assert.Equal(coturn.EndPoint, found.Server);
    }

    [Fact]
    public void Refusal_is_reported_with_the_error_code()
    {
        var server = new IPEndPoint(IPAddress.Loopback, 3478);
        var socket = CreateTestProbe();
        var owner = CreateTestProbe();
        var prober = Sys.ActorOf(StunProber.Props(StunSettings.Default, server, socket.Ref, owner.Ref));
        var request = socket.ExpectMsg<UdpSocketProtocol.Send>();
        Assert.True(StunMessage.TryParse(request.Payload.Span, out var msg, out _));
        Assert.True(msg.HasFingerprint);

        var w = new StunMessageWriter(new byte[128], StunMethod.Binding, StunClass.ErrorResponse, msg.TransactionId);
        w.AddErrorCode(400, "Bad Request");
        prober.Tell(new UdpSocketProtocol.Received(server, new IPEndPoint(IPAddress.Loopback, 5000), w.ToArray()));
        var failed = owner.ExpectMsg<StunProbeFailed>();
        Assert.Contains("400 Bad Request", failed.Reason);
    }

    [Fact]
    public void Packets_that_are_not_the_answer_are_ignored()
    {
        var server = new IPEndPoint(IPAddress.Loopback, 3478);
        var socket = CreateTestProbe();
        var owner = CreateTestProbe();
        var prober = Sys.ActorOf(StunProber.Props(StunSettings.Default, server, socket.Ref, owner.Ref));
        var request = socket.ExpectMsg<UdpSocketProtocol.Send>();
        Assert.True(StunMessage.TryParse(request.Payload.Span, out var msg, out _));
        var local = new IPEndPoint(IPAddress.Loopback, 5000);

        prober.Tell(new UdpSocketProtocol.Received(server, local, new byte[] { 1, 2, 3 }));
        var stray = new StunMessageWriter(new byte[64], StunMethod.Binding, StunClass.SuccessResponse, TransactionId.NewRandom());
        stray.AddAddress(StunAttributeType.XorMappedAddress, StunAddress.From(new IPEndPoint(IPAddress.Parse("198.51.100.1"), 1)));
        prober.Tell(new UdpSocketProtocol.Received(server, local, stray.ToArray()));
        owner.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        var w = new StunMessageWriter(new byte[64], StunMethod.Binding, StunClass.SuccessResponse, msg.TransactionId);
        w.AddAddress(StunAttributeType.XorMappedAddress, StunAddress.From(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 4444)));
        prober.Tell(new UdpSocketProtocol.Received(server, local, w.ToArray()));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 4444), owner.ExpectMsg<MappedAddressDiscovered>().Mapped);
    }
}

/// <summary>A silent STUN server, in virtual time: the prober retransmits per RFC 8489 and gives up at 39.5 s.</summary>
public sealed class StunProberTimeoutTests(ITestOutputHelper output)
    : TestKit("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"", output)
{
    [Fact]
    public void Silent_server_is_retried_seven_times_then_reported()
    {
        var scheduler = (TestScheduler)Sys.Scheduler;
        var server = new IPEndPoint(IPAddress.Loopback, 3478);
        var socket = CreateTestProbe();
        var owner = CreateTestProbe();
        Sys.ActorOf(StunProber.Props(StunSettings.Default, server, socket.Ref, owner.Ref));
        socket.ExpectMsg<UdpSocketProtocol.Send>();
        int sends = 1;
        foreach (int ms in new[] { 500, 1000, 2000, 4000, 8000, 16000 })
        {
            scheduler.Advance(TimeSpan.FromMilliseconds(ms - 1));
            socket.ExpectNoMsg(TimeSpan.FromMilliseconds(20));
            scheduler.Advance(TimeSpan.FromMilliseconds(1));
            socket.ExpectMsg<UdpSocketProtocol.Send>();
            sends++;
        }
        Assert.Equal(7, sends);
        scheduler.Advance(TimeSpan.FromMilliseconds(8000 - 1));
        owner.ExpectNoMsg(TimeSpan.FromMilliseconds(20));
        scheduler.Advance(TimeSpan.FromMilliseconds(1));
        var failed = owner.ExpectMsg<StunProbeFailed>();
        Assert.Contains("did not answer (7 requests over 39.5 s)", failed.Reason);
        socket.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
    }
}
