using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Mdns;
using P2P.Protocol.Dns;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Mdns;

public sealed class MdnsResponderTests(ITestOutputHelper output) : TestKit("akka.loglevel = INFO", output)
{
    private const string Name = "7a2f61b5-2e4a-4c1c-9b5d-0f1e2d3c4b5a.local";
    private static readonly IPAddress Address = IPAddress.Parse("192.0.2.7");
    private static readonly IPEndPoint Multicaster = new(IPAddress.Parse("192.0.2.99"), MdnsNames.Port);

    private readonly InMemoryMdnsSockets _sockets = new();

    private IActorRef Start(TimeSpan? timeout = null) =>
        Sys.ActorOf(MdnsResponder.Props(MdnsSettings.Default with { ResolveTimeout = timeout ?? TimeSpan.FromSeconds(3), QueryInterval = TimeSpan.FromMilliseconds(100) }, _sockets));

    private static byte[] Answer(params DnsAddressRecord[] records)
    {
        var buffer = new byte[512];
        return buffer[..DnsWriter.WriteAnswer(buffer, 0, null, records, 120)];
    }

    private static byte[] Question(string name, ushort type, bool unicast, ushort id = 0)
    {
        var buffer = new byte[512];
        return buffer[..DnsWriter.WriteQuery(buffer, id, name, [type], unicast)];
    }

    private MdnsProtocol.Stats Stats(IActorRef responder)
    {
        responder.Tell(MdnsProtocol.GetStats.Instance, TestActor);
        return ExpectMsg<MdnsProtocol.Stats>();
    }

    [Fact]
    public void A_name_is_asked_for_A_and_AAAA_and_resolved_from_a_multicast_answer()
    {
        var responder = Start();
        responder.Tell(new MdnsProtocol.Resolve(Name), TestActor);
        AwaitCondition(() => _sockets.Outbox.Count >= 2);
        var sent = _sockets.Outbox.Take(2).ToList();
        Assert.All(sent, s => Assert.Equal(InMemoryMdnsSockets.Way.Query, s.Way));
        // one question per packet, no QU bit, id 0: Chromium (156) answers no query with two questions or with the QU
        // bit, so a browser's name would never resolve otherwise
        Assert.Equal([new DnsQuestion(Name, DnsType.A, false), new DnsQuestion(Name, DnsType.Aaaa, false)], sent.SelectMany(s => s.Message.Questions));
        Assert.All(sent, s => Assert.Equal(0, s.Message.Id));

        // another responder's answer about another name changes nothing; the one for ours resolves it (any case)
        responder.Tell(new MdnsProtocol.DatagramReceived(Answer(new DnsAddressRecord("other.local", IPAddress.Parse("192.0.2.1"))), Multicaster));
        responder.Tell(new MdnsProtocol.DatagramReceived(Answer(new DnsAddressRecord(Name.ToUpperInvariant(), Address), new DnsAddressRecord(Name, IPAddress.Parse("2001:db8::7"))), Multicaster));
        var resolved = ExpectMsg<MdnsProtocol.Resolved>();
        Assert.Equal(Name, resolved.Name);
        Assert.Equal([Address, IPAddress.Parse("2001:db8::7")], resolved.Addresses);

        // the answer is kept for its TTL: asking again sends nothing
        int before = _sockets.Outbox.Count;
        responder.Tell(new MdnsProtocol.Resolve(Name), TestActor);
        Assert.Equal(Address, ExpectMsg<MdnsProtocol.Resolved>().Addresses[0]);
        Assert.Equal(before, _sockets.Outbox.Count(s => s.Way == InMemoryMdnsSockets.Way.Query));
        Assert.Equal(1, Stats(responder).Resolved);
    }

    [Fact]
    public void Several_askers_share_one_query_and_an_unanswered_name_is_given_up_after_the_timeout()
    {
        var responder = Start(TimeSpan.FromMilliseconds(700));
        var other = CreateTestProbe();
        responder.Tell(new MdnsProtocol.Resolve(Name), TestActor);
        responder.Tell(new MdnsProtocol.Resolve(Name), other.Ref);
        var unresolved = ExpectMsg<MdnsProtocol.Unresolved>(TimeSpan.FromSeconds(5));
        Assert.Equal(Name, unresolved.Name);
        Assert.Contains("no mDNS answer within 0.7 s", unresolved.Reason);
        other.ExpectMsg<MdnsProtocol.Unresolved>();
        // asked at 0, 100 ms and 300 ms (doubling), and no more after giving up
        var queries = _sockets.Outbox.Where(s => s.Way == InMemoryMdnsSockets.Way.Query && s.Message.Questions[0].Type == DnsType.A).ToList();
        Assert.InRange(queries.Count, 2, 4);
        Assert.Equal(1, Stats(responder).Unresolved);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(queries.Count * 2, _sockets.Outbox.Count(s => s.Way == InMemoryMdnsSockets.Way.Query));
    }

