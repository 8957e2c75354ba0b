using System.Net;
using Akka.Actor;
using P2P.Actors.Ice;
using P2P.Actors.Mdns;
using P2P.Actors.Sessions;
using P2P.Actors.Tests.Support;
using P2P.Protocol.Ice;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Mdns;

/// <summary>
/// Sessions whose host candidates are mDNS names, on the virtual network (the responder on in-memory sockets: the
/// virtual network carries no multicast, so two sessions of one process resolve each other's names through their
/// shared responder, and an unanswered name is one the in-memory link never answers).
/// </summary>
public sealed class MdnsSessionTests : RealTimeVirtualNetworkTestBase
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly InMemoryMdnsSockets _sockets = new();

    // the responder is one per actor system: its timeout is the configuration's, whatever a peer's IceSettings say
    public MdnsSessionTests(ITestOutputHelper output) : base("akka.loglevel = INFO\np2p.ice.mdns-resolve-timeout = 1500ms", output, seed: 5353) =>
        MdnsExtension.Get(Sys).UseSockets(_sockets);

    private static IceSettings With(MdnsMode mode) => IceSettings.Default with { Mdns = MdnsSettings.Default with { Mode = mode } };

    [Fact]
    public void Sessions_that_offer_only_mdns_host_candidates_connect_through_the_resolved_addresses()
    {
        var alice = StartPeer("alice", "203.0.113.10", With(MdnsMode.Publish));
        var bob = StartPeer("bob", "203.0.113.20", With(MdnsMode.Publish));
        var events = CreateTestProbe();
        var link = Sys.ActorOf(SessionLink.Props(events.Ref));
        alice.Tell(new LocalPeerProtocol.OpenSession("m/a", true, link));
        bob.Tell(new LocalPeerProtocol.OpenSession("m/b", false, link));

        var offered = new List<IceCandidate>();
        var pairs = new Dictionary<string, SelectedPair>();
        events.FishForMessage(m =>
        {
            if (m is SessionProtocol.Failed f) throw new Xunit.Sdk.XunitException($"{f.SessionId} failed: {f.Reason}");
            if (m is SessionProtocol.LocalDescription d) offered.AddRange(d.Description.Candidates);
            if (m is SessionProtocol.Connected c) pairs[c.SessionId] = c.Pair;
            return pairs.Count == 2 && offered.Count > 0;
        }, Wait);

        // what went to the other side: names, never the addresses
        var hosts = offered.Where(c => c.Type == CandidateType.Host).ToList();
        Assert.NotEmpty(hosts);
        Assert.All(hosts, c => Assert.Matches("^[0-9a-f-]{36}\\.local$", c.HostName!));
        Assert.All(hosts, c => Assert.DoesNotContain("203.0.113.", c.ToAttributeValue()));
        // what each side paired: the other's real address
        Assert.Equal(IPAddress.Parse("203.0.113.20"), pairs["m/a"].Remote.Address.Address);
        Assert.Equal(IPAddress.Parse("203.0.113.10"), pairs["m/b"].Remote.Address.Address);
    }

    [Fact]
    public void An_unanswered_name_is_dropped_after_the_timeout_and_holds_nothing_else_up()
    {
        var alice = StartPeer("alice", "203.0.113.10", With(MdnsMode.Resolve));
        var bob = StartPeer("bob", "203.0.113.20");
        var events = CreateTestProbe();
        var link = Sys.ActorOf(Props.Create(() => new ExtraCandidate("u/b", events.Ref)));
        alice.Tell(new LocalPeerProtocol.OpenSession("u/a", true, link));
        bob.Tell(new LocalPeerProtocol.OpenSession("u/b", false, link));
        EventFilter.Warning(contains: "dropped 1 remote candidate(s) named 0b9e3f3c-5a51-4d4e-8f0e-7a2c9d1e0f11.local: no mDNS answer within 1.5 s").ExpectOne(Wait, () =>
        {
            var (_, pairs) = SessionEvents.AwaitConnected(events, 2, Wait);
            Assert.Equal(IPAddress.Parse("203.0.113.20"), pairs["u/a"].Remote.Address.Address);
        });
        Assert.Contains(_sockets.Outbox, s => s.Way == InMemoryMdnsSockets.Way.Query && s.Message.Questions[0].Name == "0b9e3f3c-5a51-4d4e-8f0e-7a2c9d1e0f11.local");
    }

    [Fact]
    public void With_mdns_off_a_named_candidate_is_dropped_with_a_log_line()
    {
        var alice = StartPeer("alice", "203.0.113.10", With(MdnsMode.Off));
        var bob = StartPeer("bob", "203.0.113.20");
        var events = CreateTestProbe();
        var link = Sys.ActorOf(Props.Create(() => new ExtraCandidate("o/b", events.Ref)));
        EventFilter.Info(contains: "p2p.ice.mdns is off").ExpectOne(Wait, () =>
        {
            alice.Tell(new LocalPeerProtocol.OpenSession("o/a", true, link));
            bob.Tell(new LocalPeerProtocol.OpenSession("o/b", false, link));
            SessionEvents.AwaitConnected(events, 2, Wait);
        });
        Assert.Equal(0, _sockets.Opened);
    }

    /// <summary>Signals like <see cref="SessionLink"/>, and gives the other side of <paramref name="from"/> one more host candidate, a name nobody answers for.</summary>
    private sealed class ExtraCandidate : ReceiveActor
    {
        public ExtraCandidate(string from, IActorRef observer)
        {
            var link = Context.ActorOf(SessionLink.Props(observer));
            bool sent = false;
            Receive<SessionProtocol.LocalCandidate>(m =>
            {
                link.Forward(m);
                if (m.SessionId != from || sent) return;
                sent = true;
                Assert.True(IceCandidate.TryParse("9 1 UDP 2130706431 0b9e3f3c-5a51-4d4e-8f0e-7a2c9d1e0f11.local 6000 typ host", out var named, out _));
                link.Forward(new SessionProtocol.LocalCandidate(from, named));
            });
            ReceiveAny(m => link.Forward(m));
        }
    }
}
