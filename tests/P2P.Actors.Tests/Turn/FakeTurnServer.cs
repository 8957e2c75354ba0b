using System.Net;
using System.Text;
using Akka.Actor;
using Akka.TestKit;
using P2P.Actors.Transport;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;
using Xunit;

namespace P2P.Actors.Tests.Turn;

/// <summary>Writes a response's attributes (the writer is a ref struct, so it is passed by reference).</summary>
public delegate void AttributeWriter(ref StunMessageWriter writer);

/// <summary>One packet the allocator sent, kept as bytes and re-parsed on demand.</summary>
public sealed class SentPacket(byte[] bytes)
{
    public byte[] Bytes { get; } = bytes;

    private StunMessage Parse()
    {
        Assert.True(StunMessage.TryParse(Bytes, out var message, out var error), $"not a valid STUN message: {error}");
        return message;
    }

    public StunMethod Method => Parse().Method;
    public StunClass Class => Parse().Class;
    public TransactionId Id => Parse().TransactionId;
    public bool Has(StunAttributeType type) => Parse().Has(type);
    public string? String(StunAttributeType type) => Parse().TryGetString(type, out var s) ? s : null;
    public uint? UInt32(StunAttributeType type) => Parse().TryGetUInt32(type, out var v) ? v : null;
    public IPEndPoint? Address(StunAttributeType type) => Parse().TryGetAddress(type, out var a) ? a.ToEndPoint() : null;
    public ushort? Channel => Parse().TryGetChannelNumber(out var c) ? c : null;
    public PasswordAlgorithm? PasswordAlgorithm => Parse().TryGetPasswordAlgorithm(out var a) ? a : null;
    public byte[]? Data => Parse().TryGetAttribute(StunAttributeType.Data, out var d) ? d.ToArray() : null;
    public bool HasMessageIntegrity => Parse().HasMessageIntegrity;
    public bool HasMessageIntegritySha256 => Parse().HasMessageIntegritySha256;
    public StunError Verify(StunIntegrityKey key) => Parse().VerifyIntegrity(key);
}

/// <summary>
/// A TURN server played by the test: a <see cref="TestProbe"/> stands in for the socket actor and sees every
/// <see cref="UdpSocketProtocol.Send"/>; answers are built with the protocol writer and handed to the
/// allocator as <see cref="UdpSocketProtocol.Received"/> from the server's address.
/// </summary>
public sealed class FakeTurnServer : IDisposable
{
    public static readonly IPEndPoint Server = new(IPAddress.Loopback, 3478);
    public static readonly IPEndPoint Client = new(IPAddress.Loopback, 50_000);
    public static readonly IPEndPoint Relayed = new(IPAddress.Loopback, 49_152);
    public static readonly IPEndPoint Mapped = new(IPAddress.Parse("127.0.0.1"), 50_000);
    public const string Realm = "r";
    public const string Username = "u";
    public const string Password = "p";

    private readonly TestProbe _socket;

    public FakeTurnServer(TestProbe socket)
    {
        _socket = socket;
        StunCredentials.TryDeriveLongTermKey(PasswordAlgorithm.Md5, Username, Realm, Password, out var md5, out _, PasswordPreparation.SaslPrep);
        StunCredentials.TryDeriveLongTermKey(PasswordAlgorithm.Sha256, Username, Realm, Password, out var sha256, out _);
        Md5Key = new StunIntegrityKey(md5);
        Sha256Key = new StunIntegrityKey(sha256);
    }

    public IActorRef Socket => _socket.Ref;
    public IActorRef Allocator { get; set; } = ActorRefs.Nobody;
    public StunIntegrityKey Md5Key { get; }
    public StunIntegrityKey Sha256Key { get; }

    /// <summary>The next datagram sent to the server, whatever it is.</summary>
    public SentPacket ExpectPacket(TimeSpan? timeout = null)
    {
        var send = _socket.ExpectMsg<UdpSocketProtocol.Send>(timeout ?? TimeSpan.FromSeconds(3));
        Assert.Equal(Server, send.To);
        return new SentPacket(send.Payload.ToArray());
    }

    public SentPacket ExpectRequest(StunMethod method, TimeSpan? timeout = null)
    {
        var packet = ExpectPacket(timeout);
        Assert.Equal(StunClass.Request, packet.Class);
        Assert.Equal(method, packet.Method);
        return packet;
    }