    [Fact]
    public void A_published_name_is_answered_by_multicast_by_unicast_for_QU_and_as_legacy_unicast_to_a_one_shot_port()
    {
        var responder = Start();
        var session = CreateTestProbe();
        responder.Tell(new MdnsProtocol.Publish([new DnsAddressRecord(Name, Address)]), session.Ref);
        Stats(responder); // the publication is in

        responder.Tell(new MdnsProtocol.DatagramReceived(Question(Name, DnsType.A, unicast: false), Multicaster));
        var querier = new IPEndPoint(IPAddress.Parse("192.0.2.50"), MdnsNames.Port);
        responder.Tell(new MdnsProtocol.DatagramReceived(Question(Name, DnsType.A, unicast: true), querier));
        var oneShot = new IPEndPoint(IPAddress.Parse("192.0.2.51"), 40123);
        responder.Tell(new MdnsProtocol.DatagramReceived(Question(Name, DnsType.Any, unicast: false, id: 0x7777), oneShot));
        // not ours, or a family it has no address of: no answer
        responder.Tell(new MdnsProtocol.DatagramReceived(Question("other.local", DnsType.A, unicast: false), Multicaster));
        responder.Tell(new MdnsProtocol.DatagramReceived(Question(Name, DnsType.Aaaa, unicast: false), Multicaster));
        Assert.Equal(3, Stats(responder).AnswersSent);

        var sent = _sockets.Outbox.ToList();
        Assert.Equal(3, sent.Count);
        Assert.Equal(InMemoryMdnsSockets.Way.ToGroups, sent[0].Way);
        var record = Assert.Single(sent[0].Message.Records);
        Assert.Equal(new DnsRecord(Name, DnsType.A, 1, true, 120, Address), record);
        Assert.True(sent[0].Message.IsResponse);
        Assert.Equal((InMemoryMdnsSockets.Way.Unicast, querier), (sent[1].Way, sent[1].To));
        Assert.Equal((InMemoryMdnsSockets.Way.Unicast, oneShot), (sent[2].Way, sent[2].To));
        Assert.Equal(0x7777, sent[2].Message.Id);
        Assert.Equal(Name, Assert.Single(sent[2].Message.Questions).Name);
        Assert.Equal(new DnsRecord(Name, DnsType.A, 1, false, 10, Address), Assert.Single(sent[2].Message.Records));
    }

    [Fact]
    public void Names_are_answered_only_while_their_session_lives_and_resolve_at_once_in_the_same_process()
    {
        var responder = Start();
        var session = CreateTestProbe();
        responder.Tell(new MdnsProtocol.Publish([new DnsAddressRecord(Name, Address)]), session.Ref);
        responder.Tell(new MdnsProtocol.Resolve(Name), TestActor);
        Assert.Equal([Address], ExpectMsg<MdnsProtocol.Resolved>().Addresses);
        Assert.Empty(_sockets.Outbox); // no query went out

        Watch(session.Ref);
        Sys.Stop(session.Ref);
        ExpectTerminated(session.Ref);
        AwaitCondition(() => Stats(responder).Published == 0);
        responder.Tell(new MdnsProtocol.DatagramReceived(Question(Name, DnsType.A, unicast: false), Multicaster));
        Assert.Equal(0, Stats(responder).AnswersSent);
    }

    [Fact]
    public void Bad_packets_are_counted_and_logged_at_most_five_a_minute_and_the_responder_goes_on()
    {
        var responder = Start();
        responder.Tell(new MdnsProtocol.Resolve(Name), TestActor); // opens the sockets
        EventFilter.Warning(contains: "mDNS: dropped a malformed packet").Expect(5, () =>
        {
            for (int i = 0; i < 20; i++)
                responder.Tell(new MdnsProtocol.DatagramReceived([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xC0, 12, (byte)i], Multicaster));
            Assert.Equal(20, Stats(responder).BadPackets);
        });
        responder.Tell(new MdnsProtocol.DatagramReceived(Answer(new DnsAddressRecord(Name, Address)), Multicaster));
        Assert.Equal([Address], ExpectMsg<MdnsProtocol.Resolved>().Addresses);
    }

    [Fact]
    public void Nothing_is_opened_until_a_name_is_resolved_or_published()
    {
        var responder = Start();
        Stats(responder);
        Assert.Equal(0, _sockets.Opened);
        responder.Tell(new MdnsProtocol.Publish([new DnsAddressRecord(Name, Address)]), TestActor);
        Stats(responder);
        Assert.Equal(1, _sockets.Opened);
    }
}
