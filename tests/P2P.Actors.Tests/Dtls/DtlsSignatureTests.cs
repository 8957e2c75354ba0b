using System.Security.Cryptography;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using P2P.Actors.Dtls;
using P2P.Actors.Transport;
using P2P.Protocol.Dtls;
using Xunit;
using Xunit.Abstractions;
using DtlsProtocol = P2P.Actors.Dtls.DtlsProtocol;
using DtlsTransport = P2P.Actors.Dtls.DtlsTransport;
using HashAlgorithm = Org.BouncyCastle.Tls.HashAlgorithm;

namespace P2P.Actors.Tests.Dtls;

/// <summary>
/// The handshake's ECDSA signatures are made and checked by .NET (<see cref="NativeTlsCrypto"/>,
/// <see cref="NativeEcdsaSigner"/>). A certificate whose fingerprint matches proves nothing unless the peer also
/// proves it holds the certificate's private key (ServerKeyExchange, CertificateVerify; RFC 5246 §7.4.3, §7.4.8):
/// these tests check that a signature that does not come from that key is refused, by the verifier alone and in a
/// whole handshake against a peer (built on BouncyCastle alone) that presents one certificate and signs with another key.
/// </summary>
public sealed class DtlsSignatureTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);
    private static readonly DtlsSettings Fast = DtlsSettings.Default with { InitialRetransmit = TimeSpan.FromMilliseconds(200), HandshakeTimeout = TimeSpan.FromSeconds(10) };
    private static readonly DtlsCertificate Ours = DtlsCertificate.Generate();
    private static readonly DtlsCertificate Theirs = DtlsCertificate.Generate();
    private static readonly DtlsCertificate Stranger = DtlsCertificate.Generate();
    private static readonly SignatureAndHashAlgorithm EcdsaSha256 = new(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa);

    // ---------------------------------------------------------------- the verifier alone

    private static TlsVerifier OurVerifierFor(DtlsCertificate certificate) =>
        new NativeTlsCrypto(new SecureRandom()).CreateCertificate(CertificateType.X509, certificate.Der.ToArray()).CreateVerifier(SignatureAlgorithm.ecdsa);

    /// <summary>A DER ECDSA signature over <paramref name="hash"/> made by BouncyCastle, independently of the code under test.</summary>
    private static byte[] BouncyCastleSign(AsymmetricKeyParameter key, byte[] hash)
    {
        var signer = SignerUtilities.GetSigner("NONEwithECDSA");
        signer.Init(true, new ParametersWithRandom(key, new SecureRandom()));
        signer.BlockUpdate(hash, 0, hash.Length);
        return signer.GenerateSignature();
    }

    private static bool BouncyCastleVerify(DtlsCertificate certificate, byte[] hash, byte[] signature)
    {
        var verifier = SignerUtilities.GetSigner("NONEwithECDSA");
        verifier.Init(false, certificate.Certificate.GetPublicKey());
        verifier.BlockUpdate(hash, 0, hash.Length);
        return verifier.VerifySignature(signature);
    }

    [Fact]
    public void The_verifier_accepts_a_signature_by_the_certificates_key_and_refuses_every_other()
    {
        var hash = SHA256.HashData("handshake transcript"u8);
        var good = BouncyCastleSign(Theirs.PrivateKey, hash);
        var verifier = OurVerifierFor(Theirs);
        Assert.Null(verifier.GetStreamVerifier(new DigitallySigned(EcdsaSha256, good)));   // the raw path is the one BouncyCastle takes
        Assert.True(verifier.VerifyRawSignature(new DigitallySigned(EcdsaSha256, good), hash));

        var tampered = (byte[])good.Clone();
        tampered[^1] ^= 0x01;   // last byte of s: still a well-formed DER sequence, just the wrong number
        Assert.False(verifier.VerifyRawSignature(new DigitallySigned(EcdsaSha256, tampered), hash));

        var byAnotherKey = BouncyCastleSign(Stranger.PrivateKey, hash);
        Assert.False(verifier.VerifyRawSignature(new DigitallySigned(EcdsaSha256, byAnotherKey), hash));

        var otherHash = SHA256.HashData("another transcript"u8);
        Assert.False(verifier.VerifyRawSignature(new DigitallySigned(EcdsaSha256, good), otherHash));

        Assert.False(verifier.VerifyRawSignature(new DigitallySigned(EcdsaSha256, good[..^4]), hash));   // cut short: not DER at all
        Assert.False(verifier.VerifyRawSignature(new DigitallySigned(EcdsaSha256, new byte[good.Length]), hash));
    }

    [Fact]
    public void Our_signer_makes_signatures_BouncyCastle_accepts_for_our_certificate_only()
    {
        var hash = SHA256.HashData("handshake transcript"u8);
        var signature = new NativeEcdsaSigner(Ours.NativeKey!.Value).GenerateRawSignature(EcdsaSha256, hash);
        Assert.True(BouncyCastleVerify(Ours, hash, signature));
        Assert.False(BouncyCastleVerify(Stranger, hash, signature));
        Assert.True(OurVerifierFor(Ours).VerifyRawSignature(new DigitallySigned(EcdsaSha256, signature), hash));
        Assert.False(OurVerifierFor(Stranger).VerifyRawSignature(new DigitallySigned(EcdsaSha256, signature), hash));
    }

    // ---------------------------------------------------------------- a whole handshake against a peer that lies

    /// <summary>
    /// Our <see cref="DtlsTransport"/> in <paramref name="ourRole"/> against a BouncyCastle-only peer presenting
    /// <see cref="Theirs"/> (whose fingerprint we expect) and signing its handshake with <paramref name="signingKey"/>.
    /// Returns what our side reported first: Connected or Failed.
    /// </summary>
    private object HandshakeAgainstPeerSigningWith(DtlsRole ourRole, AsymmetricKeyParameter signingKey)
    {
        IActorRef ours = ActorRefs.Nobody;
        var peerTransport = new QueuedDatagramTransport(Fast.SendLimit, Fast.ReceiveLimit, Fast.ReceiveQueue,
            datagram => ours.Tell(new DatagramProtocol.Received(datagram.ToArray())));
        var events = CreateTestProbe();
        var wire = Sys.ActorOf(Akka.Actor.Props.Create(() => new BouncyCastlePeer.ToPeer(peerTransport)));
        ours = Sys.ActorOf(DtlsTransport.Props(ourRole, Ours, Theirs.Fingerprint, new DatagramLink(wire), Fast, events.Ref));
        var peer = Task.Factory.StartNew(() =>
        {
            if (ourRole == DtlsRole.Client) new DtlsServerProtocol().Accept(BouncyCastlePeer.Server(Theirs, signingKey, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), peerTransport);
            else new DtlsClientProtocol().Connect(BouncyCastlePeer.Client(Theirs, signingKey, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), peerTransport);
        }, TaskCreationOptions.LongRunning);
        try
        {
            var outcome = events.FishForMessage(m => m is DtlsProtocol.Connected or DtlsProtocol.Failed, Generous);
            Output?.WriteLine($"our {ourRole}: {outcome}; the peer: {(peer.IsFaulted ? peer.Exception!.InnerException!.Message : peer.Status.ToString())}");
            return outcome;
        }
        finally
        {
            peerTransport.Close();   // ends the peer's handshake thread if it still waits
        }
    }

    [Theory]
    [InlineData(DtlsRole.Client)]   // the peer's ServerKeyExchange is what we check
    [InlineData(DtlsRole.Server)]   // the peer's CertificateVerify is what we check
    public void A_peer_that_signs_with_its_certificates_key_connects(DtlsRole ourRole)
    {
        var outcome = HandshakeAgainstPeerSigningWith(ourRole, Theirs.PrivateKey);
        var connected = Assert.IsType<DtlsProtocol.Connected>(outcome);
        Assert.Equal(Theirs.Fingerprint.Hex, connected.RemoteFingerprint);
    }

    [Theory]
    [InlineData(DtlsRole.Client)]
    [InlineData(DtlsRole.Server)]
    public void A_peer_with_the_expected_certificate_but_another_signing_key_is_refused(DtlsRole ourRole)
    {
        var outcome = HandshakeAgainstPeerSigningWith(ourRole, Stranger.PrivateKey);
        var failed = Assert.IsType<DtlsProtocol.Failed>(outcome);
        Assert.Contains("decrypt_error", failed.Reason);   // RFC 5246 §7.2.2: a signature that cannot be verified
    }
}
