using System.Net;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using P2P.Actors.Tests.Support;
using P2P.Actors.Transport.Tls;
using P2P.Actors.Turn;
using P2P.Protocol.Dtls;
using Xunit;
using Xunit.Abstractions;
using static P2P.Actors.Turn.TurnClientProtocol;
using static P2P.Actors.Tests.Turn.TurnOverTcpScenario;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// The TURN client allocating through a real coturn's TLS listener (RFC 8656 §3.1, RFC 8489 §6.2.3;
/// <c>turnserver --cert --pkey --tls-listening-port</c>) with certificates made in the test: trusted by a pinned
/// fingerprint or by the CA given for it, and refused, with the sentence the user reads, when neither vouches for it.
/// </summary>
public sealed class TurnTlsCoturnTests : TestKit, IAsyncLifetime
{
    private const string Advice = "pass --turn-ca or --turn-fingerprint";

    private readonly ITestOutputHelper _output;
    private readonly TurnTlsCertificates _certificates = TurnTlsCertificates.Create();
    private CoturnServer? _coturn;

    public TurnTlsCoturnTests(ITestOutputHelper output) : base(string.Empty, output) => _output = output;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_coturn is not null)
        {
            _output.WriteLine("---- coturn log ----");
            _output.WriteLine(_coturn.Log);
            await _coturn.DisposeAsync();
        }
        _certificates.Dispose();
    }

    private async Task<IPEndPoint> StartCoturn(TurnTlsCertificates.Issued certificate)
    {
        _coturn = await CoturnServer.StartAsync(new CoturnOptions { Tls = (certificate.CertificateFile, certificate.KeyFile) });
        return _coturn.TlsEndPoint!;
    }

    private static TlsClientOptions Options(string serverName = "127.0.0.1") => new(serverName) { UntrustedAdvice = Advice };

    private static TlsClientOptions Trusting(string authorityFile, string serverName = "127.0.0.1")
    {
        Assert.True(TlsClientOptions.TryLoadAuthorities(authorityFile, out var authorities, out string error), error);
        return Options(serverName) with { TrustedAuthorities = authorities };
    }

    private static TlsClientOptions Pinning(TurnTlsCertificates.Issued certificate) =>
        Options() with { PinnedFingerprint = CertificateFingerprint.ComputeSha256(certificate.Certificate.RawData) };

    private IActorRef StartAllocator(Akka.TestKit.TestProbe owner, IPEndPoint server, TlsClientOptions tls) =>
        Sys.ActorOf(TurnClient.PropsOverTcp(TurnClientSettings.From(TurnClientSettingsTests.RepoHocon()) with { BindChannels = false }, server,
            new TurnCredentials(_coturn!.Username, _coturn.Password), owner.Ref, tls));

    [Fact]
    public async Task Allocates_through_coturns_tls_listener_with_a_pinned_self_signed_certificate_and_relays()
    {
        var server = await StartCoturn(_certificates.SelfSigned);
        using var echo = new UdpEchoPeer();
        var owner = CreateTestProbe();
        var allocator = StartAllocator(owner, server, Pinning(_certificates.SelfSigned));

        var allocated = ExpectAllocated(owner, TurnTransport.Tls);
        Assert.InRange(allocated.Relayed.Port, _coturn!.MinRelayPort, _coturn.MaxRelayPort);
        Assert.Contains($"tcp or tls connected to: {allocated.Mapped}", _coturn.Log);
        Assert.Matches("new, realm=<r>, username=<u>, .*method=TLSv1\\.[23]", _coturn.Log); // coturn took the allocation over TLS

        RelaysBothWaysThenReleases(owner, allocator, echo, allocated);
    }

    [Fact]
    public async Task Allocates_when_the_ca_that_signed_the_servers_certificate_is_given_and_the_name_is_its_own()
    {
        var server = await StartCoturn(_certificates.CaSigned);
        using var echo = new UdpEchoPeer();
        var owner = CreateTestProbe();
        // SNI and the name check on the DNS name the certificate is for, reached at 127.0.0.1
        var allocator = StartAllocator(owner, server, Trusting(_certificates.AuthorityFile, TurnTlsCertificates.DnsName));

        var allocated = ExpectAllocated(owner, TurnTransport.Tls);

        RelaysBothWaysThenReleases(owner, allocator, echo, allocated);
    }

    [Fact]
    public async Task A_certificate_the_system_store_does_not_trust_fails_the_handshake_with_the_sentence_that_says_what_to_pass()
    {
        var server = await StartCoturn(_certificates.CaSigned);
        var owner = CreateTestProbe();
        StartAllocator(owner, server, Options());

        var failed = owner.ExpectMsg<AllocationFailed>(Generous);
        Assert.Equal($"TLS handshake with the TURN server {server} failed: certificate not trusted; {Advice}", failed.Reason);
        Assert.Null(failed.Code);
        Assert.DoesNotContain("delete: realm=<r>", _coturn!.Log); // no allocation was made
    }

    [Fact]
    public async Task Trusting_another_ca_does_not_trust_the_server()
    {
        var server = await StartCoturn(_certificates.CaSigned);
        var owner = CreateTestProbe();
        StartAllocator(owner, server, Trusting(_certificates.OtherAuthorityFile));

        var failed = owner.ExpectMsg<AllocationFailed>(Generous);
        Assert.Equal($"TLS handshake with the TURN server {server} failed: certificate not trusted; {Advice}", failed.Reason);
    }

    [Fact]
    public async Task A_pinned_fingerprint_that_is_not_the_servers_fails_even_with_its_ca_trusted()
    {
        var server = await StartCoturn(_certificates.CaSigned);
        var owner = CreateTestProbe();
        var pinned = CertificateFingerprint.ComputeSha256(_certificates.SelfSigned.Certificate.RawData);
        var actual = CertificateFingerprint.ComputeSha256(_certificates.CaSigned.Certificate.RawData);
        StartAllocator(owner, server, Trusting(_certificates.AuthorityFile) with { PinnedFingerprint = pinned });

        var failed = owner.ExpectMsg<AllocationFailed>(Generous);
        Assert.Equal($"TLS handshake with the TURN server {server} failed: certificate fingerprint {actual} is not the pinned {pinned}", failed.Reason);
    }

    [Fact]
    public async Task A_certificate_for_another_name_fails_with_its_trusted_ca()
    {
        var server = await StartCoturn(_certificates.CaSigned);
        var owner = CreateTestProbe();
        StartAllocator(owner, server, Trusting(_certificates.AuthorityFile, "elsewhere.test"));

        var failed = owner.ExpectMsg<AllocationFailed>(Generous);
        Assert.StartsWith($"TLS handshake with the TURN server {server} failed: certificate is not for 'elsewhere.test' (CN={TurnTlsCertificates.DnsName})",
            failed.Reason);
    }
}
