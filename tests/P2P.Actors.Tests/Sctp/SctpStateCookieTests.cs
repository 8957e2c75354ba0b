using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Sctp;
using P2P.Actors.Transport;
using P2P.Protocol.Sctp;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Sctp;

/// <summary>
/// The State Cookie of RFC 9260 §5.1.3 / §5.1.5: a cookie that is not ours or was changed is discarded, a cookie
/// older than its lifetime is refused with a "Stale Cookie" ERROR, and only a good one opens the association. First
/// the cookie alone, then an association in virtual time facing COOKIE ECHOs written by the test, then two
/// associations whose first COOKIE ECHO is held back until it is stale.
/// </summary>
public sealed class SctpStateCookieTests(ITestOutputHelper output)
    : SctpVirtualTimeTestKit(output)
{
    private const ushort Port = 5000;
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private static readonly long Lifetime = (long)SctpSettings.Default.CookieLifetime.TotalMilliseconds;

    // ---------------------------------------------------------------- the cookie alone

    private static readonly CookieContents Contents = new(
        MyTag: 0x11223344, PeerTag: 0x55667788, MyInitialTsn: 1000, PeerInitialTsn: 2000, PeerReceiveWindow: 65536,
        PeerForwardTsn: true, PeerReconfig: false, CreatedMs: 1_700_000_000_000, LifetimeMs: 60_000);

    [Fact]
    public void A_cookie_opens_under_its_key_within_its_lifetime_with_what_it_remembers()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var cookie = StateCookie.Create(key, Contents);
        Assert.Equal(CookieError.None, StateCookie.TryOpen(key, cookie, Contents.CreatedMs, out var opened));
        Assert.Equal(Contents, opened);
        Assert.Equal(CookieError.None, StateCookie.TryOpen(key, cookie, Contents.CreatedMs + Contents.LifetimeMs, out _));   // the last good millisecond
    }

    [Fact]
    public void A_cookie_with_any_bit_changed_or_under_another_key_has_a_bad_MAC()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var cookie = StateCookie.Create(key, Contents);
        for (int i = 4; i < StateCookie.Length; i++)   // every byte after version and reserved: body fields and the MAC itself
        {
            var changed = (byte[])cookie.Clone();
            changed[i] ^= 0x01;
            Assert.Equal(CookieError.BadMac, StateCookie.TryOpen(key, changed, Contents.CreatedMs, out var contents));
            Assert.Equal(default, contents);
        }
        Assert.Equal(CookieError.BadMac, StateCookie.TryOpen(RandomNumberGenerator.GetBytes(32), cookie, Contents.CreatedMs, out _));

        // A forger who rewrites the contents (a longer lifetime, say) cannot make the MAC without the key.
        var forged = StateCookie.Create(RandomNumberGenerator.GetBytes(32), Contents with { LifetimeMs = int.MaxValue });
        Assert.Equal(CookieError.BadMac, StateCookie.TryOpen(key, forged, Contents.CreatedMs, out _));
    }

    [Fact]
    public void A_cookie_past_its_lifetime_is_stale_but_only_once_its_MAC_is_good()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var cookie = StateCookie.Create(key, Contents);
        long late = Contents.CreatedMs + Contents.LifetimeMs + 1;
        Assert.Equal(CookieError.Stale, StateCookie.TryOpen(key, cookie, late, out var contents));
        Assert.Equal(Contents, contents);   // what the Stale Cookie error needs: the peer's tag and the times
        var changed = (byte[])cookie.Clone();
        changed[^1] ^= 0x80;
        Assert.Equal(CookieError.BadMac, StateCookie.TryOpen(key, changed, late, out _));
    }

    [Fact]
    public void A_cookie_of_the_wrong_length_or_version_is_malformed()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var cookie = StateCookie.Create(key, Contents);
        Assert.Equal(CookieError.Malformed, StateCookie.TryOpen(key, cookie[..^1], Contents.CreatedMs, out _));
        Assert.Equal(CookieError.Malformed, StateCookie.TryOpen(key, [.. cookie, 0], Contents.CreatedMs, out _));
        Assert.Equal(CookieError.Malformed, StateCookie.TryOpen(key, [], Contents.CreatedMs, out _));
        var version = (byte[])cookie.Clone();
        version[0] = 2;
        Assert.Equal(CookieError.Malformed, StateCookie.TryOpen(key, version, Contents.CreatedMs, out _));
    }

    // ---------------------------------------------------------------- one association, COOKIE ECHOs written by the test

    private const uint PeerTag = 0xC0FFEE01;

    private sealed record Responder(IActorRef Association, TestProbe Wire, ConcurrentQueue<object> Events, uint Tag, byte[] Cookie);

    /// <summary>An association that only answers (as the DTLS server's may), sent an INIT from a peer with tag <see cref="PeerTag"/>.</summary>
    private Responder StartResponder()
    {
        var wire = CreateTestProbe();
        var events = new ConcurrentQueue<object>();
        var association = Sys.ActorOf(SctpAssociation.Props(SctpSettings.Default, wire.Ref, Sys.ActorOf(EventSink.Props(events)), isDtlsClient: false));
        var buffer = new byte[128];
        var w = new SctpPacketWriter(buffer, Port, Port, 0);
        w.BeginInit(false, PeerTag, 1 << 20, 16, 16, 7777);
        w.AddForwardTsnSupported();
        association.Tell(new DatagramProtocol.Received(w.ToArray()));

        var initAck = wire.ExpectMsg<DatagramProtocol.Send>(Generous).Datagram.ToArray();
        Assert.True(SctpPacket.TryParse(initAck, out var view, out _));
        Assert.Equal(PeerTag, view.VerificationTag);
        Assert.True(InitChunk.TryParse(view.FirstChunk, out var init, out _) && init.IsAck);
        Assert.True(init.TryGetStateCookie(out var cookie));
        return new Responder(association, wire, events, init.InitiateTag, cookie.ToArray());
    }

    private static DatagramProtocol.Received CookieEcho(uint tag, ReadOnlySpan<byte> cookie)
    {
        var buffer = new byte[256];
        var w = new SctpPacketWriter(buffer, Port, Port, tag);
        w.AddCookieEcho(cookie);
        return new DatagramProtocol.Received(w.ToArray());
    }

    private SctpProtocol.Stats StatsOf(IActorRef association)
    {
        var probe = CreateTestProbe();
        association.Tell(SctpProtocol.GetStats.Instance, probe.Ref);
        return probe.ExpectMsg<SctpProtocol.Stats>(Generous);
    }

    /// <summary>The chunk types of one packet the association sent, with its verification tag.</summary>
    private static (uint Tag, List<SctpChunkType> Chunks) Read(DatagramProtocol.Send packet)
    {
        Assert.True(SctpPacket.TryParse(packet.Datagram.Span, out var view, out _));
        var chunks = new List<SctpChunkType>();
        foreach (var chunk in view.Chunks) chunks.Add(chunk.Type);
        return (view.VerificationTag, chunks);
    }

    private void AssertOpened(Responder r)
    {
        var (tag, chunks) = Read(r.Wire.ExpectMsg<DatagramProtocol.Send>(Generous));
        Assert.Equal(PeerTag, tag);
        Assert.Contains(SctpChunkType.CookieAck, chunks);
        AwaitCondition(() => r.Events.OfType<SctpProtocol.AssociationEstablished>().Any(), Generous);
        Assert.Equal("Established", StatsOf(r.Association).State);
    }

    private void AssertRefusedSilently(Responder r, int badPackets)
    {
        r.Wire.ExpectNoMsg(TimeSpan.FromMilliseconds(300));   // no COOKIE ACK, nothing at all (§5.1.5 step 2)
        var stats = StatsOf(r.Association);
        Assert.Equal("Closed", stats.State);
        Assert.Equal(badPackets, stats.BadPackets);
        Assert.Empty(r.Events.OfType<SctpProtocol.AssociationEstablished>());
    }

    [Fact]
    public void The_cookie_from_our_INIT_ACK_echoed_back_opens_the_association()
    {
        var r = StartResponder();
        r.Association.Tell(CookieEcho(r.Tag, r.Cookie));
        AssertOpened(r);
    }

    [Fact]
    public void A_COOKIE_ECHO_with_a_changed_or_forged_cookie_does_not_open_the_association()
    {
        var r = StartResponder();

        var changed = (byte[])r.Cookie.Clone();
        changed[8] ^= 0xFF;   // the peer's tag inside the cookie
        r.Association.Tell(CookieEcho(r.Tag, changed));
        AssertRefusedSilently(r, badPackets: 1);

        // Made from scratch with the right tags and times, but under a key that is not the association's.
        var forged = StateCookie.Create(RandomNumberGenerator.GetBytes(32), new CookieContents(
            r.Tag, PeerTag, 1, 7777, 1 << 20, true, true, Scheduler.Now.ToUnixTimeMilliseconds(), (int)Lifetime));
        r.Association.Tell(CookieEcho(r.Tag, forged));
        AssertRefusedSilently(r, badPackets: 2);

        r.Association.Tell(CookieEcho(r.Tag, r.Cookie[..^1]));   // truncated
        AssertRefusedSilently(r, badPackets: 3);

        r.Association.Tell(CookieEcho(r.Tag, r.Cookie));   // the genuine one still works: only the bad ones were refused
        AssertOpened(r);
    }

    [Fact]
    public void A_cookie_echoed_just_within_its_lifetime_still_opens()
    {
        var r = StartResponder();
        Scheduler.Advance(TimeSpan.FromMilliseconds(Lifetime - 1000));
        r.Association.Tell(CookieEcho(r.Tag, r.Cookie));
        AssertOpened(r);
    }

    [Fact]
    public void A_stale_cookie_is_refused_with_a_Stale_Cookie_error_carrying_its_staleness()
    {
        var r = StartResponder();
        Scheduler.Advance(TimeSpan.FromMilliseconds(Lifetime + 1500));
        r.Association.Tell(CookieEcho(r.Tag, r.Cookie));

        var outbound = r.Wire.ExpectMsg<DatagramProtocol.Send>(Generous);
        var (tag, chunks) = Read(outbound);
        Assert.Equal(PeerTag, tag);   // addressed to the peer whose cookie it was
        Assert.Equal([SctpChunkType.Error], chunks);
        Assert.True(SctpPacket.TryParse(outbound.Datagram.Span, out var view, out _));
        Assert.True(ErrorChunk.TryParse(view.FirstChunk, out var error, out _));
        int causes = 0;
        foreach (var cause in error.Causes)
        {
            causes++;
            Assert.Equal(SctpErrorCauseCode.StaleCookieError, cause.CauseCode);
            Assert.Equal(1_500_000u, BinaryPrimitives.ReadUInt32BigEndian(cause.Value));   // RFC 9260 §3.3.10.3: microseconds past the lifetime
        }
        Assert.Equal(1, causes);

        var stats = StatsOf(r.Association);
        Assert.Equal("Closed", stats.State);
        Assert.Empty(r.Events.OfType<SctpProtocol.AssociationEstablished>());
    }

    [Fact]
    public void A_late_duplicate_of_the_cookie_that_opened_the_association_is_acknowledged_again_not_called_stale()
    {
        var r = StartResponder();
        r.Association.Tell(CookieEcho(r.Tag, r.Cookie));
        AssertOpened(r);
        Scheduler.Advance(TimeSpan.FromMilliseconds(Lifetime + 1500));   // heartbeats fall due meanwhile
        r.Wire.ReceiveWhile<DatagramProtocol.Send>(_ => true, TimeSpan.FromMilliseconds(200));
        // RFC 9260 §5.2.4 item 3: both tags are the current association's, so the cookie counts as valid (action D)
        // even past its lifetime: its COOKIE ACK was lost, and the peer must get one.
        r.Association.Tell(CookieEcho(r.Tag, r.Cookie));
        var chunks = r.Wire.ReceiveWhile<DatagramProtocol.Send>(_ => true, TimeSpan.FromMilliseconds(300)).SelectMany(p => Read(p).Chunks).ToList();
        Assert.Contains(SctpChunkType.CookieAck, chunks);
        Assert.DoesNotContain(SctpChunkType.Error, chunks);
        Assert.Single(r.Events.OfType<SctpProtocol.AssociationEstablished>());
        Assert.Equal("Established", StatsOf(r.Association).State);
    }

    [Fact]
    public void A_stale_cookie_with_a_changed_byte_is_discarded_without_an_error()
    {
        var r = StartResponder();
        Scheduler.Advance(TimeSpan.FromMilliseconds(Lifetime + 1500));
        var changed = (byte[])r.Cookie.Clone();
        changed[^1] ^= 0x01;
        r.Association.Tell(CookieEcho(r.Tag, changed));
        AssertRefusedSilently(r, badPackets: 1);   // the MAC is checked first: a forger learns nothing, not even "stale"
    }

    // ---------------------------------------------------------------- two associations, the first COOKIE ECHO held until stale

    /// <summary>
    /// Joins two associations and, while holding, keeps the client's first COOKIE ECHO and drops its retransmissions;
    /// <see cref="Release"/> lets the kept one through (stale by then) and everything after it. Records the first
    /// chunk type of every packet, per direction.
    /// </summary>
    private sealed class CookieEchoHold : ReceiveActor
    {
        public sealed record Wire(IActorRef Client, IActorRef Server);

        public sealed record Release;

        public CookieEchoHold(ConcurrentQueue<(bool FromClient, SctpChunkType First)> seen)
        {
            IActorRef client = ActorRefs.Nobody, server = ActorRefs.Nobody;
            DatagramProtocol.Received? held = null;
            bool holding = true;
            Receive<Wire>(m => (client, server) = (m.Client, m.Server));
            Receive<Release>(_ =>
            {
                holding = false;
                if (held is not null) server.Tell(held);
            });
            Receive<DatagramProtocol.Send>(m =>
            {
                bool fromClient = Sender.Equals(client);
                SctpPacket.TryParse(m.Datagram.Span, out var view, out _);
                var first = view.FirstChunk.Type;
                seen.Enqueue((fromClient, first));
                if (fromClient && holding && first == SctpChunkType.CookieEcho)
                {
                    held ??= new DatagramProtocol.Received(m.Datagram);
                    return;
                }
                (fromClient ? server : client).Tell(new DatagramProtocol.Received(m.Datagram));
            });
        }
    }

    [Fact]
    public void A_client_whose_COOKIE_ECHO_went_stale_starts_again_with_a_new_INIT_and_connects()
    {
        var settings = SctpSettings.Default with { CookieLifetime = TimeSpan.FromSeconds(2) };
        var seen = new ConcurrentQueue<(bool FromClient, SctpChunkType First)>();
        var relay = Sys.ActorOf(Akka.Actor.Props.Create(() => new CookieEchoHold(seen)));
        var clientEvents = new ConcurrentQueue<object>();
        var serverEvents = new ConcurrentQueue<object>();
        var client = Sys.ActorOf(SctpAssociation.Props(settings, relay, Sys.ActorOf(EventSink.Props(clientEvents)), isDtlsClient: true));
        var server = Sys.ActorOf(SctpAssociation.Props(settings, relay, Sys.ActorOf(EventSink.Props(serverEvents)), isDtlsClient: false));
        relay.Tell(new CookieEchoHold.Wire(client, server));
        client.Tell(SctpProtocol.Associate.Instance);

        Pump(() => seen.Any(s => s.FromClient && s.First == SctpChunkType.CookieEcho), TimeSpan.FromSeconds(5), what: "the first COOKIE ECHO");
        Scheduler.Advance(TimeSpan.FromSeconds(3));   // past the 2 s lifetime; the client's T1-cookie retransmissions are dropped meanwhile
        Thread.Sleep(20);
        relay.Tell(new CookieEchoHold.Release());

        // From here virtual time stands still: ERROR, new INIT, INIT ACK, COOKIE ECHO and COOKIE ACK need no timer, and a
        // clock that kept moving while a loaded machine was slow to pass them on could make the new cookie stale too.
        AwaitCondition(() => clientEvents.OfType<SctpProtocol.AssociationEstablished>().Any() && serverEvents.OfType<SctpProtocol.AssociationEstablished>().Any(),
            TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10), "the association after the stale cookie");
        Output?.WriteLine(string.Join(", ", seen.Select(s => $"{(s.FromClient ? "c>" : "s>")}{s.First}")));
        Assert.Contains(seen, s => !s.FromClient && s.First == SctpChunkType.Error);   // the server's Stale Cookie error
        Assert.True(seen.Count(s => s.FromClient && s.First == SctpChunkType.Init) >= 2);   // and the client's new INIT after it
        Assert.Single(clientEvents.OfType<SctpProtocol.AssociationEstablished>());
        Assert.Single(serverEvents.OfType<SctpProtocol.AssociationEstablished>());
        Assert.Empty(clientEvents.OfType<SctpProtocol.AssociationAborted>());
        Assert.True(StatsOf(server).BadPackets >= 1);
    }
}
