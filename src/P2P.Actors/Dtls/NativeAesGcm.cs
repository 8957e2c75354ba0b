using System.Security.Cryptography;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl;

namespace P2P.Actors.Dtls;

/// <summary>
/// The AES-GCM operation under BouncyCastle's TLS 1.2 record protection (<see cref="TlsAeadCipher"/>, RFC 5288), done by
/// .NET's <see cref="AesGcm"/> (OpenSSL on Linux: AES-NI and carry-less multiplication, no allocation per call) instead of
/// BouncyCastle's managed GCM. BouncyCastle still builds every record: the nonce (implicit salt and explicit sequence
/// number), the additional data and the layout; this class only encrypts or decrypts the bytes it is handed, writing
/// what BouncyCastle's own GCM would (ciphertext followed by the 16-byte tag), in place when input and output are the
/// same bytes as the record layer passes them. No cryptography is written here.
/// </summary>
internal sealed class NativeAesGcm(bool encrypting) : TlsAeadCipherImpl, IDisposable
{
    /// <summary>The tag length of every TLS AES-GCM suite (RFC 5288 §3).</summary>
    public const int TagSize = 16;

    private AesGcm? _aes;
    private byte[] _nonce = [];
    private byte[]? _additionalData;

    public static bool IsSupported => AesGcm.IsSupported;

    public void SetKey(byte[] key, int keyOff, int keyLen) => SetKey(key.AsSpan(keyOff, keyLen));

    public void SetKey(ReadOnlySpan<byte> key)
    {
        _aes?.Dispose();
        _aes = new AesGcm(key, TagSize);
    }

    /// <summary>Takes the record's nonce and, perhaps, its additional data (BouncyCastle makes both arrays afresh for every record).</summary>
    public void Init(byte[] nonce, int macSize, byte[]? additionalData)
    {
        if (macSize != TagSize) throw new TlsFatalAlert(AlertDescription.internal_error, $"AES-GCM with a {macSize}-byte tag is not a TLS suite");
        _nonce = nonce;
        _additionalData = additionalData;
    }

    public int GetOutputSize(int inputLength) => encrypting ? inputLength + TagSize : Math.Max(0, inputLength - TagSize);

    /// <summary>
    /// Encrypting: <paramref name="inputLength"/> bytes of plaintext become as many bytes of ciphertext and then the tag.
    /// Decrypting: ciphertext and tag become the plaintext, or a bad_record_mac alert when the tag does not match
    /// (RFC 5246 §6.2.3.3), as BouncyCastle's own AEAD reports it.
    /// </summary>
    public int DoFinal(byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset) =>
        DoFinal(_additionalData, input, inputOffset, inputLength, output, outputOffset);

    /// <summary>As the other overload, with the additional data given here rather than to <see cref="Init"/> (BouncyCastle passes it one way or the other).</summary>
    public int DoFinal(byte[]? additionalData, byte[] input, int inputOffset, int inputLength, byte[] output, int outputOffset)
    {
        if (additionalData is not { Length: > 0 }) additionalData = _additionalData;
        else if (_additionalData is { Length: > 0 } && !ReferenceEquals(additionalData, _additionalData))
            throw new TlsFatalAlert(AlertDescription.internal_error, "AES-GCM given additional data twice for one record");
        var aes = _aes ?? throw new TlsFatalAlert(AlertDescription.internal_error, "AES-GCM used before its key was set");
        if (encrypting)
        {
            aes.Encrypt(_nonce, input.AsSpan(inputOffset, inputLength), output.AsSpan(outputOffset, inputLength),
                output.AsSpan(outputOffset + inputLength, TagSize), additionalData);
            return inputLength + TagSize;
        }
        if (inputLength < TagSize) throw new TlsFatalAlert(AlertDescription.bad_record_mac);
        int length = inputLength - TagSize;
        try
        {
            aes.Decrypt(_nonce, input.AsSpan(inputOffset, length), input.AsSpan(inputOffset + length, TagSize),
                output.AsSpan(outputOffset, length), additionalData);
        }
        catch (CryptographicException e)
        {
            throw new TlsFatalAlert(AlertDescription.bad_record_mac, e);
        }
        return length;
    }

    public void Reset()
    {
        // stateless between records: every record comes with its own Init
    }

    public void Dispose() => _aes?.Dispose();
}
