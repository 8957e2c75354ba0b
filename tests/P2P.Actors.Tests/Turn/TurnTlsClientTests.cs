using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Transport;
using P2P.Actors.Transport.Tls;
using P2P.Protocol.Dtls;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using Xunit;
using Xunit.Abstractions;
using RawTcpListener = System.Net.Sockets.TcpListener;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// The TLS leg of <see cref="StunTcpClient"/> (RFC 8656 §3.1, RFC 8489 §6.2.3) against a server played by the test with
/// <see cref="SslStream"/> on 127.0.0.1: what the client offers (TLS 1.2/1.3, SNI, ALPN "stun.turn" of RFC 7443), frames
/// split across TLS records, and a sentence for each step that fails (TCP connect, a handshake that never ends, a port
/// that is not TLS, the server closing).
/// </summary>
public sealed class TurnTlsClientTests : TestKit
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private readonly TurnTlsCertificates _certificates = TurnTlsCertificates.Create();
    private readonly RawTcpListener _listener;
    private readonly IPEndPoint _server;

    public TurnTlsClientTests(ITestOutputHelper output) : base("akka.loglevel = DEBUG", output)
    {
        _listener = new RawTcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _server = (IPEndPoint)_listener.LocalEndpoint;
    }

    private TlsClientOptions Pinned(string serverName = TurnTlsCertificates.DnsName) => new(serverName)
    {
        PinnedFingerprint = CertificateFingerprint.ComputeSha256(_certificates.SelfSigned.Certificate.RawData),
    };

    private IActorRef StartClient(Akka.TestKit.TestProbe handler, TlsClientOptions tls, TimeSpan? handshakeTimeout = null) =>
        Sys.ActorOf(StunTcpClient.Props(_server, handler.Ref, tls: tls, handshakeTimeout: handshakeTimeout));

    /// <summary>Accepts one connection and runs the server side of the handshake; the SNI and the ALPN protocols the client offered come back.</summary>
    private async Task<(SslStream Stream, string? Sni, List<SslApplicationProtocol> Offered)> AcceptTls()
    {
        var socket = await _listener.AcceptSocketAsync();
        var stream = new SslStream(new NetworkStream(socket, ownsSocket: true));
        string? sni = null;
        var offered = new List<SslApplicationProtocol>();
        await stream.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificateSelectionCallback = (_, name) =>
            {
                sni = name;
                return _certificates.SelfSigned.Certificate;
            },
            ApplicationProtocols = [TlsServerSettings.StunTurn],
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        });
        if (stream.NegotiatedApplicationProtocol.Protocol.Length > 0) offered.Add(stream.NegotiatedApplicationProtocol);
        return (stream, sni, offered);
    }

    private static byte[] StunIndication(int attributeBytes)
    {
        var buffer = new byte[20 + 4 + ((attributeBytes + 3) & ~3)];
        var writer = new StunMessageWriter(buffer, StunMethod.Send, StunClass.Indication, TransactionId.NewRandom());
        writer.AddBytes(StunAttributeType.Data, Enumerable.Range(0, attributeBytes).Select(i => (byte)i).ToArray());
        return writer.ToArray();
    }

    [Fact]
    public async Task Offers_sni_and_alpn_stun_turn_then_frames_across_tls_records_both_ways()
    {
        var handler = CreateTestProbe();
        var accept = AcceptTls();
        var client = StartClient(handler, Pinned());
        var local = handler.ExpectMsg<UdpSocketProtocol.Bound>(Generous).LocalEndPoint;
        var (stream, sni, negotiated) = await accept.WaitAsync(Generous);
        await using var _ = stream;

        Assert.Equal(TurnTlsCertificates.DnsName, sni);
        Assert.Equal([TlsServerSettings.StunTurn], negotiated);
        Assert.True(stream.SslProtocol is SslProtocols.Tls12 or SslProtocols.Tls13, stream.SslProtocol.ToString());

        // server to client: one STUN message in three records, then a padded ChannelData and a STUN message in one record
        var first = StunIndication(37);
        await stream.WriteAsync(first.AsMemory(0, 7));
        await stream.FlushAsync();
        await stream.WriteAsync(first.AsMemory(7, 20));
        await stream.FlushAsync();
        await stream.WriteAsync(first.AsMemory(27));
        var channelData = new byte[ChannelData.EncodedLength(5, padForStream: true)];
        ChannelData.Write(channelData, 0x4001, [1, 2, 3, 4, 5], padForStream: true);
        var second = StunIndication(4);
        await stream.WriteAsync(channelData.Concat(second).ToArray());
        foreach (var expected in new[] { first, channelData, second })
        {
            var received = handler.ExpectMsg<UdpSocketProtocol.Received>(Generous);
            Assert.Equal(_server, received.From);
            Assert.Equal(local, received.Local);
            Assert.Equal(expected, received.Payload.ToArray());
        }

        // client to server: whole frames, in order, through the TLS stream
        var up = StunIndication(9);
        client.Tell(new UdpSocketProtocol.Send(_server, up));
        client.Tell(new UdpSocketProtocol.Send(_server, channelData));
        var read = new byte[up.Length + channelData.Length];
        await stream.ReadExactlyAsync(read).AsTask().WaitAsync(Generous);
        Assert.Equal(up.Concat(channelData).ToArray(), read);
    }

    [Fact]
    public async Task The_server_closing_the_tls_connection_is_disconnected_with_tls_in_the_sentence()
    {
        var handler = CreateTestProbe();
        var accept = AcceptTls();
        var client = StartClient(handler, Pinned());
        Watch(client);
        handler.ExpectMsg<UdpSocketProtocol.Bound>(Generous);
        var (stream, _, _) = await accept.WaitAsync(Generous);

        await stream.DisposeAsync();

        var disconnected = handler.ExpectMsg<TcpClientProtocol.Disconnected>(Generous);
        Assert.True(disconnected.Reason == $"TURN server {_server} closed the TLS connection"
                    || disconnected.Reason == $"TURN server {_server} reset the TLS connection", disconnected.Reason);
        ExpectTerminated(client, Generous);
    }

    [Fact]
    public void Nothing_listening_is_a_failed_tcp_connect_named_as_such()
    {
        var handler = CreateTestProbe();
        _listener.Stop();

        var client = StartClient(handler, Pinned());
        Watch(client);

        var failed = handler.ExpectMsg<UdpSocketProtocol.BindFailed>(Generous);
        Assert.Equal($"TCP connect to the TURN server {_server} failed: connection refused", failed.Reason);
        ExpectTerminated(client, Generous);
    }

    [Fact]
    public async Task A_server_that_accepts_and_never_answers_the_client_hello_fails_after_the_handshake_timeout()
    {
        var handler = CreateTestProbe();
        var accept = _listener.AcceptSocketAsync();
        var client = StartClient(handler, Pinned(), TimeSpan.FromMilliseconds(300));
        Watch(client);
        using var silent = await accept.WaitAsync(Generous);

        var failed = handler.ExpectMsg<UdpSocketProtocol.BindFailed>(Generous);
        Assert.Equal($"TLS handshake with the TURN server {_server} failed: no answer within 0.3 s", failed.Reason);
        ExpectTerminated(client, Generous);
    }

    [Fact]
    public async Task A_port_that_closes_on_the_client_hello_is_a_failed_handshake_that_asks_whether_it_is_tls()
    {
        var handler = CreateTestProbe();
        var accept = _listener.AcceptSocketAsync();
        StartClient(handler, Pinned());
        using (var plain = await accept.WaitAsync(Generous))
        {
            // the whole ClientHello record, so that the close is a FIN (unread bytes would make it a reset)
            using var bytes = new NetworkStream(plain, ownsSocket: false);
            var header = new byte[5];
            await bytes.ReadExactlyAsync(header);
            Assert.Equal(0x16, header[0]); // TLS handshake record: where a plain STUN server sees an unframeable first byte and closes
            await bytes.ReadExactlyAsync(new byte[(header[3] << 8) | header[4]]);
            plain.Shutdown(SocketShutdown.Both);
        }

        var failed = handler.ExpectMsg<UdpSocketProtocol.BindFailed>(Generous);
        Assert.Equal($"TLS handshake with the TURN server {_server} failed: the server closed the connection during the handshake (is this port TLS?)", failed.Reason);
    }

    [Fact]
    public void Pem_authorities_load_and_a_file_without_a_certificate_is_a_sentence()
    {
        Assert.True(TlsClientOptions.TryLoadAuthorities(_certificates.AuthorityFile, out var authorities, out _));
        Assert.Equal("CN=p2p test CA", Assert.Single(authorities).Subject);

        Assert.False(TlsClientOptions.TryLoadAuthorities(_certificates.SelfSigned.KeyFile, out _, out string noCertificate));
        Assert.Equal($"'{_certificates.SelfSigned.KeyFile}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)", noCertificate);

        string missing = Path.Combine(_certificates.Folder, "missing.pem");
        Assert.False(TlsClientOptions.TryLoadAuthorities(missing, out _, out string unreadable));
        Assert.StartsWith($"cannot read the CA certificate '{missing}': ", unreadable);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _listener.Stop();
            _certificates.Dispose();
        }
        base.Dispose(disposing);
    }
}
