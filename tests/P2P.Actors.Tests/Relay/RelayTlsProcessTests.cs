using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using P2P.Actors.Transport.Tls;
using P2P.Actors.Tests.Support;
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

/// <summary>The TLS options of `p2p relay` as a user meets them: wrong combinations and files give one sentence.</summary>
public sealed class RelayTlsCommandLineTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private async Task<string> FailsWithOneLine(int exitCode, params string[] args)
    {
        var result = await Processes.Run(Processes.Dotnet([Processes.P2pDll, "relay", "--listen", "127.0.0.1:0", .. args]), Timeout);
        output.WriteLine(result.ToString());
        Assert.False(result.TimedOut);
        Assert.Equal(exitCode, result.ExitCode);
        return Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Trim();
    }

    [Fact]
    public async Task Relay_help_explains_the_tls_options()
    {
        var result = await Processes.Run(Processes.Dotnet(Processes.P2pDll, "relay", "--help"), Timeout);
        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[] { "--tls-listen", "--cert", "--key" }) Assert.Contains(option, result.Stdout);
    }

    [Fact]
    public async Task Tls_options_that_do_not_fit_give_one_sentence_and_a_nonzero_exit()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"p2p-missing-{Guid.NewGuid():N}.pem");
        Assert.Equal("p2p relay: a TLS certificate needs both its certificate and its key file (--cert and --key).",
            await FailsWithOneLine(2, "--tls-listen", "127.0.0.1:0", "--cert", missing));
        Assert.Equal("p2p relay: --cert and --key need --tls-listen.", await FailsWithOneLine(2, "--cert", missing, "--key", missing));
        Assert.Equal($"p2p relay: the TLS certificate file {missing} does not exist.",
            await FailsWithOneLine(2, "--tls-listen", "127.0.0.1:0", "--cert", missing, "--key", missing));
        Assert.Contains("--tls-listen 'nowhere' is not an address with a port such as 127.0.0.1:5349",
            await FailsWithOneLine(2, "--tls-listen", "nowhere"));
    }
}
