using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using P2P.Protocol.Dtls;

namespace P2P.Actors.Dtls;

/// <summary>
/// The self-signed certificate a peer presents in every DTLS handshake (RFC 8827 §6.5: WebRTC
/// endpoints use self-signed certificates and are authenticated by the fingerprint carried in the
/// signalled description, RFC 8122). ECDSA on P-256 with SHA-256 (what browsers generate by
/// default), a random 64-bit serial, subject and issuer "CN=p2p", valid from one day before
/// creation (tolerating clock skew) to 30 days after. Everything is made by BouncyCastle.
/// Create it once per peer and share it between that peer's sessions: the object is immutable, and
/// the fingerprint in every description the peer sends stays the same.
/// </summary>
public sealed class DtlsCertificate
{
    /// <summary>The subject and issuer distinguished name.</summary>
    public const string SubjectName = "CN=p2p";

    /// <summary>How long a generated certificate is valid after its creation.</summary>
    public static readonly TimeSpan Validity = TimeSpan.FromDays(30);

    private readonly byte[] _der;

    private DtlsCertificate(X509Certificate certificate, AsymmetricKeyParameter privateKey)
    {
        Certificate = certificate;
        PrivateKey = privateKey;
        _der = certificate.GetEncoded();
        Fingerprint = CertificateFingerprint.ComputeSha256(_der);
        if (privateKey is ECPrivateKeyParameters d && certificate.GetPublicKey() is ECPublicKeyParameters q && NativeTlsCrypto.CurveOf(q) is { } curve)
            NativeKey = new System.Security.Cryptography.ECParameters
            {
                Curve = curve,
                D = Org.BouncyCastle.Utilities.BigIntegers.AsUnsignedByteArray(32, d.D),
                Q = NativeTlsCrypto.PointOf(q),
            };
    }

    /// <summary>The key pair as .NET's <see cref="System.Security.Cryptography.ECDsa"/> imports it (to sign the handshake); null off P-256.</summary>
    internal System.Security.Cryptography.ECParameters? NativeKey { get; }

    /// <summary>The X.509 certificate (BouncyCastle's type).</summary>
    public X509Certificate Certificate { get; }

    /// <summary>The ECDSA P-256 private key that signs the handshake (ServerKeyExchange / CertificateVerify).</summary>
    public AsymmetricKeyParameter PrivateKey { get; }

    /// <summary>The DER encoding, as sent in the handshake's Certificate message.</summary>
    public ReadOnlyMemory<byte> Der => _der;

    /// <summary>SHA-256 of <see cref="Der"/>: what goes into "a=fingerprint:sha-256 …" of the local description.</summary>
    public CertificateFingerprint Fingerprint { get; }

    public DateTime NotBefore => Certificate.NotBefore;

    public DateTime NotAfter => Certificate.NotAfter;

    /// <summary>Generates a fresh key pair and certificate (a few milliseconds: do it once per peer, not per session).</summary>
    public static DtlsCertificate Generate(DateTimeOffset? now = null)
    {
        var random = new SecureRandom();
        var generator = new ECKeyPairGenerator("ECDSA");
        generator.Init(new ECKeyGenerationParameters(SecObjectIdentifiers.SecP256r1, random));
        AsymmetricCipherKeyPair keys = generator.GenerateKeyPair();

        // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 64 random bits, top bit set so it is never zero.
        var serialBytes = new byte[8];
        random.NextBytes(serialBytes);
        serialBytes[0] |= 0x80;
        var serial = new BigInteger(1, serialBytes);

        var created = (now ?? DateTimeOffset.UtcNow).UtcDateTime;
        var name = new X509Name(SubjectName);
        var builder = new X509V3CertificateGenerator();
        builder.SetSerialNumber(serial);
        builder.SetIssuerDN(name);
        builder.SetSubjectDN(name);
        builder.SetNotBefore(created - TimeSpan.FromDays(1));
        builder.SetNotAfter(created + Validity);
        builder.SetPublicKey(keys.Public);
        var certificate = builder.Generate(new Asn1SignatureFactory("SHA256WITHECDSA", keys.Private, random));
        return new DtlsCertificate(certificate, keys.Private);
    }

    public override string ToString() => $"{SubjectName} {Fingerprint}";
}