    public void ExpectNothing(int milliseconds = 100) => _socket.ExpectNoMsg(TimeSpan.FromMilliseconds(milliseconds));

    /// <summary>Delivers a datagram to the allocator as if it came from the server.</summary>
    public void Deliver(byte[] packet) => Allocator.Tell(new UdpSocketProtocol.Received(Server, Client, packet), _socket.Ref);

    public byte[] Response(SentPacket request, StunClass cls, AttributeWriter? attributes, StunIntegrityKey? key = null, bool sha256 = false)
    {
        var buffer = new byte[1500];
        var writer = new StunMessageWriter(buffer, request.Method, cls, request.Id);
        attributes?.Invoke(ref writer);
        if (key is not null)
        {
            if (sha256) writer.AddMessageIntegritySha256(key);
            else writer.AddMessageIntegrity(key);
        }
        writer.AddFingerprint();
        return writer.ToArray();
    }

    /// <summary>A 401/438 challenge with REALM and NONCE (and PASSWORD-ALGORITHMS when given).</summary>
    public byte[] Challenge(SentPacket request, int code, string nonce, params PasswordAlgorithm[] algorithms) =>
        Response(request, StunClass.ErrorResponse, (ref StunMessageWriter w) =>
        {
            w.AddErrorCode(code, code == 401 ? "Unauthorized" : "Stale Nonce");
            w.AddString(StunAttributeType.Realm, Realm);
            w.AddString(StunAttributeType.Nonce, nonce);
            if (algorithms.Length > 0) w.AddPasswordAlgorithms(algorithms);
        });

    public byte[] Error(SentPacket request, int code, string reason, StunIntegrityKey? key = null) =>
        Response(request, StunClass.ErrorResponse, (ref StunMessageWriter w) => w.AddErrorCode(code, reason), key);

    public byte[] AllocateSuccess(SentPacket request, uint lifetimeSeconds, StunIntegrityKey? key, bool sha256 = false) =>
        Response(request, StunClass.SuccessResponse, (ref StunMessageWriter w) =>
        {
            w.AddAddress(StunAttributeType.XorRelayedAddress, StunAddress.From(Relayed));
            w.AddAddress(StunAttributeType.XorMappedAddress, StunAddress.From(Mapped));
            w.AddUInt32(StunAttributeType.Lifetime, lifetimeSeconds);
        }, key, sha256);

    public byte[] Success(SentPacket request, StunIntegrityKey? key, uint? lifetimeSeconds = null) =>
        Response(request, StunClass.SuccessResponse, (ref StunMessageWriter w) =>
        {
            if (lifetimeSeconds is { } l) w.AddUInt32(StunAttributeType.Lifetime, l);
        }, key);

    /// <summary>Plays the usual start: unauthenticated Allocate, 401 (MD5, no cookie), authenticated Allocate, success.</summary>
    public SentPacket AcceptAllocation(uint lifetimeSeconds = 600, string nonce = "nonce-1")
    {
        var first = ExpectRequest(StunMethod.Allocate);
        Deliver(Challenge(first, 401, nonce));
        var second = ExpectRequest(StunMethod.Allocate);
        Assert.Equal(StunError.None, second.Verify(Md5Key));
        Deliver(AllocateSuccess(second, lifetimeSeconds, Md5Key));
        return second;
    }

    public byte[] DataIndication(IPEndPoint peer, byte[] data)
    {
        var buffer = new byte[1500];
        var writer = new StunMessageWriter(buffer, StunMethod.Data, StunClass.Indication, TransactionId.NewRandom());
        writer.AddAddress(StunAttributeType.XorPeerAddress, StunAddress.From(peer));
        writer.AddBytes(StunAttributeType.Data, data);
        return writer.ToArray();
    }

    public static byte[] ChannelDataPacket(ushort channel, byte[] data)
    {
        var packet = new byte[ChannelData.EncodedLength(data.Length, padForStream: false)];
        ChannelData.Write(packet, channel, data, padForStream: false);
        return packet;
    }

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    public void Dispose()
    {
        Md5Key.Dispose();
        Sha256Key.Dispose();
    }
}
