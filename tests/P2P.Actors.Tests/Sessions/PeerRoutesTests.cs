using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Sessions;
using P2P.Actors.Transport;
using P2P.Protocol;
using P2P.Protocol.Ice;
using P2P.Protocol.Stun;
using Xunit;
using static P2P.Actors.Ice.IceTransportProtocol;

namespace P2P.Actors.Tests.Sessions;

/// <summary>A peer's routing tables (<see cref="PeerRoutes"/>) without the actor: which session each datagram reaches.</summary>
public sealed class PeerRoutesTests : TestKit
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 0, 0, 0, TimeSpan.Zero);
    private static readonly IPEndPoint Remote = new(IPAddress.Parse("192.0.2.7"), 5000);
    private static readonly IPEndPoint Server = new(IPAddress.Parse("192.0.2.99"), 3478);
    private static readonly IceCandidate Local = new("1", 1, CandidateTransport.Udp, 1, new IPEndPoint(IPAddress.Loopback, 4000), CandidateType.Host);

    private static Inbound From(IPEndPoint remote, byte[] payload) => new(Local, remote, payload);

    private static byte[] Dtls(byte marker) => [23, 0xFE, 0xFD, marker];

    private static byte[] Check(string username, TransactionId id)
    {
        var buffer = new byte[512];
        int length = IceMessages.WriteBindingRequest(buffer, id, username, 1, controlling: true, 7, useCandidate: false, IceMessages.CreateKey("password"));
        return buffer[..length];
    }

    private static byte[] Success(uint tag)
    {
        var buffer = new byte[512];
        int length = IceMessages.WriteBindingSuccess(buffer, new TransactionId(((ulong)tag << 32) | 5, 9), Remote, IceMessages.CreateKey("password"));
        return buffer[..length];
    }

    /// <summary>Takes every datagram it is offered and remembers it.</summary>
    private sealed class Taker : IDatagramReceiver
    {
        public List<byte[]> Got { get; } = [];

        public bool TryReceive(ReadOnlySpan<byte> datagram)
        {
            Got.Add(datagram.ToArray());
            return true;
        }
    }

    [Fact]
    public void Checks_go_by_ufrag_and_answers_by_the_session_tag_in_their_transaction_id()
    {
        var routes = new PeerRoutes(_ => false);
        var a = CreateTestProbe().Ref;
        var b = CreateTestProbe().Ref;
        routes.AddSession(a, "ufA", 0x11111111);
        routes.AddSession(b, "ufB", 0x22222222);

        var check = routes.Route(From(Remote, Check("ufB:theirs", TransactionId.NewRandom())), T0);
        Assert.Equal((PeerRoutes.Outcome.Deliver, b), (check.Outcome, check.Target));
        var answer = routes.Route(From(Remote, Success(0x11111111)), T0);
        Assert.Equal((PeerRoutes.Outcome.Deliver, a), (answer.Outcome, answer.Target));

        // an ICE restart: the new ufrag reaches the session, the old one nobody
        routes.ChangeUfrag(b, "ufB2");
        Assert.Equal(b, routes.Route(From(Remote, Check("ufB2:theirs", TransactionId.NewRandom())), T0).Target);
        Assert.Equal(PeerRoutes.Outcome.Unroutable, routes.Route(From(Remote, Check("ufB:theirs", TransactionId.NewRandom())), T0).Outcome);
        Assert.Equal(PeerRoutes.Outcome.Malformed, routes.Route(From(Remote, [0, 1, 0, 4, 1, 2]), T0).Outcome);
    }

    [Fact]
    public void Data_before_the_selection_is_held_and_handed_over_in_order_then_goes_to_the_newest_session_of_that_remote()
    {
        var routes = new PeerRoutes(_ => false);
        var older = CreateTestProbe().Ref;
        var newer = CreateTestProbe().Ref;
        var olderData = CreateTestProbe().Ref;
        var newerData = CreateTestProbe().Ref;
        routes.AddSession(older, "u1", 1);
        routes.AddSession(newer, "u2", 2);

        Assert.Equal(PeerRoutes.Outcome.Held, routes.Route(From(Remote, Dtls(1)), T0).Outcome);
        Assert.Equal(PeerRoutes.Outcome.Held, routes.Route(From(Remote, Dtls(2)), T0).Outcome);
        var held = routes.SelectDataPath(older, Remote, olderData, new Taker(), T0.AddSeconds(1));
        Assert.Equal([1, 2], held.Select(h => h.Payload.Span[3]));
        Assert.Equal(olderData, routes.Route(From(Remote, Dtls(3)), T0).Target);

        routes.SelectDataPath(newer, Remote, newerData, new Taker(), T0);
        Assert.Equal(newerData, routes.Route(From(Remote, Dtls(4)), T0).Target);
        // the newer goes: the remote's data is the older session's again
        routes.RemoveSession(newer);
        Assert.Equal(olderData, routes.Route(From(Remote, Dtls(5)), T0).Target);
        // what was held too long is dropped, not handed over
        routes.Route(From(Server, Dtls(6)), T0);
        Assert.Empty(routes.SelectDataPath(newer, Server, newerData, new Taker(), T0 + PeerRoutes.EarlyDataLifetime + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void A_frame_with_one_of_our_session_tags_goes_stripped_to_that_session_whatever_its_address()
    {
        var routes = new PeerRoutes(_ => false);
        var a = CreateTestProbe().Ref;
        var aData = CreateTestProbe().Ref;
        routes.AddSession(a, "u", 0xABCD0001);
        var framed = SessionMux.Frame(0xABCD0001, Dtls(9));

        Assert.Equal(PeerRoutes.Outcome.Held, routes.Route(From(Remote, framed), T0).Outcome);
        var held = routes.SelectDataPath(a, new IPEndPoint(IPAddress.Loopback, 1), aData, new Taker(), T0);
        Assert.Equal(Dtls(9), Assert.Single(held).Payload.ToArray());
        var routed = routes.Route(From(Remote, framed), T0);
        Assert.Equal(aData, routed.Target);
        Assert.Equal(Dtls(9), routed.Message!.Payload.ToArray());
    }

    [Fact]
    public void The_socket_threads_routes_follow_the_tables_and_never_take_a_servers_datagrams()
    {
        var routes = new PeerRoutes(address => address.Equals(Server));
        var session = CreateTestProbe().Ref;
        var path = new Taker();
        routes.AddSession(session, "u", 7);
        Assert.False(routes.Direct.TryRoute(Remote, Dtls(1)));

        routes.SelectDataPath(session, Remote, CreateTestProbe().Ref, path, T0);
        routes.SelectDataPath(session, Server, CreateTestProbe().Ref, path, T0);
        Assert.True(routes.Direct.TryRoute(Remote, Dtls(2)));
        Assert.True(routes.Direct.TryRoute(Server, SessionMux.Frame(7, Dtls(3)))); // by tag: the frame names the session
        Assert.False(routes.Direct.TryRoute(Server, Dtls(4)));                     // plain from the TURN server: its allocator's
        Assert.Equal([Dtls(2), Dtls(3)], path.Got);
        Assert.Equal(2, routes.Direct.Routed);

        routes.RemoveSession(session);
        Assert.False(routes.Direct.TryRoute(Remote, Dtls(5)));
        Assert.False(routes.Direct.TryRoute(Remote, SessionMux.Frame(7, Dtls(6))));
    }
}
