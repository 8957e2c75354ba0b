using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using P2P.Actors.Dtls;
using P2P.Actors.Transport;
using P2P.Protocol.Dtls;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Dtls;

/// <summary>Two <see cref="DtlsTransport"/>s back to back: through an in-process relay, and over real UDP on 127.0.0.1.</summary>
public sealed class DtlsTransportTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    /// <summary>A fast first retransmission so the loss test does not wait the RFC's full second.</summary>
    private static readonly DtlsSettings Fast = DtlsSettings.Default with { InitialRetransmit = TimeSpan.FromMilliseconds(200) };

    private static readonly DtlsCertificate ClientCertificate = DtlsCertificate.Generate();
    private static readonly DtlsCertificate ServerCertificate = DtlsCertificate.Generate();

    private sealed record Pair(IActorRef Client, IActorRef Server, TestProbe ClientEvents, TestProbe ServerEvents, IActorRef Relay);

    private Pair Start(int dropFirstEachWay = 0, CertificateFingerprint? clientExpects = null, CertificateFingerprint? serverExpects = null)
    {
        var relay = Sys.ActorOf(DtlsRelay.Props(dropFirstEachWay));
        var clientEvents = CreateTestProbe();
        var serverEvents = CreateTestProbe();
        var server = Sys.ActorOf(DtlsTransport.Props(DtlsRole.Server, ServerCertificate, serverExpects ?? ClientCertificate.Fingerprint, new DatagramLink(relay), Fast, serverEvents.Ref));
        var client = Sys.ActorOf(DtlsTransport.Props(DtlsRole.Client, ClientCertificate, clientExpects ?? ServerCertificate.Fingerprint, new DatagramLink(relay), Fast, clientEvents.Ref));
        relay.Tell(new DtlsRelay.Wire(client, server));
        return new Pair(client, server, clientEvents, serverEvents, relay);
    }

    private static DtlsProtocol.Connected ExpectConnected(TestProbe events) =>
        (DtlsProtocol.Connected)events.FishForMessage(m => m is DtlsProtocol.Failed f ? throw new Xunit.Sdk.XunitException(f.Reason) : m is DtlsProtocol.Connected, Generous);

    private static void AssertConnected(Pair pair)
    {
        var client = ExpectConnected(pair.ClientEvents);
        var server = ExpectConnected(pair.ServerEvents);
        Assert.Equal(ServerCertificate.Fingerprint.Hex, client.RemoteFingerprint);
        Assert.Equal(ClientCertificate.Fingerprint.Hex, server.RemoteFingerprint);
        Assert.Equal("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", client.CipherSuite);
        Assert.Equal(client.CipherSuite, server.CipherSuite);
        Assert.Equal(16384, client.MaxPayload);   // one full record (2^14) once the handshake is done: SCTP probes the path before it sends more than its base size
    }

    [Fact]
    public void Handshake_completes_both_ways_and_each_side_verified_the_others_fingerprint()
    {
        var pair = Start();
        AssertConnected(pair);
    }

    [Fact]
    public void A_thousand_messages_cross_both_ways_in_order()
    {
        var pair = Start();
        AssertConnected(pair);
        const int count = 1000;
        for (int i = 0; i < count; i++)
        {
            pair.Client.Tell(new DatagramProtocol.Send(Encoding.UTF8.GetBytes($"c{i}")));
            pair.Server.Tell(new DatagramProtocol.Send(Encoding.UTF8.GetBytes($"s{i}")));
        }
        for (int i = 0; i < count; i++)
        {
            Assert.Equal($"s{i}", Encoding.UTF8.GetString(pair.ClientEvents.ExpectMsg<DatagramProtocol.Received>(Generous).Datagram.Span));
            Assert.Equal($"c{i}", Encoding.UTF8.GetString(pair.ServerEvents.ExpectMsg<DatagramProtocol.Received>(Generous).Datagram.Span));
        }
    }

    [Fact]
    public void Data_sent_before_the_handshake_completes_is_queued_and_delivered()
    {
        var pair = Start();
        pair.Client.Tell(new DatagramProtocol.Send("early"u8.ToArray()));
        AssertConnected(pair);
        Assert.Equal("early", Encoding.UTF8.GetString(pair.ServerEvents.ExpectMsg<DatagramProtocol.Received>(Generous).Datagram.Span));
    }

    [Fact]
    public void A_100_KiB_payload_split_into_records_arrives_intact()
    {
        var pair = Start();
        AssertConnected(pair);
        byte[] payload = RandomNumberGenerator.GetBytes(100 * 1024);
        const int chunk = 1100;
        int records = 0;
        for (int offset = 0; offset < payload.Length; offset += chunk, records++)
            pair.Client.Tell(new DatagramProtocol.Send(payload.AsMemory(offset, Math.Min(chunk, payload.Length - offset)).ToArray()));

        using var received = new MemoryStream();
        for (int i = 0; i < records; i++)
        {
            var data = pair.ServerEvents.ExpectMsg<DatagramProtocol.Received>(Generous).Datagram;
            Assert.InRange(data.Length, 1, chunk);
            received.Write(data.Span);
        }
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(received.ToArray()));
    }

    [Fact]
    public void A_record_larger_than_the_send_limit_is_refused_without_breaking_the_association()
    {
        var pair = Start();
        AssertConnected(pair);
        pair.Client.Tell(new DatagramProtocol.Send(new byte[20_000]));
        pair.Client.Tell(new DatagramProtocol.Send("after"u8.ToArray()));
        Assert.Equal("after", Encoding.UTF8.GetString(pair.ServerEvents.ExpectMsg<DatagramProtocol.Received>(Generous).Datagram.Span));
        AwaitAssert(() =>
        {
            pair.Client.Tell(new DtlsProtocol.GetStats(), TestActor);
            Assert.Equal(1, ExpectMsg<DtlsProtocol.Stats>().SendsRefused);
        }, Generous);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_wrong_expected_fingerprint_fails_both_sides(bool clientHasTheWrongOne)
    {
        var wrong = CertificateFingerprint.ComputeSha256("not the peer's certificate"u8);
        var pair = clientHasTheWrongOne ? Start(clientExpects: wrong) : Start(serverExpects: wrong);
        var (checker, other) = clientHasTheWrongOne ? (pair.ClientEvents, pair.ServerEvents) : (pair.ServerEvents, pair.ClientEvents);
        var actualPeer = clientHasTheWrongOne ? ServerCertificate : ClientCertificate;

        var failed = checker.ExpectMsg<DtlsProtocol.Failed>(Generous);
        Assert.Equal(
            $"DTLS: the peer's certificate fingerprint sha-256 {actualPeer.Fingerprint.Hex} does not match the description's {wrong.Hex}; refusing the session",
            failed.Reason);
        var alerted = (DtlsProtocol.Failed)other.FishForMessage(m => m is DtlsProtocol.Failed, Generous);
        Assert.Contains("bad_certificate", alerted.Reason);
        checker.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // never Connected
    }

    [Fact]
    public void Garbage_datagrams_are_ignored_and_counted_and_the_association_survives()
    {
        var pair = Start();
        AssertConnected(pair);
        Watch(pair.Server);

        pair.Server.Tell(new DatagramProtocol.Received(new byte[] { 0xFF, 1, 2, 3 }));       // not DTLS by RFC 7983
        pair.Server.Tell(new DatagramProtocol.Received(ReadOnlyMemory<byte>.Empty));
        var forged = new byte[60];                                                       // application_data, DTLS 1.2, epoch 1, bad MAC
        forged[0] = 23; forged[1] = 0xFE; forged[2] = 0xFD; forged[4] = 1; forged[10] = 99; forged[12] = 47;
        RandomNumberGenerator.Fill(forged.AsSpan(13));
        pair.Server.Tell(new DatagramProtocol.Received(forged));
        pair.Server.Tell(new DatagramProtocol.Received(RandomNumberGenerator.GetBytes(40).Select((b, i) => i == 0 ? (byte)22 : b).ToArray()));

        pair.Client.Tell(new DatagramProtocol.Send("still here"u8.ToArray()));
        Assert.Equal("still here", Encoding.UTF8.GetString(pair.ServerEvents.ExpectMsg<DatagramProtocol.Received>(Generous).Datagram.Span));
        pair.Server.Tell(new DatagramProtocol.Send("and here"u8.ToArray()));
        Assert.Equal("and here", Encoding.UTF8.GetString(pair.ClientEvents.ExpectMsg<DatagramProtocol.Received>(Generous).Datagram.Span));

        pair.Server.Tell(new DtlsProtocol.GetStats(), TestActor);
        var stats = ExpectMsg<DtlsProtocol.Stats>();
        Assert.Equal(2, stats.NotDtls);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // no Terminated
    }

    [Fact]
    public void A_lost_first_flight_each_way_is_retransmitted()
    {
        var pair = Start(dropFirstEachWay: 1);
        AssertConnected(pair);
        pair.Relay.Tell(new DtlsRelay.GetCounts(), TestActor);
        Assert.Equal(2, ExpectMsg<DtlsRelay.Counts>().Dropped);
        pair.Client.Tell(new DatagramProtocol.Send("after loss"u8.ToArray()));
        Assert.Equal("after loss", Encoding.UTF8.GetString(pair.ServerEvents.ExpectMsg<DatagramProtocol.Received>(Generous).Datagram.Span));
    }

    [Fact]
    public void Stopping_one_side_sends_close_notify_and_the_other_reports_closed()
    {
        var pair = Start();
        AssertConnected(pair);
        Watch(pair.Server);
        Sys.Stop(pair.Client);
        pair.ServerEvents.FishForMessage(m => m is DtlsProtocol.Closed, Generous);
        ExpectTerminated(pair.Server, Generous);
    }

    [Fact]
    public void A_server_that_never_hears_from_a_client_times_out_with_a_reason()
    {
        var events = CreateTestProbe();
        var settings = Fast with { HandshakeTimeout = TimeSpan.FromSeconds(1) };
        var client = Sys.ActorOf(DtlsTransport.Props(DtlsRole.Client, ClientCertificate, ServerCertificate.Fingerprint, new DatagramLink(ActorRefs.Nobody), settings, events.Ref));
        var failed = events.ExpectMsg<DtlsProtocol.Failed>(Generous);
        Assert.StartsWith("DTLS: ", failed.Reason);
        Assert.Contains("did not complete within 1 s", failed.Reason);
        Watch(client);
        ExpectTerminated(client, Generous);
    }

    [Fact]
    public void Over_real_udp_sockets_on_loopback()
    {
        var observer = CreateTestProbe();
        var pipeA = Sys.ActorOf(UdpDtlsPipe.Props(observer.Ref), "pipe-a");
        var boundA = observer.ExpectMsg<UdpSocketProtocol.Bound>(Generous);
        var pipeB = Sys.ActorOf(UdpDtlsPipe.Props(observer.Ref), "pipe-b");
        var boundB = observer.ExpectMsg<UdpSocketProtocol.Bound>(Generous);

        var clientEvents = CreateTestProbe();
        var serverEvents = CreateTestProbe();
        var server = Sys.ActorOf(DtlsTransport.Props(DtlsRole.Server, ServerCertificate, ClientCertificate.Fingerprint, new DatagramLink(pipeB), Fast, serverEvents.Ref));
        var client = Sys.ActorOf(DtlsTransport.Props(DtlsRole.Client, ClientCertificate, ServerCertificate.Fingerprint, new DatagramLink(pipeA), Fast, clientEvents.Ref));
        pipeB.Tell(new UdpDtlsPipe.Attach(server, boundA.LocalEndPoint));
        pipeA.Tell(new UdpDtlsPipe.Attach(client, boundB.LocalEndPoint));

        AssertConnected(new Pair(client, server, clientEvents, serverEvents, ActorRefs.Nobody));
        for (int i = 0; i < 100; i++) client.Tell(new DatagramProtocol.Send(Encoding.UTF8.GetBytes($"udp {i}")));
        server.Tell(new DatagramProtocol.Send("pong"u8.ToArray()));
        var got = new List<string>();
        for (int i = 0; i < 100; i++) got.Add(Encoding.UTF8.GetString(serverEvents.ExpectMsg<DatagramProtocol.Received>(Generous).Datagram.Span));
        Assert.Equal(100, got.Distinct().Count()); // UDP on loopback: all arrive; order is not promised by DTLS
        Assert.Equal("pong", Encoding.UTF8.GetString(clientEvents.ExpectMsg<DatagramProtocol.Received>(Generous).Datagram.Span));
    }
}
