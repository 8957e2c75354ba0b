using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using P2P.Actors.Relay;
using P2P.Protocol.Stun;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// RFC 5780 §6.1 on the relay's UDP sockets, on loopback (127.0.0.1 and 127.0.0.2 are both loopback on Linux): with an
/// alternate address the answer names RESPONSE-ORIGIN and OTHER-ADDRESS and comes from the socket CHANGE-REQUEST asks for;
/// without one a CHANGE-REQUEST gets 420.
/// </summary>
public sealed class RelayRfc5780Tests(ITestOutputHelper output) : RelayTestBase(output)
{
    private static readonly IPAddress Alternate = IPAddress.Parse("127.0.0.2");

    private sealed record Answer(IPEndPoint From, int Class, IPEndPoint? Mapped, IPEndPoint? Origin, IPEndPoint? Other, int ErrorCode, ushort[] Unknown);

    private static async Task<Answer> Bind(UdpClient client, IPEndPoint server, bool? changeIp = null, bool changePort = false)
    {
        var (request, id) = Request(changeIp, changePort);
        await client.SendAsync(request, server);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var got = await client.ReceiveAsync(cts.Token);
        Assert.True(StunMessage.TryParse(got.Buffer, out var m, out var error), error.ToString());
        Assert.Equal(id, m.TransactionId);
        int code = m.TryGetErrorCode(out int c, out _) ? c : 0;
        Span<ushort> unknown = stackalloc ushort[4];
        int n = m.GetUnknownAttributesList(unknown);
        return new Answer(got.RemoteEndPoint, (int)m.Class,
            m.TryGetAddress(StunAttributeType.XorMappedAddress, out var mapped) ? mapped.ToEndPoint() : null,
            m.TryGetAddress(StunAttributeType.ResponseOrigin, out var origin) ? origin.ToEndPoint() : null,
            m.TryGetAddress(StunAttributeType.OtherAddress, out var other) ? other.ToEndPoint() : null,
            code, unknown[..n].ToArray());
    }

    private static (byte[] Bytes, TransactionId Id) Request(bool? changeIp, bool changePort)
    {
        var w = new StunMessageWriter(new byte[128], StunMethod.Binding, StunClass.Request, TransactionId.NewRandom());
        if (changeIp is { } ip) w.AddChangeRequest(ip, changePort);
        w.AddFingerprint();
        return (w.ToArray(), w.TransactionId);
    }

    [Fact]
    public async Task With_an_alternate_address_the_relay_listens_on_two_ports_of_two_addresses()
    {
        var relay = await StartRelay(Settings with { AlternateIp = Alternate });
        var listening = await relay.Actor.Ask<RelayServerProtocol.Listening>(new RelayServerProtocol.AwaitListening(), AskTimeout);
        var primary = relay.Udp;
        var udp = listening.Udp.ToHashSet();
        Assert.Equal(4, udp.Count);
        Assert.Contains(new IPEndPoint(Alternate, primary.Port), udp);
        var next = udp.Single(e => e.Address.Equals(IPAddress.Loopback) && e.Port != primary.Port);
        Assert.Contains(new IPEndPoint(Alternate, next.Port), udp);
    }

    [Fact]
    public async Task Each_change_request_is_answered_from_the_socket_it_asks_for()
    {
        var relay = await StartRelay(Settings with { AlternateIp = Alternate });
        var listening = await relay.Actor.Ask<RelayServerProtocol.Listening>(new RelayServerProtocol.AwaitListening(), AskTimeout);
        var primary = relay.Udp;
        int nextPort = listening.Udp.Single(e => e.Address.Equals(IPAddress.Loopback) && e.Port != primary.Port).Port;
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var local = (IPEndPoint)client.Client.LocalEndPoint!;

        var plain = await Bind(client, primary);
        Assert.Equal(primary, plain.From);
        Assert.Equal(primary, plain.Origin);
        Assert.Equal(local, plain.Mapped);
        Assert.Equal(new IPEndPoint(Alternate, nextPort), plain.Other);

        foreach (var (ip, port) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            var answer = await Bind(client, primary, ip, port);
            var expected = new IPEndPoint(ip ? Alternate : IPAddress.Loopback, port ? nextPort : primary.Port);
            Assert.Equal(expected, answer.From);
            Assert.Equal(expected, answer.Origin);
            Assert.Equal(local, answer.Mapped);
        }

        // sent to the alternate socket: OTHER-ADDRESS is the primary one, a change goes back to it
        var fromAlternate = await Bind(client, new IPEndPoint(Alternate, nextPort), true, true);
        Assert.Equal(primary, fromAlternate.From);
        Assert.Equal(primary, fromAlternate.Other);
    }

    [Fact]
    public async Task Without_an_alternate_address_a_change_request_gets_420_and_a_plain_binding_no_other_address()
    {
        var relay = await StartRelay();
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));

        var plain = await Bind(client, relay.Udp);
        Assert.Equal((int)StunClass.SuccessResponse, plain.Class);
        Assert.Null(plain.Other);

        var refused = await Bind(client, relay.Udp, changeIp: false, changePort: true);
        Assert.Equal((int)StunClass.ErrorResponse, refused.Class);
        Assert.Equal(420, refused.ErrorCode);
        Assert.Equal([(ushort)StunAttributeType.ChangeRequest], refused.Unknown);
    }

    [Fact]
    public void An_alternate_address_needs_a_listening_address_of_its_family()
    {
        var settings = Settings with { AlternateIp = IPAddress.IPv6Loopback };
        Assert.Contains("needs a specific listening address of its family", settings.Validate());
        Assert.Contains("must differ", (Settings with { AlternateIp = IPAddress.Loopback }).Validate());
    }
}
