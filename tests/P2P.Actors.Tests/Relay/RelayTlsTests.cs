using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Akka.Actor;
using P2P.Actors.Relay;
using P2P.Actors.Transport.Tls;
using P2P.Protocol.Dtls;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>
/// TURN over TLS (RFC 8656 §3.1) on the relay's <c>tls-listen</c> addresses: the same framing and allocations as plain
/// TCP inside an SslStream, a certificate clients pin by its fingerprint, and handshakes that fail without hurting
/// anyone else. The handshake timeout is configured short here; the real one is in akka.hocon.
/// </summary>
public sealed class RelayTlsTests(ITestOutputHelper output) : RelayTestBase(output)
{
    private sealed record TlsRelay(RunningRelay Relay, IPEndPoint Tls, CertificateFingerprint Fingerprint);

    private async Task<TlsRelay> StartTlsRelay(RelaySettings? settings = null)
    {
        var actor = Sys.ActorOf(RelayServer.Props(settings ?? TlsSettings), $"relay-{Guid.NewGuid():N}");
        var listening = Assert.IsType<RelayServerProtocol.Listening>(await actor.Ask<object>(new RelayServerProtocol.AwaitListening(), AskTimeout));
        Assert.NotNull(listening.Tls);
        Assert.True(CertificateFingerprint.TryParse(listening.TlsFingerprint, out var fingerprint, out var error), error);
        return new TlsRelay(new RunningRelay(actor, listening.Udp[0], listening.Tcp[0]), Assert.Single(listening.Tls), fingerprint);
    }

    private static RelaySettings TlsSettings => Settings with { TlsListen = [new IPEndPoint(IPAddress.Loopback, 0)] };

    /// <summary>A client that trusts exactly the certificate with <paramref name="pinned"/> and asks for ALPN "stun.turn".</summary>
    private static SslClientAuthenticationOptions Pinned(CertificateFingerprint pinned) => new()
    {
        TargetHost = "localhost",
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ApplicationProtocols = [TlsServerSettings.StunTurn],
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && TlsCertificates.Sha256Fingerprint(certificate).Matches(pinned),
    };

    private static Task<Socket> Connect(IPEndPoint server) => RelayTcpConnectionLimitsTests.Connect(server);

    private static Task<bool> ClosedByServer(Socket socket, TimeSpan within) => RelayTcpConnectionLimitsTests.ClosedByServer(socket, within);

    [Fact]
    public async Task A_client_over_tls_allocates_and_relays_channel_data_both_ways()
    {
        var relay = await StartTlsRelay();
        await using var client = await TurnTestClient.Tls(relay.Tls, Pinned(relay.Fingerprint), "alice", "secret");
        Assert.Equal(TlsServerSettings.StunTurn, client.TlsStream!.NegotiatedApplicationProtocol);
        Assert.True(client.TlsStream.SslProtocol is SslProtocols.Tls12 or SslProtocols.Tls13, client.TlsStream.SslProtocol.ToString());
        using var peer = new UdpPeer();

        var relayed = await AllocateOk(client);
        var entry = Assert.Single(await Allocations(relay.Relay));
        Assert.Equal(ClientTransport.Tcp, entry.FiveTuple.Transport);
        Assert.Equal(relay.Tls, entry.FiveTuple.Server);
        Assert.True((await client.CreatePermission(peer.EndPoint)).IsSuccess);
        var bound = await client.ChannelBind(0x4001, peer.EndPoint);
        Assert.True(bound.IsSuccess, bound.ToString());

        // 3 bytes: the stream's ChannelData is padded to 4 (RFC 8656 §12.5) inside the TLS records
        await client.SendChannelData(0x4001, Encoding.UTF8.GetBytes("abc"));
        var got = await peer.Receive();
        Assert.NotNull(got);
        Assert.Equal("abc", Encoding.UTF8.GetString(got.Value.Data));
        Assert.Equal(relayed, got.Value.From);

        await peer.SendTo(relayed, Encoding.UTF8.GetBytes("back over tls"));
        var incoming = await client.NextIncoming();
        Assert.NotNull(incoming);
        Assert.True(ChannelData.TryParse(incoming, out ushort channel, out var data, out var error), error.ToString());
        Assert.Equal(0x4001, channel);
        Assert.Equal("back over tls", Encoding.UTF8.GetString(data));

        var stats = await Stats(relay.Relay);
        Assert.Equal(1, stats.TlsHandshakes);
        Assert.Equal(0, stats.TlsHandshakesFailed);
    }

