using P2P.Actors.Tests.Support;
using P2P.Protocol.Dtls;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// The chat as users run it, relaying through coturn's TLS listener only (<c>--relay-only --turn turns:…</c>): both peers
/// reach the TURN server over TLS with its certificate pinned or its CA given, and lines cross; an untrusted certificate
/// is one sentence on the chat's error output, and the run goes on.
/// </summary>
public sealed class TurnTlsChatTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly TurnTlsCertificates _certificates = TurnTlsCertificates.Create();
    private CoturnServer _coturn = null!;

    public async Task InitializeAsync() =>
        _coturn = await CoturnServer.StartAsync(new CoturnOptions { Tls = (_certificates.CaSigned.CertificateFile, _certificates.CaSigned.KeyFile) });

    public async Task DisposeAsync()
    {
        output.WriteLine("---- coturn log ----");
        output.WriteLine(_coturn.Log);
        await _coturn.DisposeAsync();
        _certificates.Dispose();
    }

    private string[] Turn(params string[] trust) =>
    [
        "--stun", "none", "--local-address", "127.0.0.1", "--relay-only",
        "--turn", $"turns:127.0.0.1:{_coturn.TlsEndPoint!.Port}", "--turn-user", _coturn.Username, "--turn-pass", _coturn.Password, .. trust,
    ];

    [Fact]
    public async Task Two_relay_only_chats_through_coturns_tls_listener_cross_lines()
    {
        var pin = CertificateFingerprint.ComputeSha256(_certificates.CaSigned.Certificate.RawData);
        await using var server = P2pProcess.Start(["-s", .. Turn("--turn-fingerprint", $"sha-256:{pin.Hex}")]);
        await using var client = P2pProcess.Start(Turn("--turn-ca", _certificates.AuthorityFile));
        try
        {
            await P2pProcess.ChatThroughRelayAsync(server, client, "through coturn over TLS", "and back", Wait);
            // both allocations were made on coturn's TLS listener
            int overTls = System.Text.RegularExpressions.Regex.Count(_coturn.Log, "new, realm=<r>, username=<u>, .*method=TLSv1\\.[23]");
            Assert.True(overTls >= 2, $"{overTls} allocations over TLS");
        }
        finally
        {
            output.WriteLine(server.Transcript);
            output.WriteLine(client.Transcript);
        }
    }

    [Fact]
    public async Task An_untrusted_certificate_is_one_sentence_that_says_what_to_pass_and_the_run_goes_on()
    {
        // not --relay-only: the host candidates still make a description
        string[] arguments = [.. Turn().Where(a => a != "--relay-only")];
        await using var p2p = P2pProcess.Start(["-s", "--plain", .. arguments]);
        try
        {
            var sentence = await p2p.WaitForLineAsync(l => l.StartsWith("p2p: TLS handshake", StringComparison.Ordinal), Wait, NicePeerStream.Stderr);
            Assert.Equal($"p2p: TLS handshake with the TURN server {_coturn.TlsEndPoint} failed: certificate not trusted; pass --turn-ca or --turn-fingerprint.",
                sentence);
            var block = await p2p.ReadLocalDescriptionAsync(Wait);
            Assert.Contains("typ host", block);
            Assert.DoesNotContain("typ relay", block);
            Assert.Single(p2p.Transcript.Split('\n'), l => l.Contains("TLS handshake", StringComparison.Ordinal)); // once
        }
        finally
        {
            output.WriteLine(p2p.Transcript);
        }
    }
}
