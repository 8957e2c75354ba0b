using P2P.Actors.Tests.Support;
using P2P.Actors.Turn;
using P2P.Host.Commands;
using P2P.Protocol.Dtls;
using Xunit;
using Xunit.Abstractions;

namespace P2P.Actors.Tests.Turn;

/// <summary>
/// <c>--turn</c> as a host or a TURN URI (RFC 7065: turn:, turn:?transport=tcp, turns:), with <c>--turn-port</c>,
/// <c>--turn-tcp</c>, <c>--turn-tls</c>, <c>--turn-ca</c> and <c>--turn-fingerprint</c>: what each spelling means, and one
/// sentence for each one that is wrong, in the chat and in <c>p2p host</c>.
/// </summary>
public sealed class TurnTlsOptionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("turns:relay.example:443", null, false, false, "relay.example", 443, TurnTransport.Tls)]
    [InlineData("turns:relay.example", null, false, false, "relay.example", 5349, TurnTransport.Tls)] // RFC 7065 §3
    [InlineData("TURNS:relay.example?transport=tcp", null, false, false, "relay.example", 5349, TurnTransport.Tls)]
    [InlineData("turns://relay.example:443", null, false, false, "relay.example", 443, TurnTransport.Tls)]
    [InlineData("turns:relay.example", 8443, false, false, "relay.example", 8443, TurnTransport.Tls)]
    [InlineData("turn:relay.example", null, false, false, "relay.example", 3478, TurnTransport.Udp)]
    [InlineData("turn:relay.example:3479?transport=tcp", null, false, false, "relay.example", 3479, TurnTransport.Tcp)]
    [InlineData("turn:relay.example?transport=udp", null, false, false, "relay.example", 3478, TurnTransport.Udp)]
    [InlineData("turn:relay.example", null, true, false, "relay.example", 3478, TurnTransport.Tcp)]
    [InlineData("turns:[2001:db8::1]:443", null, false, false, "2001:db8::1", 443, TurnTransport.Tls)]
    [InlineData("turn:192.0.2.7:3478", 3478, false, false, "192.0.2.7", 3478, TurnTransport.Udp)]
    [InlineData("relay.example", null, false, false, "relay.example", 3478, TurnTransport.Udp)]
    [InlineData("relay.example", 3479, true, false, "relay.example", 3479, TurnTransport.Tcp)]
    [InlineData("relay.example", null, false, true, "relay.example", 5349, TurnTransport.Tls)]
    [InlineData("relay.example", 443, false, true, "relay.example", 443, TurnTransport.Tls)]
    [InlineData("relay.example:443", null, false, true, "relay.example", 443, TurnTransport.Tls)]
    [InlineData("2001:db8::1", null, false, false, "2001:db8::1", 3478, TurnTransport.Udp)]
    public void Each_spelling_names_a_host_port_and_transport(string value, int? port, bool tcp, bool tls, string host, int expectedPort, TurnTransport transport)
    {
        Assert.True(TurnCommandLine.TryParse(value, port, tcp, tls, out var target, out string error), error);
        Assert.Equal(new TurnTarget(host, expectedPort, transport), target);
    }

    [Theory]
    [InlineData("turns:relay.example?transport=udp", null, false, false, "turns: over UDP is TURN over DTLS, which p2p does not speak")]
    [InlineData("turn:relay.example?transport=sctp", null, false, false, "the only query RFC 7065 allows is ?transport=udp or ?transport=tcp")]
    [InlineData("turn:relay.example", null, false, true, "--turn-tls conflicts with --turn 'turn:relay.example': write turns:host:port for TLS")]
    [InlineData("turn:relay.example?transport=udp", null, true, false, "--turn-tcp conflicts with --turn")]
    [InlineData("turns:relay.example:443", 5349, false, false, "--turn-port 5349 conflicts with the port 443 in --turn 'turns:relay.example:443'")]
    [InlineData("turns:", null, false, false, "no host")]
    [InlineData("turns:relay.example:", null, false, false, "the port must be a number between 1 and 65535, not ''")]
    [InlineData("turns:relay.example:70000", null, false, false, "the port must be a number between 1 and 65535, not '70000'")]
    [InlineData("turns:relay.example:https", null, false, false, "not 'https'")]
    [InlineData("turn:2001:db8::1:3478", null, false, false, "put an IPv6 address in brackets")]
    [InlineData("turns:[2001:db8::1", null, false, false, "no ']' after the IPv6 address")]
    [InlineData("stun:relay.example", null, false, false, "unknown scheme 'stun:'; a TURN URI is turn:host[:port] or turns:host[:port] (RFC 7065)")]
    [InlineData("https://relay.example", null, false, false, "unknown scheme 'https:'")]
    [InlineData("turns:relay example", null, false, false, "'relay example' is not a host name or address")]
    public void A_bad_spelling_is_a_sentence(string value, int? port, bool tcp, bool tls, string expected)
    {
        Assert.False(TurnCommandLine.TryParse(value, port, tcp, tls, out _, out string error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Tls_options_carry_the_host_as_server_name_and_the_pin_or_the_ca()
    {
        using var certificates = TurnTlsCertificates.Create();
        var target = new TurnTarget("relay.example", 443, TurnTransport.Tls);
        var fingerprint = CertificateFingerprint.ComputeSha256(certificates.SelfSigned.Certificate.RawData);

        Assert.True(TurnCommandLine.TryTls(target, null, null, out var system, out _));
        Assert.Equal("relay.example", system!.ServerName);
        Assert.Empty(system.TrustedAuthorities);
        Assert.Null(system.PinnedFingerprint);
        Assert.Equal("pass --turn-ca or --turn-fingerprint", system.UntrustedAdvice);

        foreach (var typed in new[] { $"sha-256:{fingerprint.Hex}", $"sha-256 {fingerprint.Hex}", fingerprint.Hex.ToLowerInvariant() })
        {
            Assert.True(TurnCommandLine.TryTls(target, null, typed, out var pinned, out string error), error);
            Assert.True(pinned!.PinnedFingerprint!.Matches(fingerprint), typed);
        }

        Assert.True(TurnCommandLine.TryTls(target, certificates.AuthorityFile, null, out var withCa, out string caError), caError);
        Assert.Equal("CN=p2p test CA", Assert.Single(withCa!.TrustedAuthorities).Subject);

        Assert.True(TurnCommandLine.TryTls(target with { Transport = TurnTransport.Udp }, null, null, out var none, out _));
        Assert.Null(none);
    }

    [Theory]
    [InlineData(TurnTransport.Udp, "ca", null, "--turn-ca needs a TLS TURN server: --turn turns:host[:port] or --turn-tls")]
    [InlineData(TurnTransport.Tcp, null, "AB", "--turn-fingerprint needs a TLS TURN server: --turn turns:host[:port] or --turn-tls")]
    [InlineData(TurnTransport.Tls, null, "sha-256:AB:CD", "--turn-fingerprint expects a SHA-256 fingerprint, 32 hex bytes (sha-256:AB:CD:...), not 'sha-256:AB:CD'")]
    [InlineData(TurnTransport.Tls, "ca", "sha-256:AB", "give --turn-ca or --turn-fingerprint, not both")]
    [InlineData(TurnTransport.Tls, "missing", null, "--turn-ca: cannot read the CA certificate")]
    [InlineData(TurnTransport.Tls, "key", null, "--turn-ca: '")]
    public void Bad_tls_options_are_a_sentence(TurnTransport transport, string? ca, string? fingerprint, string expected)
    {
        using var certificates = TurnTlsCertificates.Create();
        string? file = ca switch
        {
            "ca" => certificates.AuthorityFile,
            "key" => certificates.SelfSigned.KeyFile, // a PEM file without a certificate
            "missing" => Path.Combine(certificates.Folder, "missing.pem"),
            _ => null,
        };
        Assert.False(TurnCommandLine.TryTls(new TurnTarget("relay.example", 443, transport), file, fingerprint, out _, out string error));
        Assert.StartsWith(expected, error);
    }

    [Theory]
    [InlineData("", "--turn turns:relay.example:443?transport=udp --turn-user u --turn-pass p", "turns: over UDP is TURN over DTLS")]
    [InlineData("", "--turn turn:relay.example --turn-tls --turn-user u --turn-pass p", "--turn-tls conflicts with --turn 'turn:relay.example'")]
    [InlineData("", "--turn relay.example --turn-ca /nonexistent/ca.pem --turn-user u --turn-pass p", "--turn-ca needs a TLS TURN server")]
    [InlineData("", "--turn-tls", "--turn-tls needs --turn <server>")]
    [InlineData("", "--turn turns:relay.example --turn-fingerprint xyz --turn-user u --turn-pass p", "--turn-fingerprint expects a SHA-256 fingerprint")]
    [InlineData("host", "--turn turns:relay.example:443 --turn-port 3478 --turn-user u --turn-pass p", "--turn-port 3478 conflicts with the port 443")]
    [InlineData("host", "--turn stun:relay.example --turn-user u --turn-pass p", "unknown scheme 'stun:'")]
    [InlineData("host", "--turn turns:relay.example --turn-ca /nonexistent/ca.pem --turn-user u --turn-pass p", "--turn-ca: cannot read the CA certificate '/nonexistent/ca.pem'")]
    public async Task The_chat_and_p2p_host_refuse_a_bad_turn_option_with_one_sentence_and_exit_code_2(string command, string args, string expected)
    {
        string[] arguments = [.. command.Length > 0 ? new[] { command } : [], .. args.Split(' ')];
        var result = await Processes.Run(Processes.Dotnet([Processes.P2pDll, .. arguments]), Wait);
        output.WriteLine(result.ToString());
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData("")]
    [InlineData("host")]
    public async Task The_help_lists_the_tls_options_and_the_tls_default_port(string command)
    {
        var result = await Processes.Run(Processes.Dotnet([Processes.P2pDll, .. command.Length > 0 ? new[] { command, "--help" } : ["--help"]]), Wait);
        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[] { "--turn-tls", "--turn-ca <file>", "--turn-fingerprint <sha-256>", "--turn-tcp" })
            Assert.Contains(option, result.Stdout);
        Assert.Contains("turns:host[:port]", result.Stdout);
        Assert.Contains("5349", result.Stdout);
    }
}
