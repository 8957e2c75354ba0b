using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using P2P.Actors.Transport.Tls;
using P2P.Protocol.Dtls;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Relay;

/// <summary>`p2p relay --tls-listen 127.0.0.1:0` as users run it: its TLS port and the fingerprint it prints.</summary>
public sealed class RelayTlsProcessFixture : RelayProcessFixture
{
    private static readonly Regex TlsPortText = new(@"^relay listening on .*, tls 127\.0\.0\.1:(\d+) \(", RegexOptions.Multiline);
    private static readonly Regex FingerprintLine = new(@"^tls certificate (sha-256 [0-9A-F:]+) \(self-signed", RegexOptions.Multiline);

    public int TlsPort { get; private set; }

    /// <summary>The fingerprint the relay printed, as printed.</summary>
    public string PrintedFingerprint { get; private set; } = string.Empty;

    protected override string[] ExtraArguments => ["--tls-listen", "127.0.0.1:0"];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        Match fingerprint;
        while (!(fingerprint = FingerprintLine.Match(Relay.Output)).Success)
        {
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"p2p relay printed no TLS fingerprint:\n{Relay.Output}");
            await Task.Delay(20);
        }
        PrintedFingerprint = fingerprint.Groups[1].Value;
        var port = TlsPortText.Match(Relay.Output);
        if (!port.Success) throw new InvalidOperationException($"p2p relay printed no TLS address:\n{Relay.Output}");
        TlsPort = int.Parse(port.Groups[1].Value);
    }
}

public sealed class RelayTlsProcessTests(RelayTlsProcessFixture fixture, ITestOutputHelper output)
    : CoturnClientTestBase(fixture, output), IClassFixture<RelayTlsProcessFixture>
{
    protected override int Port => fixture.TlsPort;

    /// <summary>
    /// turnutils_uclient opens some of its connections with TLS 1.0 or 1.1 contexts, which our relay refuses (TLS 1.2 and
    /// 1.3 only); it then connects again with another. Those refusals are the only errors it may print.
    /// </summary>
    protected override bool IsExpectedErrorLine(string line) =>
        line.Contains("alert protocol version", StringComparison.Ordinal) || line.Contains("tls_connect: cannot connect", StringComparison.Ordinal);

    [Fact]
    public async Task The_printed_fingerprint_is_the_one_of_the_certificate_served()
    {
        Assert.True(CertificateFingerprint.TryParse(fixture.PrintedFingerprint, out var printed, out var error), error);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, fixture.TlsPort));
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, _, _, _) => true, // checked below, against what the relay printed
        });
        var served = TlsCertificates.Sha256Fingerprint(tls.RemoteCertificate!);
        Assert.True(served.Matches(printed), $"served {served}, printed {fixture.PrintedFingerprint}");
        Assert.Equal(served.ToString(), fixture.PrintedFingerprint);
    }

    /// <summary>coturn's client over TLS (-t -S) to our TLS listener; -c until the relay reserves RTP/RTCP port pairs.</summary>
    [Fact]
    public Task Turnutils_uclient_relays_over_tls_without_loss() => AssertUclientRelaysWithoutLoss("-t", "-S");
}