    [Fact]
    public async Task A_burst_from_the_peer_reaches_the_tls_client_whole_and_in_order()
    {
        var relay = await StartTlsRelay();
        await using var client = await TurnTestClient.Tls(relay.Tls, Pinned(relay.Fingerprint), "alice", "secret");
        using var peer = new UdpPeer();
        var relayed = await AllocateOk(client);
        Assert.True((await client.CreatePermission(peer.EndPoint)).IsSuccess);
        Assert.True((await client.ChannelBind(0x4002, peer.EndPoint)).IsSuccess);

        // sent at once, so that the relay's writes queue up behind each other (and go out batched); odd sizes test the padding
        const int Count = 200;
        await Task.WhenAll(Enumerable.Range(0, Count).Select(i => peer.SendTo(relayed, Encoding.UTF8.GetBytes($"{i}:{new string('x', i % 7)}"))));
        var seen = new List<int>();
        for (int i = 0; i < Count; i++)
        {
            var incoming = await client.NextIncoming();
            Assert.NotNull(incoming);
            Assert.True(ChannelData.TryParse(incoming, out ushort channel, out var data, out var error), error.ToString());
            Assert.Equal(0x4002, channel);
            var text = Encoding.UTF8.GetString(data);
            int n = int.Parse(text[..text.IndexOf(':')]);
            Assert.Equal(new string('x', n % 7), text[(text.IndexOf(':') + 1)..]);
            seen.Add(n);
        }
        Assert.Equal(Enumerable.Range(0, Count), seen.Order()); // UDP may reorder on the way in; none lost, none mangled
        Assert.Null(await client.NextIncoming(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Plain_tcp_and_garbage_on_the_tls_port_are_refused_and_counted_without_hurting_a_tls_client()
    {
        var relay = await StartTlsRelay();
        await using var client = await TurnTestClient.Tls(relay.Tls, Pinned(relay.Fingerprint), "alice", "secret");
        await AllocateOk(client);

        // a TURN client that speaks plain TCP to the TLS port: its Binding request is no ClientHello
        using var plain = await Connect(relay.Tls);
        await plain.SendAsync(TurnTestClient.Build(StunMethod.Binding, StunClass.Request, TransactionId.NewRandom(), null), SocketFlags.None);
        using var garbage = await Connect(relay.Tls);
        await garbage.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: relay\r\n\r\n"), SocketFlags.None);
        Assert.True(await ClosedByServer(plain, TimeSpan.FromSeconds(15)), "a plain TCP client on the TLS port stayed connected");
        Assert.True(await ClosedByServer(garbage, TimeSpan.FromSeconds(15)), "an HTTP request on the TLS port stayed connected");

        await Eventually(async () => (await Stats(relay.Relay)).TlsHandshakesFailed == 2, because: "the two failed handshakes were not counted");
        var refreshed = await client.Refresh(600);
        Assert.True(refreshed.IsSuccess, refreshed.ToString());
        Assert.Single(await Allocations(relay.Relay));
        var stats = await Stats(relay.Relay);
        Assert.Equal(1, stats.TlsHandshakes);
        Assert.Equal(0, stats.TcpUnframeable);
    }

    [Fact]
    public async Task A_connection_that_starts_no_handshake_is_closed_after_the_handshake_timeout()
    {
        var relay = await StartTlsRelay(TlsSettings with { TlsHandshakeTimeout = TimeSpan.FromSeconds(1) });
        using var silent = await Connect(relay.Tls);
        Assert.False(await ClosedByServer(silent, TimeSpan.FromMilliseconds(300)), "closed before the handshake timeout");
        Assert.True(await ClosedByServer(silent, TimeSpan.FromSeconds(15)), "a silent connection outlived the handshake timeout");
        await Eventually(async () => (await Stats(relay.Relay)).TlsHandshakesFailed == 1, because: "the timed-out handshake was not counted");
    }

    [Fact]
    public async Task A_client_that_asks_for_no_alpn_is_served_too()
    {
        var relay = await StartTlsRelay();
        var options = Pinned(relay.Fingerprint);
        options.ApplicationProtocols = null;
        await using var client = await TurnTestClient.Tls(relay.Tls, options, "alice", "secret");
        Assert.Equal(default, client.TlsStream!.NegotiatedApplicationProtocol);
        await AllocateOk(client);
    }

    [Fact]
    public async Task The_certificate_from_pem_files_is_the_one_served()
    {
        using var dir = new TempDirectory();
        using var certificate = TlsCertificates.CreateSelfSigned(["127.0.0.1"], TimeSpan.FromDays(1));
        var (certPath, keyPath) = dir.WritePem(certificate);
        var relay = await StartTlsRelay(TlsSettings with { TlsCertificateFile = certPath, TlsKeyFile = keyPath });
        Assert.True(relay.Fingerprint.Matches(TlsCertificates.Sha256Fingerprint(certificate)));
        await using var client = await TurnTestClient.Tls(relay.Tls, Pinned(TlsCertificates.Sha256Fingerprint(certificate)), "alice", "secret");
        Assert.Equal(certificate.RawData, client.TlsStream!.RemoteCertificate!.GetRawCertData());
    }

    [Fact]
    public async Task A_key_that_is_not_the_certificates_fails_listening_with_a_sentence()
    {
        using var dir = new TempDirectory();
        using var one = TlsCertificates.CreateSelfSigned([], TimeSpan.FromDays(1));
        using var other = TlsCertificates.CreateSelfSigned([], TimeSpan.FromDays(1));
        var (certPath, _) = dir.WritePem(one, "one");
        var (_, otherKey) = dir.WritePem(other, "other");
        var actor = Sys.ActorOf(RelayServer.Props(TlsSettings with { TlsCertificateFile = certPath, TlsKeyFile = otherKey }));
        var failed = Assert.IsType<RelayServerProtocol.ListenFailed>(await actor.Ask<object>(new RelayServerProtocol.AwaitListening(), AskTimeout));
        Assert.StartsWith($"cannot load the TLS certificate {certPath} with the key {otherKey}", failed.Reason);

        var missing = Path.Combine(dir.Path, "missing.pem");
        actor = Sys.ActorOf(RelayServer.Props(TlsSettings with { TlsCertificateFile = certPath, TlsKeyFile = missing }));
        failed = Assert.IsType<RelayServerProtocol.ListenFailed>(await actor.Ask<object>(new RelayServerProtocol.AwaitListening(), AskTimeout));
        Assert.Equal($"the TLS private key file {missing} does not exist", failed.Reason);
    }

    /// <summary>A private folder for PEM files, removed afterwards.</summary>
    private sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("p2p-tls-").FullName;

        public (string Certificate, string Key) WritePem(X509Certificate2 certificate, string name = "relay")
        {
            string certPath = System.IO.Path.Combine(Path, $"{name}.crt.pem"), keyPath = System.IO.Path.Combine(Path, $"{name}.key.pem");
            File.WriteAllText(certPath, certificate.ExportCertificatePem());
            using var key = certificate.GetECDsaPrivateKey()!;
            File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
            return (certPath, keyPath);
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
