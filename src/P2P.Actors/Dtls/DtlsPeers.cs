using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using Org.BouncyCastle.Security;
using P2P.Protocol.Dtls;

namespace P2P.Actors.Dtls;

/// <summary>
/// What both ends of our DTLS handshake share: the local certificate as BouncyCastle credentials,
/// the check of the remote certificate against the fingerprint from the remote description
/// (RFC 8122 §5, RFC 8827 §6.5), the cipher suites, and what the worker reads back afterwards.
/// </summary>
internal sealed class DtlsPeerState(DtlsCertificate certificate, CertificateFingerprint expected, DtlsSettings settings)
{
    /// <summary>ECDHE with ECDSA certificates and AEAD ciphers only (RFC 8827 §6.5 requires ECDHE and forward secrecy; RFC 9325 §4.2).</summary>
    public static readonly int[] CipherSuites =
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    public DtlsCertificate Certificate { get; } = certificate;

    public CertificateFingerprint Expected { get; } = expected;

    public DtlsSettings Settings { get; } = settings;

    /// <summary>Our sentence for the owner when the check failed (BouncyCastle only carries an alert code).</summary>
    public volatile string? VerificationFailure;

    /// <summary>The remote certificate's SHA-256 fingerprint, once checked.</summary>
    public volatile string? RemoteFingerprint;

    public volatile string? CipherSuiteName;

    public volatile bool CloseNotifyReceived;

    /// <summary>
    /// The SRTP protection profiles we name in use_srtp (RFC 5764 §4.1.2), in our order of preference:
    /// SRTP_AEAD_AES_128_GCM (RFC 7714), then SRTP_AES128_CM_HMAC_SHA1_80 (mandatory to implement, RFC 8827 §6.5).
    /// We carry no media, so the keys are never derived; the extension is negotiated only because peers
    /// expect it: browsers always offer it, and werift (0.24.x) moves its peer connection to "failed"
    /// ("need srtpProfile") after any handshake in which no SRTP profile was agreed, data channel or not.
    /// </summary>
    public static readonly int[] SrtpProfiles =
    [
        SrtpProtectionProfile.SRTP_AEAD_AES_128_GCM,
        SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80,
    ];

    /// <summary>The profile the handshake agreed on (use_srtp), or null when the peer did not take part.</summary>
    public volatile string? SrtpProfile;

    public static string NameOf(int suite) => suite switch
    {
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        _ => $"0x{suite:X4}",
    };

    public static string SrtpProfileName(int profile) => profile switch
    {
        SrtpProtectionProfile.SRTP_AEAD_AES_128_GCM => "SRTP_AEAD_AES_128_GCM",
        SrtpProtectionProfile.SRTP_AES128_CM_HMAC_SHA1_80 => "SRTP_AES128_CM_HMAC_SHA1_80",
        _ => $"0x{profile:X4}",
    };

    /// <summary>BouncyCastle credentials for our certificate: ECDSA P-256 with SHA-256 (ecdsa_secp256r1_sha256).</summary>
    public TlsCredentialedSigner Signer(TlsContext context, BcTlsCrypto crypto)
    {
        var chain = new Certificate([crypto.CreateCertificate(Certificate.Der.ToArray())]);
        var algorithm = new SignatureAndHashAlgorithm(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa);
        return Certificate.NativeKey is { } key
            ? new DefaultTlsCredentialedSigner(new TlsCryptoParameters(context), new NativeEcdsaSigner(key), chain, algorithm)
            : new BcDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), crypto, Certificate.PrivateKey, chain, algorithm);
    }

    /// <summary>
    /// Checks the peer's end-entity certificate against the expected fingerprint, in constant time,
    /// with the hash function the description named. A mismatch or a missing certificate is a fatal
    /// bad_certificate alert (RFC 5763 §5: the endpoint MUST check and MUST fail on mismatch).
    /// </summary>
    public void Verify(Certificate? peerCertificate)
    {
        if (peerCertificate is null || peerCertificate.IsEmpty)
        {
            VerificationFailure = "DTLS: the peer sent no certificate; a WebRTC peer must present one (RFC 8827 §6.5); refusing the session";
            throw new TlsFatalAlert(AlertDescription.bad_certificate, VerificationFailure);
        }
        byte[] der = peerCertificate.GetCertificateAt(0).GetEncoded();
        var sha256 = CertificateFingerprint.ComputeSha256(der);
        bool matches = CertificateFingerprint.TryCompute(Expected.Algorithm, der, out var actual) && actual.Matches(Expected);
        if (!matches)
        {
            VerificationFailure = $"DTLS: the peer's certificate fingerprint {actual ?? sha256} does not match the description's {Expected.Hex}; refusing the session";
            throw new TlsFatalAlert(AlertDescription.bad_certificate, VerificationFailure);
        }
        RemoteFingerprint = sha256.Hex;
        RemoteIsP2p = Org.BouncyCastle.Asn1.X509.X509CertificateStructure.GetInstance(der).Subject.ToString() == DtlsCertificate.SubjectName;
    }

    /// <summary>
    /// The peer's certificate is one this program makes (<see cref="DtlsCertificate.SubjectName"/>): it reads records of
    /// application data up to 2^14 bytes, so <see cref="DtlsSettings.ApplicationSendLimit"/> applies. A WebRTC stack's
    /// DTLS need not (libwebrtc fails the connection on a 16 KiB record): with it records stay within the handshake's
    /// send limit, and SCTP then has no larger size to probe for. (RFC 8449 record_size_limit would say it on the wire.)
    /// </summary>
    public volatile bool RemoteIsP2p;

    public void Completed(TlsContext context) => CipherSuiteName = NameOf(context.SecurityParameters.CipherSuite);

    public void AlertReceived(short level, short description)
    {
        if (description == AlertDescription.close_notify) CloseNotifyReceived = true;
    }
}

