using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using P2P.Protocol.Dtls;

namespace P2P.Host.Direct;

/// <summary>
/// <c>p2p --no-ice --secure</c>: TLS 1.3 (RFC 8446) through <see cref="SslStream"/> over the chat's TCP connection.
/// Each side brings a fresh self-signed ECDSA P-256 certificate; the server asks for the client's, so both are
/// authenticated, by fingerprint (there is no certificate authority between two people chatting).
/// </summary>
public static class MutualTls
{
    public const string NotTlsSentence = "The other side did not answer TLS: run both sides with --secure, or neither.";

    /// <summary>A self-signed ECDSA P-256 certificate for this run, valid from yesterday for 30 days.</summary>
    public static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=p2p", key, HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        using var ephemeral = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        // Through PKCS#12 so that the private key is usable by SslStream on every platform (Windows wants it stored).
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>
    /// Runs the handshake as server (<paramref name="server"/>) or client over <paramref name="transport"/> and
    /// returns the TLS stream; prints the peer's fingerprint and what was negotiated (protocol, cipher suite) on
    /// <paramref name="status"/>. Every failure becomes a <see cref="DirectFailure"/> with one sentence: the other side
    /// not speaking TLS, a fingerprint that is not <paramref name="expected"/>, a refused handshake, no handshake
    /// within <paramref name="handshakeTimeout"/>.
    /// </summary>
    public static async Task<SslStream> AuthenticateAsync(Stream transport, bool server, X509Certificate2 certificate,
        CertificateFingerprint? expected, TimeSpan handshakeTimeout, TextWriter status, Serilog.ILogger log, CancellationToken cancel)
    {
        var sniffing = new SniffingStream(transport);
        string? refusal = null;
        CertificateFingerprint? seen = null;
        bool Validate(object sender, X509Certificate? remote, X509Chain? chain, SslPolicyErrors errors)
        {
            // Self-signed on both sides: the chain means nothing, the fingerprint is the identity.
            if (remote is null)
            {
                refusal = "Refused the connection: the other side sent no certificate.";
                return false;
            }
            var actual = CertificateFingerprint.ComputeSha256(remote.GetRawCertData());
            seen = actual;
            if (expected is { } wanted && !wanted.Matches(actual))
            {
                refusal = $"Refused the connection: the other side's certificate is sha-256 {actual.Hex}, not sha-256 {wanted.Hex} as given with --peer-fingerprint.";
                return false;
            }
            return true;
        }

        var tls = new SslStream(sniffing, leaveInnerStreamOpen: false, Validate);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(handshakeTimeout);
        log.Debug("TLS handshake as {TlsRole}", server ? "server" : "client");
        try
        {
            if (server)
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = certificate,
                    ClientCertificateRequired = true,
                    EnabledSslProtocols = SslProtocols.Tls13,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                }, timeout.Token).ConfigureAwait(false);
            else
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "p2p",
                    ClientCertificates = [certificate],
                    EnabledSslProtocols = SslProtocols.Tls13,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            if (cancel.IsCancellationRequested) throw new OperationCanceledException(cancel);
            throw new DirectFailure(refusal ?? Explain(e, sniffing.SawTls, handshakeTimeout));
        }
        await ConfirmAsync(tls, server, timeout.Token, cancel).ConfigureAwait(false);
        var protocol = Describe(tls.SslProtocol);
        var cipherSuite = tls.NegotiatedCipherSuite.ToString();
        log.Information("TLS established: {TlsProtocol} {CipherSuite}, peer certificate sha-256 {PeerFingerprint}", protocol, cipherSuite, seen?.Hex);
        if (seen is { } peer) await status.WriteLineAsync($"Peer certificate: sha-256 {peer.Hex} ({protocol}, {cipherSuite})").ConfigureAwait(false);
        return tls;
    }

    /// <summary>The server's word that it accepted the client's certificate (ASCII ACK), the first byte after the handshake.</summary>
    public const byte Accepted = 0x06;

    /// <summary>
    /// In TLS 1.3 the client's handshake is over before the server has judged the client's certificate (RFC 8446 §2:
    /// the client's Certificate and Finished are its last flight), so a server that refuses a pinned fingerprint looks,
    /// to the client, like a connection that works and then closes. The server therefore sends <see cref="Accepted"/>
    /// once it has accepted, and the client waits for it before it says Connected: anything else is a refusal, told as one.
    /// </summary>
    private static async Task ConfirmAsync(SslStream tls, bool server, CancellationToken timeout, CancellationToken cancel)
    {
        if (server)
        {
            await tls.WriteAsync(new[] { Accepted }, timeout).ConfigureAwait(false);
            await tls.FlushAsync(timeout).ConfigureAwait(false);
            return;
        }
        var verdict = new byte[1];
        int n;
        try
        {
            n = await tls.ReadAsync(verdict, timeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            if (cancel.IsCancellationRequested) throw new OperationCanceledException(cancel);
            n = 0;
        }
        if (n == 1 && verdict[0] == Accepted) return;
        await tls.DisposeAsync().ConfigureAwait(false);
        throw new DirectFailure(n == 0
            ? Conversation.SecureRefusedSentence
            : "The other side did not confirm the secure connection: run the same p2p version on both sides.");
    }

    /// <summary>"TLS 1.3" for <see cref="SslProtocols.Tls13"/> (the only one enabled), the enum's name otherwise.</summary>
    public static string Describe(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "TLS 1.3",
        SslProtocols.Tls12 => "TLS 1.2",
        _ => protocol.ToString(),
    };

    private static string Explain(Exception e, bool sawTls, TimeSpan handshakeTimeout)
    {
        if (!sawTls && e is OperationCanceledException)
            return $"The other side did not answer TLS within {handshakeTimeout.TotalSeconds:0.###} s: run both sides with --secure, or neither.";
        if (!sawTls) return NotTlsSentence;
        if (e is OperationCanceledException) return $"The TLS handshake did not finish within {handshakeTimeout.TotalSeconds:0.###} s.";
        return "The other side ended the TLS handshake: it may have been given a --peer-fingerprint that is not your certificate's.";
    }
}
