using Xunit;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using P2P.Protocol.Stun;
using P2P.Protocol.Turn;

namespace P2P.Actors.Tests.Relay;

/// <summary>Adds attributes to a request being built.</summary>
public delegate void AddAttributes(ref StunMessageWriter writer);

/// <summary>What a test wants to know about one received STUN message (copied out of the ref-struct view).</summary>
public sealed record StunReply(byte[] Bytes)
{
    public StunMessage View
    {
        get
        {
            if (!StunMessage.TryParse(Bytes, out var m, out var e)) throw new InvalidOperationException($"reply does not parse: {e}");
            return m;
        }
    }

    public StunClass Class => View.Class;
    public StunMethod Method => View.Method;
    public TransactionId TransactionId => View.TransactionId;
    public int ErrorCode => View.TryGetErrorCode(out int code, out _) ? code : 0;
    public string ErrorReason => View.TryGetErrorCode(out _, out var reason) ? reason : string.Empty;
    public bool IsSuccess => Class == StunClass.SuccessResponse;
    public string? Text(StunAttributeType type) => View.TryGetString(type, out var s) ? s : null;
    public uint? Number(StunAttributeType type) => View.TryGetUInt32(type, out uint n) ? n : null;
    public IPEndPoint? Address(StunAttributeType type) => View.TryGetAddress(type, out var a) ? a.ToEndPoint() : null;
    public bool Has(StunAttributeType type) => View.Has(type);
    public byte[]? Bytes_(StunAttributeType type) => View.TryGetAttribute(type, out var v) ? v.ToArray() : null;

    public ushort[] UnknownAttributes
    {
        get
        {
            Span<ushort> list = stackalloc ushort[16];
            int n = View.GetUnknownAttributesList(list);
            return list[..n].ToArray();
        }
    }

    public override string ToString() => IsSuccess ? $"{Method} success" : $"{Method} {Class} {ErrorCode} {ErrorReason}";
}

