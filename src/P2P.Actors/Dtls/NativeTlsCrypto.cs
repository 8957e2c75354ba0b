using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using BcCertificate = Org.BouncyCastle.Tls.Crypto.Impl.BC.BcTlsCertificate;

namespace P2P.Actors.Dtls;

/// <summary>
/// BouncyCastle's TLS crypto with two operations handed to .NET (OpenSSL on Linux):
/// <list type="bullet">
/// <item>the ECDSA P-256 signatures of the handshake (ServerKeyExchange, CertificateVerify: two signed and two checked
/// per handshake, one after the other), made and checked by <see cref="ECDsa"/> instead of BouncyCastle's managed code:
/// ~0.6 ms each there on this machine, a small fraction of that here, and they lie on every session's connect path;</item>
/// <item>the AES-GCM of the AES_128_GCM and AES_256_GCM suites' records (<see cref="NativeAesGcm"/>), which every byte
/// of a data channel goes through twice: BouncyCastle still frames each record (nonce, additional data, layout),
/// .NET's <see cref="AesGcm"/> only encrypts and decrypts.</item>
/// </list>
/// Everything else, any other key type (an RSA certificate of an older peer) and any other cipher (ChaCha20-Poly1305)
/// stays BouncyCastle's. No cryptography is written here: only keys and bytes are handed from one library to the other.
/// </summary>
internal sealed class NativeTlsCrypto(SecureRandom random) : BcTlsCrypto(random)
{
    protected override TlsAeadCipher CreateCipher_Aes_Gcm(TlsCryptoParameters cryptoParams, int cipherKeySize, int macSize) =>
        NativeAesGcm.IsSupported && macSize == NativeAesGcm.TagSize
            ? new TlsAeadCipher(cryptoParams, new NativeAesGcm(encrypting: true), new NativeAesGcm(encrypting: false), cipherKeySize, macSize, TlsAeadCipher.AEAD_GCM)
            : base.CreateCipher_Aes_Gcm(cryptoParams, cipherKeySize, macSize);

    public override TlsCertificate CreateCertificate(short type, byte[] encoding) =>
        type == CertificateType.X509 ? new Certificate(this, encoding) : base.CreateCertificate(type, encoding);

    /// <summary>The P-256 curve as .NET names it, for a BouncyCastle key on it; null for any other curve.</summary>
    internal static ECCurve? CurveOf(ECKeyParameters key) =>
        key.PublicKeyParamSet is { } oid && oid.Equals(SecObjectIdentifiers.SecP256r1) ? ECCurve.NamedCurves.nistP256 : null;

    internal static ECPoint PointOf(ECPublicKeyParameters key)
    {
        var q = key.Q.Normalize();
        return new ECPoint { X = q.AffineXCoord.GetEncoded(), Y = q.AffineYCoord.GetEncoded() };
    }

    /// <summary>A peer's certificate: BouncyCastle's, whose ECDSA P-256 verifier is .NET's.</summary>
    private sealed class Certificate(BcTlsCrypto crypto, byte[] encoding) : BcCertificate(crypto, encoding)
    {
        public override TlsVerifier CreateVerifier(short signatureAlgorithm)
        {
            var verifier = base.CreateVerifier(signatureAlgorithm); // BouncyCastle's checks of the key and its usage
            if (signatureAlgorithm != SignatureAlgorithm.ecdsa) return verifier;
            var key = GetPubKeyEC();
            return CurveOf(key) is { } curve ? new Verifier(new ECParameters { Curve = curve, Q = PointOf(key) }) : verifier;
        }
    }

    /// <summary>Checks a TLS 1.2 ECDSA signature (DER, RFC 5246 §4.7) over the hash BouncyCastle computed.</summary>
    private sealed class Verifier(ECParameters key) : TlsVerifier
    {
        public TlsStreamVerifier? GetStreamVerifier(DigitallySigned digitallySigned) => null;

        public bool VerifyRawSignature(DigitallySigned digitallySigned, byte[] hash)
        {
            var algorithm = digitallySigned.Algorithm;
            if (algorithm is null || algorithm.Signature != SignatureAlgorithm.ecdsa) throw new TlsFatalAlert(AlertDescription.internal_error);
            using var ecdsa = ECDsa.Create(key);
            return ecdsa.VerifyHash(hash, digitallySigned.Signature, DSASignatureFormat.Rfc3279DerSequence);
        }
    }
}

/// <summary>Signs the handshake with our certificate's ECDSA P-256 key by .NET (see <see cref="NativeTlsCrypto"/>).</summary>
internal sealed class NativeEcdsaSigner(ECParameters key) : TlsSigner
{
    public byte[] GenerateRawSignature(SignatureAndHashAlgorithm algorithm, byte[] hash)
    {
        if (algorithm is null || algorithm.Signature != SignatureAlgorithm.ecdsa) throw new TlsFatalAlert(AlertDescription.internal_error);
        using var ecdsa = ECDsa.Create(key);
        return ecdsa.SignHash(hash, DSASignatureFormat.Rfc3279DerSequence);
    }

    public TlsStreamSigner? GetStreamSigner(SignatureAndHashAlgorithm algorithm) => null;
}