/// <summary>The DTLS client ("active" side, RFC 5763 §5): DTLS 1.2 only, our suites, our certificate when asked.</summary>
internal sealed class DtlsClient(DtlsPeerState state) : DefaultTlsClient(new NativeTlsCrypto(new SecureRandom()))
{
    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, DtlsPeerState.CipherSuites);

    public override int GetHandshakeTimeoutMillis() => (int)state.Settings.HandshakeTimeout.TotalMilliseconds;

    public override int GetHandshakeResendTimeMillis() => (int)state.Settings.InitialRetransmit.TotalMilliseconds;

    public override bool IgnoreCorruptDtlsRecords => true;

    public override TlsAuthentication GetAuthentication() => new Authentication(state, m_context, (BcTlsCrypto)Crypto);

    /// <summary>Offers use_srtp with our profiles and an empty MKI, as browsers do (see <see cref="DtlsPeerState.SrtpProfiles"/>).</summary>
    public override IDictionary<int, byte[]> GetClientExtensions()
    {
        var extensions = TlsExtensionsUtilities.EnsureExtensionsInitialised(base.GetClientExtensions());
        TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData(DtlsPeerState.SrtpProfiles, TlsUtilities.EmptyBytes));
        return extensions;
    }

    public override void ProcessServerExtensions(IDictionary<int, byte[]> serverExtensions)
    {
        base.ProcessServerExtensions(serverExtensions);
        var useSrtp = TlsSrtpUtilities.GetUseSrtpExtension(serverExtensions);
        if (useSrtp is null) return;
        // RFC 5764 §4.1.1: exactly one profile, one we offered; otherwise illegal_parameter.
        if (useSrtp.ProtectionProfiles.Length != 1 || Array.IndexOf(DtlsPeerState.SrtpProfiles, useSrtp.ProtectionProfiles[0]) < 0)
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, "DTLS: the server's use_srtp names no single profile of ours");
        state.SrtpProfile = DtlsPeerState.SrtpProfileName(useSrtp.ProtectionProfiles[0]);
    }

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        state.Completed(m_context);
    }

    public override void NotifyAlertReceived(short alertLevel, short alertDescription) => state.AlertReceived(alertLevel, alertDescription);

    private sealed class Authentication(DtlsPeerState state, TlsContext context, BcTlsCrypto crypto) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate) => state.Verify(serverCertificate?.Certificate);

        public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) => state.Signer(context, crypto);
    }
}

/// <summary>The DTLS server ("passive" side): DTLS 1.2 only, our suites, and it demands the client's certificate (mutual authentication, RFC 8827 §6.5).</summary>
internal sealed class DtlsServer(DtlsPeerState state) : DefaultTlsServer(new NativeTlsCrypto(new SecureRandom()))
{
    protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

    protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, DtlsPeerState.CipherSuites);

    public override int GetHandshakeTimeoutMillis() => (int)state.Settings.HandshakeTimeout.TotalMilliseconds;

    public override int GetHandshakeResendTimeMillis() => (int)state.Settings.InitialRetransmit.TotalMilliseconds;

    public override bool IgnoreCorruptDtlsRecords => true;

    protected override TlsCredentialedSigner GetECDsaSignerCredentials() => state.Signer(m_context, (BcTlsCrypto)Crypto);

    public override CertificateRequest GetCertificateRequest() =>
        new([ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign],
            TlsUtilities.GetDefaultSupportedSignatureAlgorithms(m_context), null);

    public override void NotifyClientCertificate(Certificate clientCertificate) => state.Verify(clientCertificate);

    private int _srtpProfile = -1;

    public override void ProcessClientExtensions(IDictionary<int, byte[]> clientExtensions)
    {
        base.ProcessClientExtensions(clientExtensions);
        var useSrtp = TlsSrtpUtilities.GetUseSrtpExtension(clientExtensions);
        if (useSrtp is null) return;
        // RFC 5764 §4.1.3: pick one of the client's profiles that we support; with none in common, no use_srtp in the reply.
        _srtpProfile = DtlsPeerState.SrtpProfiles.FirstOrDefault(p => Array.IndexOf(useSrtp.ProtectionProfiles, p) >= 0, -1);
    }

    /// <summary>Answers the client's use_srtp with one common profile and an empty MKI (see <see cref="DtlsPeerState.SrtpProfiles"/>).</summary>
    public override IDictionary<int, byte[]> GetServerExtensions()
    {
        var extensions = TlsExtensionsUtilities.EnsureExtensionsInitialised(base.GetServerExtensions());
        if (_srtpProfile >= 0)
        {
            TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData([_srtpProfile], TlsUtilities.EmptyBytes));
            state.SrtpProfile = DtlsPeerState.SrtpProfileName(_srtpProfile);
        }
        return extensions;
    }

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        state.Completed(m_context);
    }

    public override void NotifyAlertReceived(short alertLevel, short alertDescription) => state.AlertReceived(alertLevel, alertDescription);
}
