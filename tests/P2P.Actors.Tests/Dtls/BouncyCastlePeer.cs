using Akka.Actor;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using P2P.Actors.Dtls;
using P2P.Actors.Transport;
using DtlsProtocol = P2P.Actors.Dtls.DtlsProtocol;
using HashAlgorithm = Org.BouncyCastle.Tls.HashAlgorithm;

namespace P2P.Actors.Tests.Dtls;

/// <summary>
/// The other end for tests of our <see cref="P2P.Actors.Dtls.DtlsTransport"/>: a DTLS 1.2 peer built on BouncyCastle alone
/// (its own <see cref="BcTlsCrypto"/>: its signatures and its GCM, none of ours), offering one cipher suite, presenting
/// one certificate and signing its handshake with a key of the test's choice (the certificate's own, or another one).
/// Its datagrams go through a <see cref="QueuedDatagramTransport"/>; ours reach it through <see cref="ToPeer"/>.
/// </summary>
internal static class BouncyCastlePeer
{
    public static TlsServer Server(DtlsCertificate presented, AsymmetricKeyParameter signingKey, int suite) => new BcServer(presented, signingKey, suite);

    public static TlsClient Client(DtlsCertificate presented, AsymmetricKeyParameter signingKey, int suite) => new BcClient(presented, signingKey, suite);

    /// <summary>Carries our transport's datagrams to the BouncyCastle peer's datagram transport.</summary>
    public sealed class ToPeer : ReceiveActor
    {
        public ToPeer(QueuedDatagramTransport peer) => Receive<DatagramProtocol.Send>(m => peer.Offer(m.Datagram.ToArray()));
    }

    private static TlsCredentialedSigner Credentials(TlsContext context, BcTlsCrypto crypto, DtlsCertificate presented, AsymmetricKeyParameter signingKey) =>
        new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, signingKey,
            new Certificate([crypto.CreateCertificate(presented.Der.ToArray())]), new SignatureAndHashAlgorithm(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));

    private sealed class BcServer(DtlsCertificate presented, AsymmetricKeyParameter signingKey, int suite) : DefaultTlsServer(new BcTlsCrypto(new SecureRandom()))
    {
        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => [suite];

        protected override TlsCredentialedSigner GetECDsaSignerCredentials() => Credentials(m_context, (BcTlsCrypto)Crypto, presented, signingKey);
    }

    private sealed class BcClient(DtlsCertificate presented, AsymmetricKeyParameter signingKey, int suite) : DefaultTlsClient(new BcTlsCrypto(new SecureRandom()))
    {
        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => [suite];

        public override TlsAuthentication GetAuthentication() => new Authentication(this);

        private sealed class Authentication(BcClient client) : TlsAuthentication
        {
            public void NotifyServerCertificate(TlsServerCertificate serverCertificate) { }

            public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) =>
                Credentials(client.m_context, (BcTlsCrypto)client.Crypto, client._presented, client._signingKey);
        }

        private readonly DtlsCertificate _presented = presented;
        private readonly AsymmetricKeyParameter _signingKey = signingKey;
    }
}
