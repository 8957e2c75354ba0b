using System.Security.Cryptography;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Modes;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Tls;
using P2P.Actors.Dtls;
using P2P.Actors.Transport;
using P2P.Protocol.Dtls;
using Xunit;
using Xunit.Abstractions;
using BcDtlsTransport = Org.BouncyCastle.Tls.DtlsTransport;
using DtlsProtocol = P2P.Actors.Dtls.DtlsProtocol;
using DtlsTransport = P2P.Actors.Dtls.DtlsTransport;

namespace P2P.Actors.Tests.Dtls;

/// <summary>
/// The records' AES-GCM is .NET's (<see cref="NativeAesGcm"/> under BouncyCastle's record layer, see
/// <see cref="NativeTlsCrypto"/>). It must write exactly what BouncyCastle's own GCM writes, read what it writes, and
/// refuse a record that was changed on the way: checked against BouncyCastle's GCM directly, and in whole DTLS
/// associations with a peer built on BouncyCastle alone (whose Finished messages and application records are all
/// protected by its own GCM), for both AES suites and both roles.
/// </summary>
public sealed class DtlsAesGcmTests(ITestOutputHelper output) : TestKit(string.Empty, output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);
    private static readonly DtlsSettings Fast = DtlsSettings.Default with { InitialRetransmit = TimeSpan.FromMilliseconds(200), HandshakeTimeout = TimeSpan.FromSeconds(10) };
    private static readonly DtlsCertificate Ours = DtlsCertificate.Generate();
    private static readonly DtlsCertificate Theirs = DtlsCertificate.Generate();

    // ---------------------------------------------------------------- the cipher alone, against BouncyCastle's GCM

    /// <summary>BouncyCastle's AES-GCM, independently of the code under test: ciphertext then tag.</summary>
    private static byte[] BouncyCastleGcm(bool encrypt, byte[] key, byte[] nonce, byte[] additionalData, byte[] input)
    {
        var gcm = new GcmBlockCipher(AesUtilities.CreateEngine());
        gcm.Init(encrypt, new AeadParameters(new KeyParameter(key), 128, nonce, additionalData));
        var output = new byte[gcm.GetOutputSize(input.Length)];
        int n = gcm.ProcessBytes(input, 0, input.Length, output, 0);
        n += gcm.DoFinal(output, n);
        Assert.Equal(output.Length, n);
        return output;
    }

    /// <summary>Ours, in place in a record buffer as BouncyCastle's record layer calls it (input and output the same bytes, at an offset).</summary>
    private static byte[] Native(bool encrypt, byte[] key, byte[] nonce, byte[] additionalData, byte[] input, bool dataAtFinal = false)
    {
        const int offset = 13;   // a record header and explicit nonce before the data, as in a real record
        var cipher = new NativeAesGcm(encrypt);
        cipher.SetKey(key, 0, key.Length);
        cipher.Init(nonce, NativeAesGcm.TagSize, dataAtFinal ? null! : additionalData);
        var record = new byte[offset + input.Length + NativeAesGcm.TagSize];
        input.CopyTo(record, offset);
        int n = dataAtFinal
            ? cipher.DoFinal(additionalData, record, offset, input.Length, record, offset)
            : cipher.DoFinal(record, offset, input.Length, record, offset);
        Assert.Equal(cipher.GetOutputSize(input.Length), n);
        return record.AsSpan(offset, n).ToArray();
    }

    public static TheoryData<int, int> Sizes => new()
    {
        { 16, 0 }, { 16, 1 }, { 16, 15 }, { 16, 16 }, { 16, 17 }, { 16, 1163 }, { 16, 16384 },
        { 32, 0 }, { 32, 31 }, { 32, 16384 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Native_gcm_writes_what_BouncyCastles_gcm_writes_and_each_reads_the_other(int keyBytes, int length)
    {
        var key = RandomNumberGenerator.GetBytes(keyBytes);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var additionalData = RandomNumberGenerator.GetBytes(13);   // seq_num, type, version, length (RFC 5246 §6.2.3.3)
        var plaintext = RandomNumberGenerator.GetBytes(length);

        var expected = BouncyCastleGcm(true, key, nonce, additionalData, plaintext);
        Assert.Equal(expected, Native(true, key, nonce, additionalData, plaintext));
        Assert.Equal(expected, Native(true, key, nonce, additionalData, plaintext, dataAtFinal: true));

        Assert.Equal(plaintext, Native(false, key, nonce, additionalData, expected));
        Assert.Equal(plaintext, BouncyCastleGcm(false, key, nonce, additionalData, Native(true, key, nonce, additionalData, plaintext)));
    }

    [Theory]
    [InlineData("ciphertext")]
    [InlineData("tag")]
    [InlineData("additional data")]
    [InlineData("nonce")]
    [InlineData("too short")]
    public void A_changed_record_is_refused_with_bad_record_mac(string changed)
    {
        var key = RandomNumberGenerator.GetBytes(16);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var additionalData = RandomNumberGenerator.GetBytes(13);
        var record = BouncyCastleGcm(true, key, nonce, additionalData, RandomNumberGenerator.GetBytes(100));
        switch (changed)
        {
            case "ciphertext": record[7] ^= 0x01; break;
            case "tag": record[^1] ^= 0x80; break;
            case "additional data": additionalData[12] ^= 0x01; break;   // the length the sender claimed
            case "nonce": nonce[11] ^= 0x01; break;                      // another sequence number
            case "too short": record = record[..(NativeAesGcm.TagSize - 1)]; break;
        }
        var alert = Assert.Throws<TlsFatalAlert>(() => Native(false, key, nonce, additionalData, record));
        Assert.Equal(AlertDescription.bad_record_mac, alert.AlertDescription);
    }

    // ---------------------------------------------------------------- whole associations with a BouncyCastle-only peer

    public static TheoryData<DtlsRole, int, string> Suites => new()
    {
        { DtlsRole.Client, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
        { DtlsRole.Server, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
        { DtlsRole.Client, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
        { DtlsRole.Server, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
    };

    /// <summary>
    /// Our <see cref="DtlsTransport"/> in <paramref name="ourRole"/> against BouncyCastle alone, offering only
    /// <paramref name="suite"/>: the handshake completes (each side's Finished is the first record the other decrypts),
    /// then records cross both ways, and a record of the peer's changed on the way is dropped while the next one arrives.
    /// </summary>
    [Theory]
    [MemberData(nameof(Suites))]
    public async Task Records_cross_both_ways_with_a_BouncyCastle_only_peer_and_a_changed_one_is_dropped(DtlsRole ourRole, int suite, string suiteName)
    {
        IActorRef ours = ActorRefs.Nobody;
        bool corruptNext = false;
        var peerTransport = new QueuedDatagramTransport(Fast.SendLimit, Fast.ReceiveLimit, Fast.ReceiveQueue, written =>
        {
            var datagram = written.ToArray();
            if (Volatile.Read(ref corruptNext))
            {
                datagram[^1] ^= 0x01;   // the last byte of the record's tag
                Volatile.Write(ref corruptNext, false);
            }
            ours.Tell(new DatagramProtocol.Received(datagram));
        });
        var events = CreateTestProbe();
        var wire = Sys.ActorOf(Akka.Actor.Props.Create(() => new BouncyCastlePeer.ToPeer(peerTransport)));
        ours = Sys.ActorOf(DtlsTransport.Props(ourRole, Ours, Theirs.Fingerprint, new DatagramLink(wire), Fast, events.Ref));
        var handshake = Task.Factory.StartNew(() => ourRole == DtlsRole.Client
            ? new DtlsServerProtocol().Accept(BouncyCastlePeer.Server(Theirs, Theirs.PrivateKey, suite), peerTransport)
            : new DtlsClientProtocol().Connect(BouncyCastlePeer.Client(Theirs, Theirs.PrivateKey, suite), peerTransport), TaskCreationOptions.LongRunning);
        try
        {
            var connected = (DtlsProtocol.Connected)events.FishForMessage(
                m => m is DtlsProtocol.Failed f ? throw new Xunit.Sdk.XunitException(f.Reason) : m is DtlsProtocol.Connected, Generous);
            Assert.Equal(suiteName, connected.CipherSuite);
            BcDtlsTransport peer = await handshake.WaitAsync(Generous);

            // ours -> BouncyCastle: a full record and a short one
            var big = RandomNumberGenerator.GetBytes(1100);
            var small = RandomNumberGenerator.GetBytes(1);
            ours.Tell(new DatagramProtocol.Send(big));
            ours.Tell(new DatagramProtocol.Send(small));
            Assert.Equal(big, ReceiveAtPeer(peer));
            Assert.Equal(small, ReceiveAtPeer(peer));

            // BouncyCastle -> ours: a changed record is dropped (RFC 6347 §4.1.2.7), the next one arrives
            var first = RandomNumberGenerator.GetBytes(700);
            var second = RandomNumberGenerator.GetBytes(900);
            Volatile.Write(ref corruptNext, true);
            peer.Send(first, 0, first.Length);
            peer.Send(second, 0, second.Length);
            var received = events.ExpectMsg<DatagramProtocol.Received>(Generous);
            Assert.Equal(second, received.Datagram.ToArray());
            events.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        }
        finally
        {
            peerTransport.Close();
        }
    }

    private static byte[] ReceiveAtPeer(BcDtlsTransport peer)
    {
        var buffer = new byte[peer.GetReceiveLimit()];
        int n = peer.Receive(buffer, 0, buffer.Length, (int)Generous.TotalMilliseconds);
        Assert.True(n >= 0, "the BouncyCastle peer received nothing");
        return buffer.AsSpan(0, n).ToArray();
    }
}