/// <summary>
/// A small raw TURN client for tests, over UDP or TCP on loopback, built on P2P.Protocol only. It keeps
/// the realm and nonce from the last challenge and signs requests with the MD5 (RFC 5389 style) or
/// SHA-256 (RFC 8489 PASSWORD-ALGORITHM) long-term key.
/// </summary>
public sealed class TurnTestClient : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly IPEndPoint _server;
    private readonly bool _tcp;
    private readonly SslStream? _tls;
    private readonly Channel<byte[]> _responses = Channel.CreateUnbounded<byte[]>();
    private readonly Channel<byte[]> _other = Channel.CreateUnbounded<byte[]>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;

    public string? User { get; set; }
    public string? Password { get; set; }
    public string? Realm { get; set; }
    public string? Nonce { get; set; }
    /// <summary>Use the RFC 8489 negotiation (PASSWORD-ALGORITHMS echo + PASSWORD-ALGORITHM SHA-256 + MESSAGE-INTEGRITY-SHA256).</summary>
    public bool UseSha256 { get; set; }
    /// <summary>
    /// TCP only: after the first success response the stream carries raw bytes (an RFC 6062 data connection after its
    /// ConnectionBind); they come out of <see cref="NextIncoming"/> in chunks as they arrive.
    /// </summary>
    public bool RawAfterSuccess { get; set; }
    private bool _raw;

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    private TurnTestClient(Socket socket, IPEndPoint server, bool tcp, SslStream? tls = null)
    {
        _socket = socket;
        _server = server;
        _tcp = tcp;
        _tls = tls;
        _reader = tcp ? ReadStream() : ReadDatagrams();
    }

    /// <summary>The TLS stream of a client made by <see cref="Tls"/> (its remote certificate, ALPN, version), else null.</summary>
    public SslStream? TlsStream => _tls;

    /// <summary>TURN over TLS (RFC 8656 §3.1): a TCP connection with a TLS handshake, then the same framing as <see cref="Tcp"/>.</summary>
    public static async Task<TurnTestClient> Tls(IPEndPoint server, SslClientAuthenticationOptions options, string? user = null, string? password = null)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        using var timeout = new CancellationTokenSource(Timeout);
        await tls.AuthenticateAsClientAsync(options, timeout.Token);
        return new TurnTestClient(socket, server, true, tls) { User = user, Password = password };
    }

    public static TurnTestClient Udp(IPEndPoint server, string? user = null, string? password = null)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(server.Address, 0));
        return new TurnTestClient(socket, server, false) { User = user, Password = password };
    }

    public static async Task<TurnTestClient> Tcp(IPEndPoint server, string? user = null, string? password = null)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server);
        return new TurnTestClient(socket, server, true) { User = user, Password = password };
    }

    private async Task ReadDatagrams()
    {
        var buffer = new byte[65_536];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(_server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0), _stop.Token);
                Dispatch(buffer.AsSpan(0, r.ReceivedBytes).ToArray());
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested) { }
        catch (ObjectDisposedException) { }
        catch (SocketException) { }
    }

    private async Task ReadStream()
    {
        var buffer = new byte[200_000];
        int filled = 0;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n = _tls is null
                    ? await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, _stop.Token)
                    : await _tls.ReadAsync(buffer.AsMemory(filled), _stop.Token);
                if (n == 0) break;
                filled += n;
                int start = 0;
                while (!_raw && StreamFraming.TryGetFrameLength(buffer.AsSpan(start, filled - start), out int length) == StreamFraming.FrameStatus.Complete)
                {
                    var frame = buffer.AsSpan(start, length).ToArray();
                    start += length;
                    _raw = RawAfterSuccess && StunMessage.TryParse(frame, out var m, out _) && m.Class == StunClass.SuccessResponse;
                    Dispatch(frame);
                }
                if (_raw && filled > start)
                {
                    _other.Writer.TryWrite(buffer.AsSpan(start, filled - start).ToArray());
                    start = filled;
                }
                buffer.AsSpan(start, filled - start).CopyTo(buffer);
                filled -= start;
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested) { }
        catch (ObjectDisposedException) { }
        catch (SocketException) { }
        catch (IOException) when (_tls is not null) { }
        _other.Writer.TryComplete();
    }

    private void Dispatch(byte[] packet)
    {
        if (StunMessage.TryParse(packet, out var m, out _) && m.Class is StunClass.SuccessResponse or StunClass.ErrorResponse)
            _responses.Writer.TryWrite(packet);
        else
            _other.Writer.TryWrite(packet);
    }

    /// <summary>Sends raw bytes to the server (for malformed-packet tests, ChannelData, indications).</summary>
    public async Task SendRaw(ReadOnlyMemory<byte> bytes)
    {
        if (_tls is not null) await _tls.WriteAsync(bytes);
        else if (_tcp) await _socket.SendAsync(bytes, SocketFlags.None);
        else await _socket.SendToAsync(bytes, SocketFlags.None, _server);
    }

    public static byte[] Build(StunMethod method, StunClass cls, TransactionId id, AddAttributes? attributes)
    {
        var buffer = new byte[2048];
        var w = new StunMessageWriter(buffer, method, cls, id);
        attributes?.Invoke(ref w);
        w.AddFingerprint();
        return w.ToArray();
    }

    /// <summary>Builds a request signed with the current credentials (USERNAME, REALM, NONCE, integrity, FINGERPRINT).</summary>
    public byte[] BuildSigned(StunMethod method, TransactionId id, AddAttributes? attributes, StunClass cls = StunClass.Request)
    {
        var buffer = new byte[2048];
        var w = new StunMessageWriter(buffer, method, cls, id);
        attributes?.Invoke(ref w);
        w.AddString(StunAttributeType.Username, User!);
        w.AddString(StunAttributeType.Realm, Realm!);
        w.AddString(StunAttributeType.Nonce, Nonce!);
        using var key = Key();
        if (UseSha256)
        {
            w.AddPasswordAlgorithms([PasswordAlgorithm.Md5, PasswordAlgorithm.Sha256]);
            w.AddPasswordAlgorithm(PasswordAlgorithm.Sha256);
            w.AddMessageIntegritySha256(key);
        }
        else
        {
            w.AddMessageIntegrity(key);
        }
        w.AddFingerprint();
        return w.ToArray();
    }

    public StunIntegrityKey Key()
    {
        if (!StunCredentials.TryDeriveLongTermKey(UseSha256 ? PasswordAlgorithm.Sha256 : PasswordAlgorithm.Md5, User!, Realm!, Password!, out var key, out var error))
            throw new InvalidOperationException(error);
        return new StunIntegrityKey(key);
    }

    /// <summary>Sends a message and waits for the response with its transaction id.</summary>
    public async Task<StunReply> Transact(byte[] request, TimeSpan? timeout = null)
    {
        var id = TransactionId.Read(request.AsSpan(8, 12));
        await SendRaw(request);
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        while (true)
        {
            byte[] packet;
            try { packet = await _responses.Reader.ReadAsync(cts.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"no response to {StunMessageType.DecodeMethod(System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(request))} within {timeout ?? Timeout}"); }
            var reply = new StunReply(packet);
            if (reply.TransactionId == id) return reply;
        }
    }

    /// <summary>An unsigned request (as a first attempt, to be challenged).</summary>
    public Task<StunReply> Request(StunMethod method, AddAttributes? attributes = null) =>
        Transact(Build(method, StunClass.Request, TransactionId.NewRandom(), attributes));

    /// <summary>A signed request; on 401/438 with a nonce it takes the new realm/nonce and tries once more.</summary>
    public async Task<StunReply> SignedRequest(StunMethod method, AddAttributes? attributes = null)
    {
        if (Nonce is null)
        {
            var challenge = await Request(method, attributes);
            if (challenge.ErrorCode != 401) return challenge;
            TakeChallenge(challenge);
        }
        var reply = await Transact(BuildSigned(method, TransactionId.NewRandom(), attributes));
        if (reply.ErrorCode == 438)
        {
            TakeChallenge(reply);
            reply = await Transact(BuildSigned(method, TransactionId.NewRandom(), attributes));
        }
        return reply;
    }

    public void TakeChallenge(StunReply challenge)
    {
        Realm = challenge.Text(StunAttributeType.Realm) ?? throw new InvalidOperationException("challenge without REALM");
        Nonce = challenge.Text(StunAttributeType.Nonce) ?? throw new InvalidOperationException("challenge without NONCE");
    }

    /// <summary>Checks MESSAGE-INTEGRITY (and -SHA256 when present) of a response with this client's key.</summary>
    public bool Verifies(StunReply reply)
    {
        using var key = Key();
        var view = reply.View;
        if (!view.HasMessageIntegrity) return false;
        return view.VerifyIntegritySha1(key) == StunError.None
               && (!view.HasMessageIntegritySha256 || view.VerifyIntegritySha256(key) == StunError.None);
    }

    public async Task<StunReply> Allocate(uint? lifetime = null)
    {
        var reply = await SignedRequest(StunMethod.Allocate, (ref StunMessageWriter w) =>
        {
            w.AddRequestedTransport(17);
            if (lifetime is { } l) w.AddUInt32(StunAttributeType.Lifetime, l);
        });
        return reply;
    }

    public Task<StunReply> Refresh(uint lifetime) =>
        SignedRequest(StunMethod.Refresh, (ref StunMessageWriter w) => w.AddUInt32(StunAttributeType.Lifetime, lifetime));

    public Task<StunReply> CreatePermission(params IPEndPoint[] peers) =>
        SignedRequest(StunMethod.CreatePermission, (ref StunMessageWriter w) =>
        {
            foreach (var p in peers) w.AddAddress(StunAttributeType.XorPeerAddress, StunAddress.From(p));
        });

    public Task<StunReply> ChannelBind(ushort channel, IPEndPoint peer) =>
        SignedRequest(StunMethod.ChannelBind, (ref StunMessageWriter w) =>
        {
            w.AddChannelNumber(channel);
            w.AddAddress(StunAttributeType.XorPeerAddress, StunAddress.From(peer));
        });

    public Task SendIndication(IPEndPoint peer, byte[] data) =>
        SendRaw(Build(StunMethod.Send, StunClass.Indication, TransactionId.NewRandom(), (ref StunMessageWriter w) =>
        {
            w.AddAddress(StunAttributeType.XorPeerAddress, StunAddress.From(peer));
            w.AddBytes(StunAttributeType.Data, data);
        }));

    public Task SendChannelData(ushort channel, byte[] data)
    {
        var frame = new byte[ChannelData.EncodedLength(data.Length, _tcp)];
        ChannelData.Write(frame, channel, data, _tcp);
        return SendRaw(frame);
    }

    /// <summary>The next non-response packet (Data indication or ChannelData), or null after <paramref name="timeout"/>.</summary>
    public async Task<byte[]?> NextIncoming(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        try { return await _other.Reader.ReadAsync(cts.Token); }
        catch (OperationCanceledException) { return null; }
        catch (ChannelClosedException) { return null; }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _tls?.Dispose();
        _socket.Dispose();
        try { await _reader; } catch { /* reader ends with the socket */ }
        _stop.Dispose();
    }
}

/// <summary>A plain UDP peer on loopback (the far side of the relay).</summary>
public sealed class UdpPeer : IDisposable
{
    private readonly Socket _socket;

    public UdpPeer() : this(IPAddress.Loopback) { }

    public UdpPeer(IPAddress address)
    {
        _socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(address, 0));
    }

    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public Task SendTo(IPEndPoint to, byte[] data) => _socket.SendToAsync(data, SocketFlags.None, to);

    /// <summary>The next datagram and its sender, or null after <paramref name="timeout"/>.</summary>
    public async Task<(byte[] Data, IPEndPoint From)?> Receive(TimeSpan? timeout = null)
    {
        var buffer = new byte[65_536];
        using var cts = new CancellationTokenSource(timeout ?? TurnTestClient.Timeout);
        try
        {
            var any = _socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
            var r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(any, 0), cts.Token);
            return (buffer.AsSpan(0, r.ReceivedBytes).ToArray(), (IPEndPoint)r.RemoteEndPoint);
        }
        catch (OperationCanceledException) { return null; }
    }

    public void Dispose() => _socket.Dispose();
}
